"""The portal's pages, mounted by ``config.urls`` under the names they have always had: the
region pages as ``regions:…``, the household page as ``toilets:household-detail``."""

from django.urls import path

from . import views

region_patterns = [
    path("", views.RegionRootView.as_view(), name="root"),
    path("<str:code>/", views.RegionDetailView.as_view(), name="detail"),
]

household_patterns = [
    path("households/<int:pk>/", views.HouseholdDetailView.as_view(), name="household-detail"),
]

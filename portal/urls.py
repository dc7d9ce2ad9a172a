"""The portal's pages, mounted by ``config.urls`` under the names they have always had: the
region pages as ``regions:…``, the household page as ``toilets:household-detail``."""

from django.urls import path

from . import training, views

region_patterns = [
    path("", views.RegionRootView.as_view(), name="root"),
    path("<str:code>/", views.RegionDetailView.as_view(), name="detail"),
]

household_patterns = [
    path("households/<int:pk>/", views.HouseholdDetailView.as_view(), name="household-detail"),
]

# 岗前培训 (先培训后上岗), mounted as ``training:…``.
training_patterns = [
    path("", training.PeopleList.as_view(), name="list"),
    path("record/", training.Record.as_view(), name="record"),
    path("people/<int:pk>/", training.Person.as_view(), name="person"),
]

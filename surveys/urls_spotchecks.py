"""Spot-check pages; included from surveys/urls.py under the "surveys" namespace."""

from django.urls import path

from .views import spotchecks as views

urlpatterns = [
    path("rounds/<int:pk>/spot-checks/", views.SpotCheckListView.as_view(), name="spotcheck-list"),
    path("spot-checks/mine/", views.MySpotChecksView.as_view(), name="spotcheck-mine"),
    path("spot-checks/<int:pk>/", views.SpotCheckDetailView.as_view(), name="spotcheck-detail"),
    path("spot-check-items/<int:pk>/", views.SpotCheckItemView.as_view(), name="spotcheck-item"),
]

from django.urls import path

from . import views

# Mounted by config.urls in the "toilets" namespace, with the household page (portal).

urlpatterns = [
    path("households/", views.HouseholdListView.as_view(), name="household-list"),
    path("households/export.xlsx", views.HouseholdExportView.as_view(), name="household-export"),
    path("households/new/", views.HouseholdCreateView.as_view(), name="household-create"),
    path("households/<int:pk>/edit/", views.HouseholdUpdateView.as_view(), name="household-edit"),
    path(
        "households/<int:household_pk>/toilets/new/",
        views.HouseholdToiletCreateView.as_view(),
        name="household-toilet-create",
    ),
    path("toilets/", views.ToiletListView.as_view(), name="toilet-list"),
    path("toilets/export.xlsx", views.ToiletExportView.as_view(), name="toilet-export"),
    path("toilets/new/", views.PublicToiletCreateView.as_view(), name="public-toilet-create"),
    path("toilets/<int:pk>/", views.ToiletDetailView.as_view(), name="toilet-detail"),
    path("toilets/<int:pk>/edit/", views.ToiletUpdateView.as_view(), name="toilet-edit"),
]

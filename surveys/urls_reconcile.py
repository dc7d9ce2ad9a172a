"""Office-made review and 回头看 reconciliation; included from surveys/urls.py (app "surveys")."""

from django.urls import path

from .views import reconcile as views

urlpatterns = [
    path("rounds/<int:pk>/flags/", views.FlagListView.as_view(), name="flags"),
    path("flags/<int:pk>/clear/", views.FlagClearView.as_view(), name="flag-clear"),
    path("rounds/<int:pk>/reconcile/", views.ReconcileView.as_view(), name="reconcile"),
    path(
        "rounds/<int:pk>/reconcile/<str:code>/",
        views.ReconcileVillageView.as_view(),
        name="reconcile-village",
    ),
]

"""The dashboard pages, under the "dashboards" namespace."""

from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="index"),
    path("data/<str:key>/", views.ChartDataView.as_view(), name="data"),
    path("export/<str:key>/", views.ChartExportView.as_view(), name="export"),
]

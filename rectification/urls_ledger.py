from django.urls import path

from . import views_ledger as views

urlpatterns = [
    path("", views.LedgerListView.as_view(), name="ledger"),
    path("export/", views.LedgerExportView.as_view(), name="ledger-export"),
    path("log/", views.LogListView.as_view(), name="log"),
    path("log/export/", views.LogExportView.as_view(), name="log-export"),
    path("overdue/", views.OverdueView.as_view(), name="overdue"),
]

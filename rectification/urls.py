from django.urls import include, path

app_name = "rectification"

urlpatterns = [
    path("", include("rectification.urls_ledger")),
    path("", include("rectification.urls_entry")),
]

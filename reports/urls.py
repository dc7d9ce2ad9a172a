from django.urls import include, path

app_name = "reports"

urlpatterns = [
    path("", include("reports.urls_main")),
    path("", include("reports.urls_tools")),
]

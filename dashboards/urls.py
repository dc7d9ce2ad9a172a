"""The dashboard pages, under the "dashboards" namespace."""

app_name = "dashboards"

urlpatterns = []

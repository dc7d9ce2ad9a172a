from django.urls import path

from . import views

app_name = "regions"

urlpatterns = [
    path("", views.RegionRootView.as_view(), name="root"),
    path("<str:code>/", views.RegionDetailView.as_view(), name="detail"),
]

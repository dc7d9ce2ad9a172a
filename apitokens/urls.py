from django.urls import path

from . import views

app_name = "apitokens"

urlpatterns = [
    path("", views.TokenListView.as_view(), name="list"),
    path("<int:pk>/revoke/", views.TokenRevokeView.as_view(), name="revoke"),
]

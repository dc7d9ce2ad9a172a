"""The summary table, township → county submission, the stamped file, the seal and verify."""

from django.urls import path

from .views import submissions as views

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("rounds/<int:pk>/summary/", views.SummaryView.as_view(), name="summary"),
    path(
        "rounds/<int:pk>/summary/<str:code>/",
        views.SummaryView.as_view(),
        name="summary-region",
    ),
    path("rounds/<int:pk>/townships/<str:code>/", views.TownshipView.as_view(), name="township"),
    path("rounds/<int:pk>/counties/<str:code>/", views.CountyView.as_view(), name="county"),
    path("submissions/<int:pk>/", views.SubmissionDetailView.as_view(), name="submission"),
    path("submissions/<int:pk>/accept/", views.AcceptView.as_view(), name="submission-accept"),
    path("submissions/<int:pk>/return/", views.ReturnView.as_view(), name="submission-return"),
    path(
        "submissions/<int:pk>/download/",
        views.DownloadView.as_view(),
        name="submission-download",
    ),
    path("seal/", views.SealView.as_view(), name="seal"),
    path("seal/<str:code>/image/", views.SealImageView.as_view(), name="seal-image"),
    path("verify/", views.VerifyView.as_view(), name="verify"),
]

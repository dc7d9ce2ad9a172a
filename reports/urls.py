"""The reports pages: the summary table, township → county submission, the stamped file, the
seal and verify; the upload-validation page, the weekly progress table and its targets, and
report jobs."""

from django.urls import path

from .views import chain, jobs, overview, progress, seal, submissions, summary, validate, verify

app_name = "reports"

urlpatterns = [
    # The summary table and the submissions up the hierarchy
    path("", summary.IndexView.as_view(), name="index"),
    path("rounds/<int:pk>/summary/", summary.SummaryView.as_view(), name="summary"),
    path(
        "rounds/<int:pk>/summary/<str:code>/",
        summary.SummaryView.as_view(),
        name="summary-region",
    ),
    path(
        "rounds/<int:pk>/townships/<str:code>/",
        submissions.TownshipView.as_view(),
        name="township",
    ),
    path("rounds/<int:pk>/counties/<str:code>/", submissions.CountyView.as_view(), name="county"),
    path(
        "rounds/<int:pk>/reopen/",
        submissions.ReopenRoundView.as_view(),
        name="round-reopen",
    ),
    path("submissions/<int:pk>/", submissions.SubmissionDetailView.as_view(), name="submission"),
    path(
        "submissions/<int:pk>/accept/",
        submissions.AcceptView.as_view(),
        name="submission-accept",
    ),
    path(
        "submissions/<int:pk>/return/",
        submissions.ReturnView.as_view(),
        name="submission-return",
    ),
    path(
        "submissions/<int:pk>/download/",
        submissions.DownloadView.as_view(),
        name="submission-download",
    ),
    # The chain above the county: collections, deliveries, the unit's own table
    path("collections/", chain.CollectionListView.as_view(), name="collections"),
    path("collections/<int:pk>/", chain.CollectionView.as_view(), name="collection"),
    path("deliveries/<int:pk>/", chain.DeliveryView.as_view(), name="delivery"),
    path("overview/", overview.OverviewView.as_view(), name="overview"),
    # The seal and the public verify page
    path("seal/", seal.SealView.as_view(), name="seal"),
    path("seal/<str:code>/image/", seal.SealImageView.as_view(), name="seal-image"),
    path("verify/", verify.VerifyView.as_view(), name="verify"),
    # The upload-validation page
    path("validate/", validate.ValidateView.as_view(), name="validate"),
    path(
        "validate/template.xlsx",
        validate.ValidateTemplateView.as_view(),
        name="validate-template",
    ),
    # The weekly progress table and its targets
    path("progress/", progress.ProgressView.as_view(), name="progress"),
    path("progress/export/", progress.ProgressExportView.as_view(), name="progress-export"),
    path("progress/targets/", progress.TargetsView.as_view(), name="progress-targets"),
    # Report jobs
    path("jobs/", jobs.JobListView.as_view(), name="jobs"),
    path("jobs/start/", jobs.JobStartView.as_view(), name="job-start"),
    path("jobs/<int:pk>/", jobs.JobDetailView.as_view(), name="job"),
    path("jobs/<int:pk>/status/", jobs.JobStatusView.as_view(), name="job-status"),
    path("jobs/<int:pk>/download/", jobs.JobDownloadView.as_view(), name="job-download"),
]

"""The upload-validation page, the weekly progress table and its targets, report jobs."""

from django.urls import path

from .views import jobs as views_jobs
from .views import progress as views_progress
from .views import validate as views_validate

urlpatterns = [
    path("validate/", views_validate.ValidateView.as_view(), name="validate"),
    path(
        "validate/template.xlsx",
        views_validate.ValidateTemplateView.as_view(),
        name="validate-template",
    ),
    path("progress/", views_progress.ProgressView.as_view(), name="progress"),
    path("progress/export/", views_progress.ProgressExportView.as_view(), name="progress-export"),
    path("progress/targets/", views_progress.TargetsView.as_view(), name="progress-targets"),
    path("jobs/", views_jobs.JobListView.as_view(), name="jobs"),
    path("jobs/start/", views_jobs.JobStartView.as_view(), name="job-start"),
    path("jobs/<int:pk>/", views_jobs.JobDetailView.as_view(), name="job"),
    path("jobs/<int:pk>/status/", views_jobs.JobStatusView.as_view(), name="job-status"),
    path("jobs/<int:pk>/download/", views_jobs.JobDownloadView.as_view(), name="job-download"),
]

"""The dispatch briefings (调度通报) and rankings, and the work-process problem register, under
the "dispatch" namespace."""

from django.urls import path

from . import views

app_name = "dispatch"

urlpatterns = [
    path("", views.BriefingList.as_view(), name="list"),
    path("generate/", views.Generate.as_view(), name="generate"),
    path("formula/", views.FormulaEdit.as_view(), name="formula"),
    path("mine/", views.Mine.as_view(), name="mine"),
    path("<int:pk>/", views.BriefingDetail.as_view(), name="detail"),
    path("<int:pk>/xlsx/", views.BriefingXlsx.as_view(), name="xlsx"),
    # A city's (counties as rows) or the province's (cities as rows) briefings.
    path("units/", views.UnitBriefingList.as_view(), name="units"),
    path("units/generate/", views.UnitGenerate.as_view(), name="unit-generate"),
    path("units/jobs/<int:pk>/", views.UnitJob.as_view(), name="unit-job"),
    path("units/jobs/<int:pk>/status/", views.UnitJobStatus.as_view(), name="unit-job-status"),
    path("units/<int:pk>/", views.UnitBriefingDetail.as_view(), name="unit"),
    path("units/<int:pk>/xlsx/", views.UnitBriefingXlsx.as_view(), name="unit-xlsx"),
    # The work-process problem register (工作推进中存在的问题).
    path("problems/", views.ProblemList.as_view(), name="problems"),
    path("problems/new/", views.ProblemForm.as_view(), name="problem-create"),
    path("problems/<int:pk>/", views.ProblemDetail.as_view(), name="problem"),
    path("problems/<int:pk>/edit/", views.ProblemForm.as_view(), name="problem-edit"),
    path(
        "problems/<int:pk>/start/", views.ProblemMove.as_view(action="start"), name="problem-start"
    ),
    path(
        "problems/<int:pk>/close/", views.ProblemMove.as_view(action="close"), name="problem-close"
    ),
    path(
        "problems/<int:pk>/reopen/",
        views.ProblemMove.as_view(action="reopen"),
        name="problem-reopen",
    ),
    path("problems/evidence/<int:pk>/", views.EvidenceFile.as_view(), name="problem-evidence"),
]

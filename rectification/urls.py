from django.urls import path

from .views import bulk, entry, evidence, ledger, plans

# Mounted by config.urls under ledger/ in the "rectification" namespace.

app_name = "rectification"

urlpatterns = [
    # The lists, their exports and the overdue dashboard.
    path("", ledger.LedgerListView.as_view(), name="ledger"),
    path("export/", ledger.LedgerExportView.as_view(), name="ledger-export"),
    path("log/", ledger.LogListView.as_view(), name="log"),
    path("log/export/", ledger.LogExportView.as_view(), name="log-export"),
    path("overdue/", ledger.OverdueView.as_view(), name="overdue"),
    # One entry: its page, its workflow moves, its 整改告知单; the village's notices.
    path("entries/<int:pk>/", entry.EntryDetailView.as_view(), name="entry"),
    path("entries/<int:pk>/notice/", entry.NoticeView.as_view(), name="notice"),
    path("entries/<int:pk>/<str:action>/", entry.TransitionView.as_view(), name="transition"),
    path("notices/", entry.BatchNoticeView.as_view(), name="notices"),
    path("bulk-accept/", bulk.BulkAcceptView.as_view(), name="bulk-accept"),
    # The evidence files.
    path(
        "evidence/<int:pk>/<str:size>/", evidence.EvidencePhotoView.as_view(), name="evidence-photo"
    ),
    path("consents/<int:pk>/", evidence.ConsentImageView.as_view(), name="consent-image"),
    # The townships' rectification plans (整改方案) and the county's review (审核备案).
    path("plans/", plans.PlanListView.as_view(), name="plans"),
    path("plans/new/<int:round_pk>/", plans.PlanCreateView.as_view(), name="plan-new"),
    path("plans/<int:pk>/", plans.PlanDetailView.as_view(), name="plan"),
    path("plans/<int:pk>/edit/", plans.PlanEditView.as_view(), name="plan-edit"),
    path("plans/<int:pk>/submit/", plans.PlanSubmitView.as_view(), name="plan-submit"),
    path("plans/<int:pk>/review/", plans.PlanReviewView.as_view(), name="plan-review"),
    path("plans/<int:pk>/revise/", plans.PlanReviseView.as_view(), name="plan-revise"),
]

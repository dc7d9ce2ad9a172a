"""The survey pages, under the "surveys" namespace."""

from django.urls import path

from .views import (
    campaigns,
    coverage,
    inspections,
    offline,
    reconcile,
    review,
    rounds,
    spotchecks,
    worklist,
)

app_name = "surveys"

urlpatterns = [
    # Rounds
    path("", rounds.RoundListView.as_view(), name="round-list"),
    path("rounds/new/", rounds.RoundCreateView.as_view(), name="round-create"),
    path("rounds/<int:pk>/", rounds.RoundDetailView.as_view(), name="round-detail"),
    path("rounds/<int:pk>/open/", rounds.RoundOpenView.as_view(), name="round-open"),
    path("rounds/<int:pk>/close/", rounds.RoundCloseView.as_view(), name="round-close"),
    # The surveyor's worklist and inspections
    path("worklist/", worklist.WorklistView.as_view(), name="worklist"),
    # What the phone keeps for working without a connection
    path("offline/data/", offline.OfflineDataView.as_view(), name="offline-data"),
    path("offline/inspect/", offline.OfflineInspectView.as_view(), name="offline-inspect"),
    path(
        "rounds/<int:round_pk>/toilets/<int:toilet_pk>/inspect/",
        inspections.InspectView.as_view(),
        name="inspect",
    ),
    path(
        "rounds/<int:round_pk>/toilets/<int:toilet_pk>/next/",
        inspections.NextToiletView.as_view(),
        name="inspect-next",
    ),
    path(
        "inspections/<int:pk>/",
        inspections.InspectionDetailView.as_view(),
        name="inspection-detail",
    ),
    path("photos/<int:pk>/<str:size>/", inspections.PhotoView.as_view(), name="photo"),
    path(
        "corrections/<int:pk>/handle/",
        inspections.CorrectionHandleView.as_view(),
        name="correction-handle",
    ),
    path(
        "correction-photos/<int:pk>/<str:size>/",
        inspections.CorrectionPhotoView.as_view(),
        name="correction-photo",
    ),
    # Township verification
    path("rounds/<int:pk>/review/", review.ReviewQueueView.as_view(), name="review"),
    path("rounds/<int:pk>/review/export/", review.ReviewExportView.as_view(), name="review-export"),
    path("inspections/<int:pk>/verify/", review.VerifyView.as_view(), name="verify"),
    path("inspections/<int:pk>/return/", review.ReturnView.as_view(), name="return"),
    # Progress and coverage
    path("rounds/<int:pk>/progress/", coverage.ProgressView.as_view(), name="progress"),
    path("rounds/<int:pk>/coverage/", coverage.CoverageView.as_view(), name="coverage"),
    path(
        "rounds/<int:pk>/coverage/export/",
        coverage.CoverageExportView.as_view(),
        name="coverage-export",
    ),
    path(
        "rounds/<int:pk>/coverage/missing/",
        coverage.MissingToiletsView.as_view(),
        name="coverage-missing",
    ),
    path(
        "rounds/<int:pk>/coverage/missing/export/",
        coverage.MissingExportView.as_view(),
        name="coverage-missing-export",
    ),
    # Spot-checks (抽查)
    path(
        "rounds/<int:pk>/spot-checks/",
        spotchecks.SpotCheckListView.as_view(),
        name="spotcheck-list",
    ),
    path("spot-checks/mine/", spotchecks.MySpotChecksView.as_view(), name="spotcheck-mine"),
    path(
        "spot-checks/<int:pk>/",
        spotchecks.SpotCheckDetailView.as_view(),
        name="spotcheck-detail",
    ),
    path(
        "spot-check-items/<int:pk>/",
        spotchecks.SpotCheckItemView.as_view(),
        name="spotcheck-item",
    ),
    # Spot-checks across counties (市级抽查、省级抽验)
    path("spot-check-campaigns/", campaigns.CampaignListView.as_view(), name="campaign-list"),
    path(
        "spot-check-campaigns/draws/<int:pk>/",
        campaigns.CampaignDrawJobView.as_view(),
        name="campaign-job",
    ),
    path(
        "spot-check-campaigns/draws/<int:pk>/status/",
        campaigns.CampaignDrawJobStatusView.as_view(),
        name="campaign-job-status",
    ),
    path(
        "spot-check-campaigns/<int:pk>/",
        campaigns.CampaignDetailView.as_view(),
        name="campaign-detail",
    ),
    # Office-made flags and the 回头看 reconciliation
    path("rounds/<int:pk>/flags/", reconcile.FlagListView.as_view(), name="flags"),
    path("flags/<int:pk>/clear/", reconcile.FlagClearView.as_view(), name="flag-clear"),
    path("rounds/<int:pk>/reconcile/", reconcile.ReconcileView.as_view(), name="reconcile"),
    path(
        "rounds/<int:pk>/reconcile/<str:code>/",
        reconcile.ReconcileVillageView.as_view(),
        name="reconcile-village",
    ),
]

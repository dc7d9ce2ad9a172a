from django.urls import include, path

from .views import rounds as views

app_name = "surveys"

urlpatterns = [
    path("", views.RoundListView.as_view(), name="round-list"),
    path("rounds/new/", views.RoundCreateView.as_view(), name="round-create"),
    path("rounds/<int:pk>/", views.RoundDetailView.as_view(), name="round-detail"),
    path("rounds/<int:pk>/open/", views.RoundOpenView.as_view(), name="round-open"),
    path("rounds/<int:pk>/close/", views.RoundCloseView.as_view(), name="round-close"),
    path("worklist/", views.WorklistView.as_view(), name="worklist"),
    path(
        "rounds/<int:round_pk>/toilets/<int:toilet_pk>/inspect/",
        views.InspectView.as_view(),
        name="inspect",
    ),
    path("inspections/<int:pk>/", views.InspectionDetailView.as_view(), name="inspection-detail"),
    path("photos/<int:pk>/<str:size>/", views.PhotoView.as_view(), name="photo"),
    path("rounds/<int:pk>/review/", views.ReviewQueueView.as_view(), name="review"),
    path("rounds/<int:pk>/review/export/", views.ReviewExportView.as_view(), name="review-export"),
    path("inspections/<int:pk>/verify/", views.VerifyView.as_view(), name="verify"),
    path("inspections/<int:pk>/return/", views.ReturnView.as_view(), name="return"),
    path("rounds/<int:pk>/progress/", views.ProgressView.as_view(), name="progress"),
    path("rounds/<int:pk>/coverage/", views.CoverageView.as_view(), name="coverage"),
    path(
        "rounds/<int:pk>/coverage/export/",
        views.CoverageExportView.as_view(),
        name="coverage-export",
    ),
    path(
        "rounds/<int:pk>/coverage/missing/",
        views.MissingToiletsView.as_view(),
        name="coverage-missing",
    ),
    path(
        "rounds/<int:pk>/coverage/missing/export/",
        views.MissingExportView.as_view(),
        name="coverage-missing-export",
    ),
    path("", include("surveys.urls_spotchecks")),
    path("", include("surveys.urls_reconcile")),
]

from django.contrib.auth.decorators import login_required
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apitokens.views import ObtainExpiringAuthToken
from rectification.api.views import LedgerEntryViewSet, LedgerLogViewSet, OverdueSnapshotViewSet
from regions.api.views import RegionViewSet
from reports.api.views import ProgressTargetViewSet, ReportJobViewSet, SubmissionViewSet
from surveys.api.sync import InspectionSyncView
from surveys.api.views import (
    InspectionFlagViewSet,
    InspectionViewSet,
    ProblemCategoryViewSet,
    ReconciliationNoteViewSet,
    ReportTemplateViewSet,
    SpotCheckItemViewSet,
    SpotCheckSampleViewSet,
    SurveyRoundViewSet,
)
from toilets.api.views import HouseholdViewSet, ToiletViewSet


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script from a URL of its own (``?script``) and no inline
    style: the page runs under the site's Content-Security-Policy as it is."""

    template_name = "api/swagger_ui.html"


router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("households", HouseholdViewSet, basename="household")
router.register("toilets", ToiletViewSet, basename="toilet")
router.register("rounds", SurveyRoundViewSet, basename="round")
router.register("inspections", InspectionViewSet, basename="inspection")
router.register("inspection-flags", InspectionFlagViewSet, basename="inspection-flag")
router.register("spot-check-samples", SpotCheckSampleViewSet, basename="spot-check-sample")
router.register("spot-check-items", SpotCheckItemViewSet, basename="spot-check-item")
router.register("reconciliation-notes", ReconciliationNoteViewSet, basename="reconciliation-note")
router.register("problem-categories", ProblemCategoryViewSet, basename="problem-category")
router.register("report-templates", ReportTemplateViewSet, basename="report-template")
router.register("ledger", LedgerEntryViewSet, basename="ledger")
router.register("ledger-log", LedgerLogViewSet, basename="ledger-log")
router.register("overdue-snapshots", OverdueSnapshotViewSet, basename="overdue-snapshot")
router.register("submissions", SubmissionViewSet, basename="submission")
router.register("report-jobs", ReportJobViewSet, basename="report-job")
router.register("progress-targets", ProgressTargetViewSet, basename="progress-target")


@csrf_exempt
def not_found(request, rest=""):
    """Any other address under /api/ answers like the API does (JSON), not with the HTML 404
    page; an address missing only its trailing slash is redirected to it, as elsewhere."""
    if not request.path_info.endswith("/"):
        try:
            resolve(request.path_info + "/")
        except Resolver404:
            pass
        else:
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(
                request.path + "/" + (f"?{query}" if query else "")
            )
    return JsonResponse({"detail": "未找到。"}, status=404)


urlpatterns = [
    path("token/", ObtainExpiringAuthToken.as_view(), name="api-token"),
    # Schema and docs need a login (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the docs page
    # sends a browser without a session to the login page first.
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", login_required(SwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    # The offline sync (issue 13), at the address the phone app is written against, and
    # next to the other inspection resources. Before the router: "sync" is no inspection id.
    path("v1/inspections/sync/", InspectionSyncView.as_view(), name="inspection-sync"),
    path("inspections/sync/", InspectionSyncView.as_view(), name="inspection-sync-unversioned"),
    path("", include(router.urls)),
    re_path(r"^(?P<rest>.*)$", not_found),
]

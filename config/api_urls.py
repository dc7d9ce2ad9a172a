from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from rectification.api.views import LedgerEntryViewSet, LedgerLogViewSet
from regions.api.views import RegionViewSet
from surveys.api.views import InspectionViewSet, SurveyRoundViewSet
from toilets.api.views import HouseholdViewSet, ToiletViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("households", HouseholdViewSet, basename="household")
router.register("toilets", ToiletViewSet, basename="toilet")
router.register("rounds", SurveyRoundViewSet, basename="round")
router.register("inspections", InspectionViewSet, basename="inspection")
router.register("ledger", LedgerEntryViewSet, basename="ledger")
router.register("ledger-log", LedgerLogViewSet, basename="ledger-log")

urlpatterns = [
    path("token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]

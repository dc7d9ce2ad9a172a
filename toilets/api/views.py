from core.web.api import ScopedWriteViewSet
from regions.api.permissions import capability_permission
from regions.choices import EDIT_REGISTER
from toilets.filters import HouseholdFilter, ToiletFilter
from toilets.models import Household, Toilet

from .serializers import HouseholdSerializer, ToiletSerializer

RegisterWritePermission = capability_permission(
    EDIT_REGISTER, "您的角色只能查看户厕台账，不能登记或修改。"
)


class HouseholdViewSet(ScopedWriteViewSet):
    """Households (农户) in the caller's region; ID and phone masked unless the role needs them."""

    queryset = Household.objects.all()
    serializer_class = HouseholdSerializer
    filterset_class = HouseholdFilter
    select_related = ("village",)
    permission_classes = [*ScopedWriteViewSet.permission_classes, RegisterWritePermission]


class ToiletViewSet(ScopedWriteViewSet):
    """Household and public toilets in the caller's region."""

    queryset = Toilet.objects.all()
    serializer_class = ToiletSerializer
    filterset_class = ToiletFilter
    select_related = ("village",)
    permission_classes = [*ScopedWriteViewSet.permission_classes, RegisterWritePermission]

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import BooleanField, Case, Value, When
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.errors import ConflictError
from core.web.api import (
    Conflict,
    ReferenceViewSet,
    ScopedReadOnlyViewSet,
    ScopedWriteViewSet,
    call_service,
    raise_as_drf,
)
from regions.api.permissions import capability_permission
from regions.choices import INSPECT, MANAGE_ROUNDS, Level
from regions.scoping import scope_of
from surveys import services, spotchecks
from surveys.filters import InspectionFilter
from surveys.flags import clear_flag
from surveys.models import (
    Inspection,
    InspectionFlag,
    ProblemCategory,
    ReconciliationNote,
    ReportTemplate,
    SpotCheckItem,
    SpotCheckSample,
    SurveyRound,
)

from .filters import (
    InspectionFlagFilter,
    ReconciliationNoteFilter,
    ReportTemplateFilter,
    SpotCheckItemFilter,
    SpotCheckSampleFilter,
)
from .serializers import (
    ClearFlagSerializer,
    InspectionFlagSerializer,
    InspectionSerializer,
    ProblemCategorySerializer,
    ReconciliationNoteSerializer,
    ReportTemplateSerializer,
    SpotCheckItemSerializer,
    SpotCheckSampleSerializer,
    SurveyRoundSerializer,
)


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    except DjangoValidationError as error:
        raise_as_drf(error)
    except ConflictError as exc:
        raise Conflict(exc.message) from exc


class VerifySerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        max_value=2_147_483_647,
        help_text="读取到的版本号；若记录已被他人修改则返回 409。",
        error_messages={"invalid": "版本号应为整数。"},
    )


class ReturnReasonSerializer(VerifySerializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="退回原因（必填）"
    )


class SurveyRoundViewSet(ScopedReadOnlyViewSet):
    """Survey rounds of the caller's county; the county creates, opens and closes them."""

    queryset = SurveyRound.objects.all()
    serializer_class = SurveyRoundSerializer
    select_related = ("county",)
    filterset_fields = ["status", "kind"]
    permission_classes = [
        *ScopedReadOnlyViewSet.permission_classes,
        capability_permission(MANAGE_ROUNDS, "只有县级管理员可以管理摸排轮次。"),
    ]

    def create(self, request):
        scope = scope_of(request.user)
        if scope.region is None or scope.region.level != Level.COUNTY:
            raise PermissionDenied("请使用县级账号组织摸排轮次。")
        serializer = self.get_serializer(
            data=request.data, context={**self.get_serializer_context(), "county": scope.region}
        )
        serializer.is_valid(raise_exception=True)
        survey_round = serializer.save()
        return Response(self.get_serializer(survey_round).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=SurveyRoundSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None, format=None):
        survey_round = _call(
            services.open_round, actor=request.user, survey_round=self.get_object()
        )
        return Response(self.get_serializer(survey_round).data)

    @extend_schema(request=None, responses=SurveyRoundSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None, format=None):
        survey_round = _call(
            services.close_round, actor=request.user, survey_round=self.get_object()
        )
        return Response(self.get_serializer(survey_round).data)


class InspectionViewSet(ScopedWriteViewSet):
    """Inspections in the caller's region; surveyors create and correct them, township staff
    verify or return them."""

    queryset = Inspection.objects.all()
    serializer_class = InspectionSerializer
    select_related = ("surveyor",)
    filterset_class = InspectionFilter

    def get_queryset(self):
        return super().get_queryset().prefetch_related("categories", "photos")

    def get_permissions(self):
        if self.action in ("create", "update", "partial_update", "photos"):
            return [
                *super().get_permissions(),
                capability_permission(INSPECT, "只有村级摸排员可以录入摸排结果。")(),
            ]
        return super().get_permissions()

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "PhotoUpload", {"photos": serializers.ListField(child=serializers.ImageField())}
            )
        },
        responses={201: InspectionSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def photos(self, request, pk=None, format=None):
        inspection = self.get_object()
        files = request.FILES.getlist("photos")
        if not files:
            raise serializers.ValidationError({"photos": ["请选择要上传的照片。"]})
        _call(services.add_photos, actor=request.user, inspection=inspection, photos=files)
        return Response(self.get_serializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=VerifySerializer, responses=InspectionSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None, format=None):
        inspection = self.get_object()
        body = VerifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        inspection = _call(
            services.verify_inspection,
            actor=request.user,
            inspection=inspection,
            expected_version=body.validated_data.get("version"),
        )
        return Response(self.get_serializer(inspection).data)

    @extend_schema(request=ReturnReasonSerializer, responses=InspectionSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None, format=None):
        inspection = self.get_object()
        body = ReturnReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        inspection = _call(
            services.return_inspection,
            actor=request.user,
            inspection=inspection,
            reason=body.validated_data.get("reason", ""),
            expected_version=body.validated_data.get("version"),
        )
        return Response(self.get_serializer(inspection).data)


# Reference data ----------------------------------------------------------------------------


class ProblemCategoryViewSet(ReferenceViewSet):
    """The eight problem categories (summary columns 12–19); the same for everybody."""

    queryset = ProblemCategory.objects.all()
    serializer_class = ProblemCategorySerializer


class ReportTemplateViewSet(ReferenceViewSet):
    """The summary form templates with their build-year buckets; the same for everybody."""

    queryset = ReportTemplate.objects.order_by("id")
    serializer_class = ReportTemplateSerializer
    filterset_class = ReportTemplateFilter


# The round's side records ------------------------------------------------------------------


class InspectionFlagViewSet(ScopedReadOnlyViewSet):
    """Signs that an inspection in the caller's region may have been made in the office (疑似
    办公室摸排). Township staff and the county clear them after checking, with a note."""

    queryset = InspectionFlag.objects.all()
    serializer_class = InspectionFlagSerializer
    filterset_class = InspectionFlagFilter
    select_related = ("inspection__toilet__village", "cleared_by")

    def get_queryset(self):
        return super().get_queryset().order_by("-inspection__inspected_at", "id")

    @extend_schema(request=ClearFlagSerializer, responses=InspectionFlagSerializer)
    @action(detail=True, methods=["post"])
    def clear(self, request, pk=None, format=None):
        flag = self.get_object()
        serializer = ClearFlagSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        call_service(
            clear_flag, actor=request.user, flag=flag, note=serializer.validated_data["note"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=flag.pk)).data)


class SpotCheckSampleViewSet(ScopedReadOnlyViewSet):
    """Spot-check samples (抽查样本) of the rounds the caller sees, the county's own and those of
    a city's or the province's campaign (``campaign``). The seed is shown to who runs the
    sample, and to everybody once it is published (as on the pages). Surveyors, who are checked
    and never check, see none."""

    queryset = SpotCheckSample.objects.all()
    serializer_class = SpotCheckSampleSerializer
    filterset_class = SpotCheckSampleFilter

    def get_queryset(self):
        user = self.request.user
        if not spotchecks.can_use_spotchecks(user):
            return SpotCheckSample.objects.none()
        return (
            spotchecks.samples_visible_to(user)
            .annotate(
                results_open=Case(
                    When(spotchecks.results_open(user), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                )
            )
            .select_related("round__county", "created_by")
            .order_by("-created_at", "-id")
        )


class SpotCheckItemViewSet(ScopedReadOnlyViewSet):
    """Sampled inspections and their re-inspection results. Who runs a sample (the county for
    its own, the city or province for its campaign's) sees it whole; others see the items
    inside their own subtree once the sample is published, plus the items assigned to them to
    re-check (as on the pages). A county checked by a campaign sees nothing of it before."""

    queryset = SpotCheckItem.objects.all()
    serializer_class = SpotCheckItemSerializer
    filterset_class = SpotCheckItemFilter

    def get_queryset(self):
        user = self.request.user
        if not spotchecks.can_use_spotchecks(user):
            return SpotCheckItem.objects.none()
        own = SpotCheckItem.objects.visible_to(user).filter(
            spotchecks.results_open(user, "sample__")
        )
        return (
            (own | spotchecks.items_for_checker(user))
            .select_related("sample", "original__toilet__village", "inspector")
            .prefetch_related("categories")
            .order_by("sample_id", "id")
        )


class ReconciliationNoteViewSet(ScopedReadOnlyViewSet):
    """The surveyors' reasons for the changes a 回头看 round found, in the caller's region."""

    queryset = ReconciliationNote.objects.all()
    serializer_class = ReconciliationNoteSerializer
    filterset_class = ReconciliationNoteFilter
    select_related = ("village", "author")

    def get_queryset(self):
        return super().get_queryset().order_by("round_id", "village__code", "change_key")

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from regions.api.base import (
    Conflict,
    ScopedReadOnlyViewSet,
    ScopedWriteViewSet,
    capability_permission,
    raise_as_drf,
)
from regions.choices import INSPECT, MANAGE_ROUNDS, Level
from regions.scoping import scope_of
from surveys import services
from surveys.filters import InspectionFilter
from surveys.models import Inspection, SurveyRound

from .serializers import InspectionSerializer, SurveyRoundSerializer


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    except DjangoValidationError as error:
        raise_as_drf(error)
    except services.ConflictError as exc:
        raise Conflict(exc.message) from exc


def _version(request):
    raw = request.data.get("version")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise serializers.ValidationError({"version": ["版本号应为整数。"]}) from exc


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
    def open(self, request, pk=None):
        survey_round = _call(
            services.open_round, actor=request.user, survey_round=self.get_object()
        )
        return Response(self.get_serializer(survey_round).data)

    @extend_schema(request=None, responses=SurveyRoundSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
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
        responses=InspectionSerializer,
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def photos(self, request, pk=None):
        inspection = self.get_object()
        files = request.FILES.getlist("photos")
        if not files:
            raise serializers.ValidationError({"photos": ["请选择要上传的照片。"]})
        _call(services.add_photos, actor=request.user, inspection=inspection, photos=files)
        return Response(self.get_serializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=inline_serializer("Verify", {"version": serializers.IntegerField(required=False)}),
        responses=InspectionSerializer,
    )
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        inspection = _call(
            services.verify_inspection,
            actor=request.user,
            inspection=self.get_object(),
            expected_version=_version(request),
        )
        return Response(self.get_serializer(inspection).data)

    @extend_schema(
        request=inline_serializer(
            "ReturnReason",
            {
                "reason": serializers.CharField(),
                "version": serializers.IntegerField(required=False),
            },
        ),
        responses=InspectionSerializer,
    )
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        inspection = _call(
            services.return_inspection,
            actor=request.user,
            inspection=self.get_object(),
            reason=str(request.data.get("reason", "")),
            expected_version=_version(request),
        )
        return Response(self.get_serializer(inspection).data)

"""``POST /api/v1/inspections/sync/``: an inspection a phone queued offline (IndexedDB), sent
when the signal returns.

multipart/form-data with ``key`` (the client's UUID for the record: a record sent twice is
stored once), ``record`` (a JSON string with the form's fields, the version the surveyor saw
and the phone's position) and ``photos`` (zero or more images, the page's limits). The record
goes through the page's form (the same field rules) and ``services.sync_inspection`` (which
saves through ``services.save_inspection``: the same guards, checks and scoping as the page).

Answers: 201 stored / correction_filed, 200 already_stored, 409 conflict (recorded by somebody
else meanwhile, or verified) with the current record, 400 ``{"detail", "errors"}``, 403
without the INSPECT capability, 404 for a round or toilet outside the user's scope.
"""

import json
import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ConflictError
from core.users import display_name
from regions.api.permissions import capability_permission
from regions.choices import INSPECT
from toilets.models import Toilet

from .. import services
from ..forms import InspectionForm
from ..models import Inspection, SurveyRound

INT_MAX = 2_147_483_647

# record key → the page form's field
FORM_FIELDS = {
    "household_present": "household_present",
    "check_method": "check_method",
    "usability": "usability",
    "categories": "categories",
    "minor_fixes": "minor_fixes",
    "notes": "notes",
    "partner_name": "partner_name",
    "inspected_at": "inspected_at",
    "signed": "signed",
    "evidence_reason": "evidence_reason",
    "latitude": "device_latitude",
    "longitude": "device_longitude",
    "accuracy": "device_accuracy",
}
# the form's field → the record key the client knows
RECORD_KEYS = {form: record for record, form in FORM_FIELDS.items()}


class BadRequest(Exception):
    def __init__(self, detail: str, errors: dict):
        super().__init__(detail)
        self.detail, self.errors = detail, errors


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(message, {field: [message]})


def _key(raw) -> uuid.UUID:
    if raw in (None, ""):
        raise _bad("key", "缺少记录编号（key）。")
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise _bad("key", "记录编号（key）应为 UUID。") from exc


def _record(raw) -> dict:
    if raw in (None, ""):
        raise _bad("record", "缺少摸排记录内容（record）。")
    try:
        record = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise _bad("record", "摸排记录内容（record）不是有效的 JSON。") from exc
    if not isinstance(record, dict):
        raise _bad("record", "摸排记录内容（record）应为 JSON 对象。")
    return record


def _id(record: dict, name: str, label: str, *, required=True) -> int | None:
    value = record.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (0 < value <= INT_MAX):
        raise _bad(name, f"{label}（{name}）应为正整数。")
    return value


def _by_record_key(errors) -> dict:
    """Field → messages, keyed as the client knows the fields (``__all__`` as
    ``non_field_errors``)."""
    return {
        ("non_field_errors" if key == "__all__" else RECORD_KEYS.get(key, key)): list(messages)
        for key, messages in errors.items()
    }


def _errors(form) -> dict:
    return _by_record_key(form.errors)


def _service_errors(error: ValidationError) -> dict:
    if not hasattr(error, "error_dict"):
        return {"non_field_errors": list(error.messages)}
    return _by_record_key(error.message_dict)


def _first(errors: dict) -> str:
    for messages in errors.values():
        if messages:
            return messages[0]
    return "摸排记录有误，请修改后重新提交。"


def brief(inspection: Inspection) -> dict:
    return {
        "id": inspection.pk,
        "version": inspection.version,
        "status": inspection.status,
        "status_label": inspection.get_status_display(),
        "url": reverse("surveys:inspection-detail", args=[inspection.pk]),
    }


def current(inspection: Inspection) -> dict:
    categories = list(inspection.categories.all())
    return {
        "id": inspection.pk,
        "version": inspection.version,
        "status": inspection.status,
        "status_label": inspection.get_status_display(),
        "surveyor": display_name(inspection.surveyor),
        "inspected_at": serializers.DateTimeField().to_representation(inspection.inspected_at),
        "usability": inspection.usability,
        "usability_label": inspection.get_usability_display(),
        "categories": [c.code for c in categories],
        "category_labels": [c.name for c in categories],
        "notes": inspection.notes,
        "minor_fixes": inspection.minor_fixes,
        "partner_name": inspection.partner_name,
        "photo_count": inspection.photos.count(),
    }


# The schema ---------------------------------------------------------------------------------

_BRIEF = inline_serializer(
    "SyncInspection",
    {
        "id": serializers.IntegerField(),
        "version": serializers.IntegerField(),
        "status": serializers.CharField(),
        "status_label": serializers.CharField(),
        "url": serializers.CharField(help_text="摸排记录页面"),
    },
)
_STORED = inline_serializer(
    "SyncStored",
    {
        "status": serializers.ChoiceField(["stored", "already_stored", "correction_filed"]),
        "inspection": _BRIEF,
    },
)
_CONFLICT = inline_serializer(
    "SyncConflict",
    {
        "status": serializers.ChoiceField(["conflict"]),
        "reason": serializers.ChoiceField(["recorded", "verified"]),
        "detail": serializers.CharField(),
        "current": inline_serializer(
            "SyncCurrent",
            {
                "id": serializers.IntegerField(),
                "version": serializers.IntegerField(),
                "status": serializers.CharField(),
                "status_label": serializers.CharField(),
                "surveyor": serializers.CharField(),
                "inspected_at": serializers.DateTimeField(),
                "usability": serializers.CharField(),
                "usability_label": serializers.CharField(),
                "categories": serializers.ListField(child=serializers.CharField()),
                "category_labels": serializers.ListField(child=serializers.CharField()),
                "notes": serializers.CharField(),
                "minor_fixes": serializers.CharField(),
                "partner_name": serializers.CharField(),
                "photo_count": serializers.IntegerField(),
            },
        ),
    },
)
_BAD = inline_serializer(
    "SyncBadRequest",
    {
        "detail": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)
_NOT_FOUND = inline_serializer("SyncNotFound", {"detail": serializers.CharField()})
_REQUEST = inline_serializer(
    "SyncRequest",
    {
        "key": serializers.UUIDField(help_text="客户端生成的记录编号；同一编号只保存一次"),
        "record": serializers.CharField(
            help_text="JSON：round, toilet, base_version, household_present, check_method, "
            "usability, categories, minor_fixes, notes, partner_name, inspected_at, signed, "
            "latitude, longitude, accuracy, evidence_reason, resolution"
        ),
        "photos": serializers.ListField(child=serializers.ImageField(), required=False),
    },
)


class InspectionSyncView(APIView):
    """An offline record: stored once per key; a conflict answers the current record."""

    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [
        IsAuthenticated,
        capability_permission(INSPECT, "只有村级摸排员可以录入摸排结果。"),
    ]

    @extend_schema(
        request={"multipart/form-data": _REQUEST},
        responses={
            200: OpenApiResponse(_STORED, description="此编号的记录已保存过（不重复保存）"),
            201: OpenApiResponse(_STORED, description="已保存，或已提交更正申请"),
            400: OpenApiResponse(_BAD, description="记录有误（按字段给出原因）"),
            404: OpenApiResponse(_NOT_FOUND, description="轮次或厕所不存在或不在管辖范围内"),
            409: OpenApiResponse(_CONFLICT, description="他人已录入或乡镇已核查，附当前记录"),
        },
    )
    def post(self, request):
        try:
            return self._post(request)
        except BadRequest as bad:
            return Response(
                {"detail": bad.detail, "errors": bad.errors}, status=status.HTTP_400_BAD_REQUEST
            )

    def _post(self, request):
        user = request.user
        key = _key(request.data.get("key"))
        record = _record(request.data.get("record"))
        done = services.sync_receipt(actor=user, key=key)
        if done is not None:
            return self._answer(done)
        survey_round = get_object_or_404(
            SurveyRound.objects.visible_to(user).select_related("county"),
            pk=_id(record, "round", "轮次"),
        )
        toilet = get_object_or_404(
            Toilet.objects.visible_to(user).select_related("village"),
            pk=_id(record, "toilet", "厕所"),
        )
        base_version = _id(record, "base_version", "原记录版本号", required=False)
        resolution = record.get("resolution") or ""
        if resolution not in ("", services.RESOLUTION_CORRECTION):
            raise _bad("resolution", "resolution 只能为空或 correction。")
        photos = request.FILES.getlist("photos")

        inspection = Inspection(round=survey_round, toilet=toilet)
        data = {form: record.get(name) for name, form in FORM_FIELDS.items() if name in record}
        form = InspectionForm(data=data, instance=inspection)
        if not form.is_valid():
            errors = _errors(form)
            self._add_record_checks(form, errors)
            raise BadRequest(_first(errors), errors)
        try:
            result = services.sync_inspection(
                actor=user,
                key=key,
                inspection=form.instance,
                categories=form.cleaned_data["categories"],
                photos=photos,
                base_version=base_version,
                resolution=resolution,
                record=record,
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc) or None) from exc
        except ValidationError as error:
            errors = _service_errors(error)
            raise BadRequest(_first(errors), errors) from error
        except ConflictError as exc:
            # A change of state this record lost to (e.g. verified a moment ago).
            latest = Inspection.objects.filter(round=survey_round, toilet=toilet).first()
            body = {"status": "conflict", "reason": "recorded", "detail": exc.message}
            if latest is not None:
                if latest.status == "verified":
                    body["reason"] = "verified"
                body["current"] = current(latest)
            return Response(body, status=status.HTTP_409_CONFLICT)
        return self._answer(result)

    @staticmethod
    def _add_record_checks(form, errors):
        """The service's checks of the record as well, so one answer lists every bad field
        (the page shows them after the form's own)."""
        cleaned = form.cleaned_data
        if "usability" not in cleaned or "categories" not in cleaned:
            return
        try:
            services.check_inspection(form.instance, cleaned["categories"])
        except ValidationError as error:
            for key, messages in _service_errors(error).items():
                if key in errors:
                    continue
                # A model constraint's message (the sign-off) comes without its field: keep
                # it once, under the field the service names.
                top = errors.get("non_field_errors", [])
                if set(messages) & set(top):
                    top = [m for m in top if m not in messages]
                    if top:
                        errors["non_field_errors"] = top
                    else:
                        errors.pop("non_field_errors")
                if not (set(messages) & _all(errors)):
                    errors[key] = messages

    @staticmethod
    def _answer(result: services.SyncResult) -> Response:
        if result.status == "conflict":
            return Response(
                {
                    "status": "conflict",
                    "reason": result.reason,
                    "detail": result.detail,
                    "current": current(result.inspection),
                },
                status=status.HTTP_409_CONFLICT,
            )
        code = status.HTTP_200_OK if result.status == "already_stored" else status.HTTP_201_CREATED
        return Response({"status": result.status, "inspection": brief(result.inspection)}, code)


def _all(errors: dict) -> set:
    return {m for messages in errors.values() for m in messages}

"""The problem ledger in the API: entries (with their log and evidence on the detail), the
transition request, and the log on its own. ID and phone numbers are masked unless the
caller's role holds SEE_IDENTITY, as everywhere else."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.users import display_name
from rectification.checklists import checklist_for
from rectification.choices import Cause, ConsentMethod, FundingSource, ProblemClass
from rectification.models import (
    AcceptanceCheck,
    Consent,
    EvidencePhoto,
    LedgerEntry,
    LedgerLog,
    OverdueSnapshot,
)
from rectification.services import available_actions, decode_signature
from rectification.workflow import TRANSITIONS, action_label
from regions.choices import SEE_IDENTITY
from regions.scoping import has_capability
from toilets.identity import mask_id_number, mask_phone


def _url(context, name, *args) -> str:
    url = reverse(name, args=args)
    request = context.get("request")
    return request.build_absolute_uri(url) if request else url


class LedgerLogSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    action_label = serializers.SerializerMethodField()
    from_state_display = serializers.CharField(source="get_from_state_display", read_only=True)
    to_state_display = serializers.CharField(source="get_to_state_display", read_only=True)
    photos = serializers.SerializerMethodField(help_text="本次操作上传的整改照片编号")

    class Meta:
        model = LedgerLog
        fields = [
            "id", "entry", "at", "actor", "action", "action_label", "from_state",
            "from_state_display", "to_state", "to_state_display", "note", "photos",
        ]  # fmt: skip
        read_only_fields = fields

    def get_actor(self, row) -> str:
        return display_name(row.actor)

    def get_action_label(self, row) -> str:
        return action_label(row.action)

    def get_photos(self, row) -> list[int]:
        by_log = self.context.get("photo_ids_by_log")
        if by_log is not None:  # the entry's photos, already loaded
            return by_log.get(row.pk, [])
        return [photo.pk for photo in row.photos.all()]


class EvidencePhotoSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    location_source_display = serializers.CharField(
        source="get_location_source_display", read_only=True
    )
    is_far = serializers.BooleanField(read_only=True, help_text="距厕所登记位置过远")
    uploaded_by = serializers.SerializerMethodField()
    village_name = serializers.CharField(source="village.name", read_only=True)
    image = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = EvidencePhoto
        fields = [
            "id", "log", "kind", "kind_display", "taken_at", "latitude", "longitude",
            "location_source", "location_source_display", "distance_m", "is_far", "uploaded_by",
            "uploaded_at", "village_name", "sha256", "image", "thumbnail",
        ]  # fmt: skip
        read_only_fields = fields

    def get_uploaded_by(self, photo) -> str:
        return display_name(photo.uploaded_by)

    def get_image(self, photo) -> str:
        return _url(self.context, "rectification:evidence-photo", photo.pk, "full")

    def get_thumbnail(self, photo) -> str:
        return _url(self.context, "rectification:evidence-photo", photo.pk, "thumb")


class AcceptanceCheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = AcceptanceCheck
        fields = ["id", "log", "code", "standard", "text", "passed"]
        read_only_fields = fields


class ConsentSerializer(serializers.ModelSerializer):
    method_display = serializers.CharField(source="get_method_display", read_only=True)
    image = serializers.SerializerMethodField(help_text="签字图片地址")

    class Meta:
        model = Consent
        fields = ["id", "log", "method", "method_display", "signer_name", "signed_on", "image"]
        read_only_fields = fields

    def get_image(self, consent) -> str:
        return _url(self.context, "rectification:consent-image", consent.pk)


class NamedItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class RoundRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    needs = serializers.CharField(help_text="plan、photos、checklist、consent、reason 或空")


class ChecklistItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    standard = serializers.CharField()
    text = serializers.CharField()


class LedgerEntrySerializer(serializers.ModelSerializer):
    """An entry as the ledger list shows it."""

    toilet_name = serializers.SerializerMethodField()
    household_head_name = serializers.SerializerMethodField()
    household_id_number = serializers.SerializerMethodField(help_text="无查看权限时脱敏")
    household_phone = serializers.SerializerMethodField(help_text="无查看权限时脱敏")
    village_code = serializers.CharField(source="toilet.village.code", read_only=True)
    village_name = serializers.CharField(source="toilet.village.name", read_only=True)
    township_name = serializers.CharField(source="toilet.village.parent.name", read_only=True)
    round = RoundRefSerializer(source="found_in", read_only=True, help_text="发现轮次")
    usability_display = serializers.CharField(source="get_usability_display", read_only=True)
    categories = NamedItemSerializer(many=True, read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    problem_class_display = serializers.CharField(
        source="get_problem_class_display", read_only=True
    )
    cause_display = serializers.CharField(source="get_cause_display", read_only=True)
    funding_source_display = serializers.CharField(
        source="get_funding_source_display", read_only=True
    )
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = [
            "id", "toilet", "toilet_name", "household_head_name", "household_id_number",
            "household_phone", "village_code", "village_name", "township_name", "round",
            "usability", "usability_display", "categories", "state", "state_display",
            "problem_class", "problem_class_display", "cause", "cause_display", "measures",
            "tech_route", "funding_source", "funding_source_display", "deadline", "target_year",
            "responsible_person", "responsible_phone", "is_overdue", "version", "created_at",
            "state_changed_at", "closed_at", "reviewed_at",
        ]  # fmt: skip
        read_only_fields = fields

    def _sees_identity(self) -> bool:
        return has_capability(self.context["request"].user, SEE_IDENTITY)

    def get_toilet_name(self, entry) -> str:
        return str(entry.toilet)

    def get_household_head_name(self, entry) -> str | None:
        household = entry.toilet.household
        return household.head_name if household else None

    def get_household_id_number(self, entry) -> str | None:
        household = entry.toilet.household
        if household is None:
            return None
        value = household.id_number
        return value if self._sees_identity() else mask_id_number(value)

    def get_household_phone(self, entry) -> str | None:
        household = entry.toilet.household
        if household is None:
            return None
        value = household.phone
        return value if self._sees_identity() else mask_phone(value)

    def get_is_overdue(self, entry) -> bool:
        return entry.is_overdue()


class LedgerEntryDetailSerializer(LedgerEntrySerializer):
    """An entry with what the caller may do next, what acceptance checks, and its history."""

    actions = serializers.SerializerMethodField(help_text="当前用户可执行的操作")
    checklist = serializers.SerializerMethodField(help_text="该厕所技术模式的验收清单")
    log = serializers.SerializerMethodField()
    photos = EvidencePhotoSerializer(many=True, read_only=True)
    checks = AcceptanceCheckSerializer(many=True, read_only=True)
    consent = serializers.SerializerMethodField(help_text="最近一次销号的户主签字")

    class Meta(LedgerEntrySerializer.Meta):
        fields = [
            *LedgerEntrySerializer.Meta.fields,
            "actions", "checklist", "log", "photos", "checks", "consent",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ActionSerializer(many=True))
    def get_actions(self, entry) -> list:
        user = self.context["request"].user
        return [
            {"action": move.action, "label": move.label, "needs": move.needs}
            for move in available_actions(user, entry)
        ]

    @extend_schema_field(ChecklistItemSerializer(many=True))
    def get_checklist(self, entry) -> list:
        return [
            {"code": item.code, "standard": item.standard, "text": item.text}
            for item in checklist_for(entry.toilet.tech_type)
        ]

    @extend_schema_field(LedgerLogSerializer(many=True))
    def get_log(self, entry) -> list:
        by_log: dict[int, list[int]] = {}
        for photo in entry.photos.all():
            by_log.setdefault(photo.log_id, []).append(photo.pk)
        context = {**self.context, "photo_ids_by_log": by_log}
        return LedgerLogSerializer(entry.log.all(), many=True, context=context).data

    @extend_schema_field(ConsentSerializer(allow_null=True))
    def get_consent(self, entry) -> dict | None:
        consents = list(entry.consents.all())
        if not consents:
            return None
        return ConsentSerializer(consents[-1], context=self.context).data


# The transition request -------------------------------------------------------------------


class TransitionSerializer(serializers.Serializer):
    """One move of the close-out workflow. Send what the action needs: the plan (plan,
    replan), after-photos (quick_fix, rectify), the checklist (accept), the household's
    signature (close), a reason in ``note`` (return, reopen)."""

    action = serializers.ChoiceField(
        choices=[(move.action, move.label) for move in TRANSITIONS.values()],
        error_messages={
            "required": "请指定要执行的操作（action）。",
            "invalid_choice": "未知操作“{input}”。",
        },
    )
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="读取到的版本号；若台账已被他人处理则返回 409。",
        error_messages={"invalid": "版本号应为整数。"},
    )
    note = serializers.CharField(
        required=False, allow_blank=True, help_text="说明；退回、重新打开时必填原因"
    )
    # The plan (plan, replan). On replan, fields left out keep their current values.
    problem_class = serializers.ChoiceField(
        choices=ProblemClass.choices,
        required=False,
        allow_blank=True,
        error_messages={"invalid_choice": "整改类别不在可选范围内。"},
    )
    cause = serializers.ChoiceField(
        choices=Cause.choices,
        required=False,
        allow_blank=True,
        error_messages={"invalid_choice": "问题原因不在可选范围内。"},
    )
    measures = serializers.CharField(required=False, allow_blank=True)
    tech_route = serializers.CharField(required=False, allow_blank=True)
    funding_source = serializers.ChoiceField(
        choices=FundingSource.choices,
        required=False,
        allow_blank=True,
        error_messages={"invalid_choice": "资金来源不在可选范围内。"},
    )
    deadline = serializers.DateField(
        required=False,
        allow_null=True,
        error_messages={"invalid": "整改时限应为日期，格式 YYYY-MM-DD。"},
    )
    target_year = serializers.IntegerField(
        required=False, allow_null=True, error_messages={"invalid": "计划完成年度应为整数。"}
    )
    responsible_person = serializers.CharField(required=False, allow_blank=True)
    responsible_phone = serializers.CharField(required=False, allow_blank=True)
    # The evidence of rectification (quick_fix, rectify).
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="整改后照片（multipart，可多张）"
    )
    latitude = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="手机定位纬度（照片无定位时使用）",
        error_messages={"invalid": "纬度应为数字。"},
    )
    longitude = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="手机定位经度",
        error_messages={"invalid": "经度应为数字。"},
    )
    # The acceptance (accept): every item of the entry's checklist, passed or not.
    checklist = serializers.JSONField(
        required=False,
        help_text="验收清单：{项目编号: true/false}；multipart 中为 JSON 字符串",
        error_messages={"invalid": '验收清单应为 JSON 对象，如 {"3836-leak": true}。'},
    )
    # The household's consent (close).
    consent_method = serializers.ChoiceField(
        choices=ConsentMethod.choices,
        required=False,
        help_text="不填时按所给签字图片推断",
        error_messages={"invalid_choice": "请选择签字方式。"},
    )
    signer_name = serializers.CharField(required=False, allow_blank=True)
    signed_on = serializers.DateField(
        required=False,
        allow_null=True,
        error_messages={"invalid": "签字日期应为日期，格式 YYYY-MM-DD。"},
    )
    signature = serializers.CharField(
        required=False, allow_blank=True, help_text="屏幕签字：data:image/png;base64,…"
    )
    paper_photo = serializers.FileField(required=False, help_text="签字纸质件照片")

    def validate_checklist(self, value):
        if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
            raise serializers.ValidationError(
                "验收清单应为 JSON 对象，每项为 true（合格）或 false（不合格）。"
            )
        return value

    def validate_signature(self, value):
        if not value:
            return None
        try:
            return decode_signature(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error

    def validate(self, attrs):
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            raise serializers.ValidationError({"location": ["请同时提供纬度和经度。"]})
        return attrs


class OverdueSnapshotSerializer(serializers.ModelSerializer):
    township = serializers.SlugRelatedField(slug_field="code", read_only=True)
    township_name = serializers.CharField(source="township.name", read_only=True)
    entry_ids = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text="当日逾期的台账编号"
    )

    class Meta:
        model = OverdueSnapshot
        fields = ["id", "day", "township", "township_name", "count", "entry_ids"]
        read_only_fields = fields

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.errors import ConflictError
from core.web.api import Conflict, DisplayNameField, raise_as_drf
from surveys import services
from surveys.models import (
    Inspection,
    InspectionFlag,
    InspectionPhoto,
    ProblemCategory,
    ReconciliationNote,
    ReportTemplate,
    SpotCheckItem,
    SpotCheckSample,
    SurveyRound,
)
from toilets.models import Toilet


class ScopedRoundField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return SurveyRound.objects.visible_to(self.context["request"].user)


class SurveyRoundSerializer(serializers.ModelSerializer):
    county = serializers.SlugRelatedField(slug_field="code", read_only=True)
    previous = ScopedRoundField(required=False, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = SurveyRound
        fields = [
            "id", "name", "kind", "kind_display", "county", "start_date", "end_date",
            "previous", "template", "status", "status_display", "opened_at", "closed_at",
        ]  # fmt: skip
        read_only_fields = ["status", "opened_at", "closed_at"]

    def validate(self, attrs):
        instance = SurveyRound(county=self.context["county"], **attrs)
        try:
            instance.full_clean(exclude=["created_by"])
        except DjangoValidationError as error:
            raise_as_drf(error)
        self._instance = instance
        return attrs

    def create(self, validated_data):
        try:
            return services.create_round(
                actor=self.context["request"].user, survey_round=self._instance
            )
        except DjangoValidationError as error:
            raise_as_drf(error)


class PhotoSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = InspectionPhoto
        fields = ["id", "image", "thumbnail", "sha256", "taken_at", "latitude", "longitude"]

    def _url(self, photo, size) -> str:
        url = reverse("surveys:photo", args=[photo.pk, size])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_image(self, photo) -> str:
        return self._url(photo, "full")

    def get_thumbnail(self, photo) -> str:
        return self._url(photo, "thumb")


class ScopedToiletField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Toilet.objects.visible_to(self.context["request"].user)


class InspectionSerializer(serializers.ModelSerializer):
    round = ScopedRoundField()
    toilet = ScopedToiletField()
    categories = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=ProblemCategory.objects.all(), required=False
    )
    surveyor = serializers.CharField(source="surveyor.username", read_only=True)
    usability_display = serializers.CharField(source="get_usability_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    photos = PhotoSerializer(many=True, read_only=True)
    version = serializers.IntegerField(
        required=False, help_text="修改时带上读取到的版本号；若记录已被他人修改则返回 409。"
    )

    class Meta:
        model = Inspection
        fields = [
            "id", "round", "toilet", "surveyor", "partner_name", "inspected_at",
            "household_present", "check_method", "usability", "usability_display", "categories",
            "minor_fixes", "notes", "evidence_reason", "signed", "status", "status_display",
            "return_reason", "verified_at", "photos", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "status", "return_reason", "verified_at", "created_at", "updated_at",
            "evidence_reason",
        ]  # fmt: skip
        validators = []  # (round, toilet) uniqueness is the service's, with a 409

    def _save(self, instance, validated_data):
        categories = validated_data.pop("categories", None)
        expected_version = validated_data.pop("version", None)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        if categories is None:
            categories = list(instance.categories.all()) if instance.pk else []
        try:
            return services.save_inspection(
                actor=self.context["request"].user,
                inspection=instance,
                categories=categories,
                expected_version=expected_version,
            )
        except DjangoValidationError as error:
            raise_as_drf(error)
        except ConflictError as exc:
            raise Conflict(str(getattr(exc, "message", exc))) from exc

    def create(self, validated_data):
        return self._save(Inspection(), validated_data)

    def update(self, instance, validated_data):
        if validated_data.get("version") is None:
            # Never overwrite blindly: the client must say which version it edited.
            raise serializers.ValidationError(
                {"version": ["修改时请带上读取到的版本号（version）。"]}
            )
        validated_data.pop("round", None)
        validated_data.pop("toilet", None)
        return self._save(instance, validated_data)


# Reference data and the round's side records -----------------------------------------------

YEAR_BUCKETS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "label": {"type": "string"},
            "from": {"type": "integer", "nullable": True, "description": "起始年份（含）"},
            "to": {"type": "integer", "nullable": True, "description": "截止年份（含）"},
        },
        "required": ["label", "from", "to"],
    },
}


@extend_schema_field(YEAR_BUCKETS_SCHEMA)
class YearBucketsField(serializers.JSONField):
    pass


class ProblemCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = ProblemCategory
        fields = ["code", "name", "column"]
        read_only_fields = fields


class ReportTemplateSerializer(serializers.ModelSerializer):
    year_buckets = YearBucketsField(read_only=True, help_text="建造年份分段（汇总表第22–28列）")

    class Meta:
        model = ReportTemplate
        fields = ["id", "name", "year_buckets", "is_default"]
        read_only_fields = fields


class InspectionFlagSerializer(serializers.ModelSerializer):
    round = serializers.IntegerField(source="inspection.round_id", read_only=True)
    toilet = serializers.IntegerField(source="inspection.toilet_id", read_only=True)
    village = serializers.CharField(source="inspection.toilet.village.code", read_only=True)
    village_name = serializers.CharField(source="inspection.toilet.village.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    cleared = serializers.SerializerMethodField(help_text="已核实")
    cleared_by = DisplayNameField(allow_null=True, help_text="核实人")

    class Meta:
        model = InspectionFlag
        fields = [
            "id", "inspection", "round", "toilet", "village", "village_name", "kind",
            "kind_display", "detail", "cleared", "cleared_by", "cleared_note",
        ]  # fmt: skip
        read_only_fields = fields

    def get_cleared(self, flag) -> bool:
        return flag.cleared_by_id is not None


class ClearFlagSerializer(serializers.Serializer):
    note = serializers.CharField(help_text="核实说明（如：已电话核实农户、已到现场查看）")


class SpotCheckSampleSerializer(serializers.ModelSerializer):
    round_name = serializers.CharField(source="round.name", read_only=True)
    county = serializers.CharField(source="round.county.code", read_only=True)
    created_by = DisplayNameField()
    is_published = serializers.BooleanField(read_only=True)
    seed = serializers.SerializerMethodField(
        help_text="随机种子；公布前只有组织抽查的单位可见（否则为 null）"
    )

    class Meta:
        model = SpotCheckSample
        fields = [
            "id", "round", "round_name", "county", "campaign", "per_village", "percent", "seed",
            "created_by", "created_at", "published_at", "is_published",
        ]  # fmt: skip
        read_only_fields = fields

    def get_seed(self, sample) -> int | None:
        # With the seed, the households to be re-checked could be worked out in advance.
        return sample.seed if getattr(sample, "results_open", False) else None


class SpotCheckItemSerializer(serializers.ModelSerializer):
    round = serializers.IntegerField(source="sample.round_id", read_only=True)
    toilet = serializers.IntegerField(source="original.toilet_id", read_only=True)
    village = serializers.CharField(source="original.toilet.village.code", read_only=True)
    village_name = serializers.CharField(source="original.toilet.village.name", read_only=True)
    inspector = DisplayNameField(allow_null=True, help_text="抽查人")
    usability_display = serializers.CharField(source="get_usability_display", read_only=True)
    categories = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = SpotCheckItem
        fields = [
            "id", "sample", "round", "original", "toilet", "village", "village_name", "inspector",
            "usability", "usability_display", "categories", "notes", "checked_at", "differs",
        ]  # fmt: skip
        read_only_fields = fields


class ReconciliationNoteSerializer(serializers.ModelSerializer):
    village = serializers.SlugRelatedField(slug_field="code", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    author = DisplayNameField()

    class Meta:
        model = ReconciliationNote
        fields = [
            "id", "round", "village", "village_name", "change_key", "reason", "author",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields

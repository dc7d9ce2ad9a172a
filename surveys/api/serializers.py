from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework import serializers

from regions.api.base import Conflict, raise_as_drf
from surveys import services
from surveys.models import Inspection, InspectionPhoto, ProblemCategory, SurveyRound
from toilets.models import Toilet
from toilets.services import StaleEditError


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
            "minor_fixes", "notes", "signed", "status", "status_display", "return_reason",
            "verified_at", "photos", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["status", "return_reason", "verified_at", "created_at", "updated_at"]
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
        except (StaleEditError, services.ConflictError) as exc:
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

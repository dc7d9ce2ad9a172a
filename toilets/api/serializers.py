from rest_framework import serializers

from core.web.api import ModelCleanSerializer
from regions.choices import SEE_IDENTITY
from regions.models import Region
from regions.scoping import has_capability
from toilets.identity import mask_id_number, mask_phone
from toilets.models import Household, Toilet
from toilets.services import save_household, save_toilet


class ScopedSlugRelatedField(serializers.SlugRelatedField):
    """A related object given by code, looked up only within the caller's scope."""

    def get_queryset(self):
        return Region.objects.visible_to(self.context["request"].user)


class ScopedHouseholdField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Household.objects.visible_to(self.context["request"].user)


class HouseholdSerializer(ModelCleanSerializer):
    village = ScopedSlugRelatedField(slug_field="code", help_text="行政村的 12 位区划代码")
    village_name = serializers.CharField(source="village.name", read_only=True)
    occupancy_display = serializers.CharField(source="get_occupancy_display", read_only=True)

    class Meta:
        model = Household
        fields = [
            "id",
            "village",
            "village_name",
            "group_name",
            "head_name",
            "id_number",
            "phone",
            "address",
            "occupancy",
            "occupancy_display",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not has_capability(self.context["request"].user, SEE_IDENTITY):
            data["id_number"] = mask_id_number(instance.id_number)
            data["phone"] = mask_phone(instance.phone)
        return data

    def save_instance(self, instance, *, actor, expected_version):
        return save_household(actor=actor, household=instance, expected_version=expected_version)


class ToiletSerializer(ModelCleanSerializer):
    village = ScopedSlugRelatedField(
        slug_field="code", required=False, help_text="公厕所在行政村代码；户厕随农户自动确定"
    )
    household = ScopedHouseholdField(required=False, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    tech_type_display = serializers.CharField(source="get_tech_type_display", read_only=True)
    flush_kind_display = serializers.CharField(source="get_flush_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Toilet
        fields = [
            "id",
            "village",
            "household",
            "kind",
            "kind_display",
            "name",
            "tech_type",
            "tech_type_display",
            "flush_kind",
            "flush_kind_display",
            "placement",
            "build_year",
            "funding",
            "lead_department",
            "latitude",
            "longitude",
            "status",
            "status_display",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"build_year": {"min_value": 1950, "max_value": 2100}}

    def save_instance(self, instance, *, actor, expected_version):
        return save_toilet(actor=actor, toilet=instance, expected_version=expected_version)

"""Filters shared by the list pages, the exports and the API."""

import django_filters
from django import forms
from django.db.models import Q

from regions.choices import SEE_IDENTITY, Level
from regions.filters import RegionChoiceFilter
from regions.scoping import has_capability

from .choices import FlushKind, Funding, Occupancy, TechType, ToiletKind, ToiletStatus
from .identity import normalize_id_number
from .models import Household, Toilet


class HouseholdFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="搜索", method="search", help_text="户主、身份证号、电话、村、村民小组"
    )
    township = RegionChoiceFilter(
        label="乡镇",
        level=Level.TOWNSHIP,
        field_name="village__parent",
    )
    village = RegionChoiceFilter(label="行政村", level=Level.VILLAGE)
    group_name = django_filters.CharFilter(label="村民小组", lookup_expr="icontains")
    occupancy = django_filters.ChoiceFilter(label="居住情况", choices=Occupancy.choices)

    class Meta:
        model = Household
        fields = ["q", "township", "village", "group_name", "occupancy"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        matches = (
            Q(head_name__icontains=value)
            | Q(village__name__icontains=value)
            | Q(group_name__icontains=value)
        )
        if has_capability(getattr(self.request, "user", None), SEE_IDENTITY):
            numbers = Q(id_number__contains=normalize_id_number(value)) | Q(phone__contains=value)
        else:
            # Users shown masked numbers find a household by its whole number only, so
            # partial searches cannot reveal the hidden digits.
            numbers = Q(id_number=normalize_id_number(value)) | Q(phone=value)
        return queryset.filter(matches | numbers)


class ToiletFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="搜索", method="search", help_text="户主、公厕名称、村")
    township = RegionChoiceFilter(
        label="乡镇",
        level=Level.TOWNSHIP,
        field_name="village__parent",
    )
    village = RegionChoiceFilter(label="行政村", level=Level.VILLAGE)
    household = django_filters.NumberFilter(
        label="农户", field_name="household_id", widget=forms.HiddenInput
    )
    kind = django_filters.ChoiceFilter(label="类别", choices=ToiletKind.choices)
    tech_type = django_filters.ChoiceFilter(label="技术模式", choices=TechType.choices)
    flush_kind = django_filters.ChoiceFilter(label="水冲/旱厕", choices=FlushKind.choices)
    funding = django_filters.ChoiceFilter(label="资金来源", choices=Funding.choices)
    status = django_filters.ChoiceFilter(label="状态", choices=ToiletStatus.choices)
    built_from = django_filters.NumberFilter(
        label="建造年份起", field_name="build_year", lookup_expr="gte"
    )
    built_to = django_filters.NumberFilter(
        label="建造年份止", field_name="build_year", lookup_expr="lte"
    )

    class Meta:
        model = Toilet
        fields = ["q", "township", "village", "household", "kind", "tech_type", "flush_kind"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(household__head_name__icontains=value)
            | Q(name__icontains=value)
            | Q(village__name__icontains=value)
        )

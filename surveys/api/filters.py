"""API filters of the survey side records. Rounds, samples and regions are looked up within
the caller's scope: another region's id or code is an invalid choice (400)."""

import django_filters

from regions.api.filters import MineFilter, RegionPrefixFilter, date_range, scoped
from surveys.choices import Usability
from surveys.models import (
    FlagKind,
    InspectionFlag,
    ReconciliationNote,
    ReportTemplate,
    SpotCheckItem,
    SpotCheckSample,
    SurveyRound,
)


class ReportTemplateFilter(django_filters.FilterSet):
    is_default = django_filters.BooleanFilter(label="默认模板")

    class Meta:
        model = ReportTemplate
        fields = ["is_default"]


class InspectionFlagFilter(django_filters.FilterSet):
    round = django_filters.ModelChoiceFilter(
        label="轮次", queryset=scoped(SurveyRound), field_name="inspection__round"
    )
    region = RegionPrefixFilter("inspection__toilet__village__code")
    kind = django_filters.ChoiceFilter(label="类型", choices=FlagKind.choices)
    cleared = django_filters.BooleanFilter(
        label="已核实", field_name="cleared_by", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = InspectionFlag
        fields = ["round", "region", "kind", "cleared"]


class SpotCheckSampleFilter(django_filters.FilterSet):
    round = django_filters.ModelChoiceFilter(label="轮次", queryset=scoped(SurveyRound))
    published = django_filters.BooleanFilter(
        label="已公布", field_name="published_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = SpotCheckSample
        fields = ["round", "published"]


def _visible_samples(request):
    from surveys.spotchecks import samples_visible_to

    if request is None:
        return SpotCheckSample.objects.none()
    return samples_visible_to(request.user)


class SpotCheckItemFilter(django_filters.FilterSet):
    sample = django_filters.ModelChoiceFilter(label="样本", queryset=_visible_samples)
    round = django_filters.ModelChoiceFilter(
        label="轮次", queryset=scoped(SurveyRound), field_name="sample__round"
    )
    region = RegionPrefixFilter("original__toilet__village__code")
    checked = django_filters.BooleanFilter(
        label="已抽查", field_name="checked_at", lookup_expr="isnull", exclude=True
    )
    differs = django_filters.BooleanFilter(label="与原记录不一致")
    usability = django_filters.ChoiceFilter(label="抽查使用情况", choices=Usability.choices)
    mine = MineFilter("inspector", label="分配给本人的")

    class Meta:
        model = SpotCheckItem
        fields = ["sample", "round", "region", "checked", "differs", "usability", "mine"]


class ReconciliationNoteFilter(django_filters.FilterSet):
    round = django_filters.ModelChoiceFilter(label="轮次", queryset=scoped(SurveyRound))
    region = RegionPrefixFilter("village__code")
    since, until = date_range("created_at")

    class Meta:
        model = ReconciliationNote
        fields = ["round", "region", "since", "until"]

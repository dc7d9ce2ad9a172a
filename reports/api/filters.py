import django_filters

from regions.api.filters import MineFilter, RegionPrefixFilter, date_range, scoped
from reports.jobs import kind_labels
from reports.models import (
    JobStatus,
    ProgressTarget,
    ReportJob,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from surveys.models import SurveyRound


class SubmissionFilter(django_filters.FilterSet):
    round = django_filters.ModelChoiceFilter(
        label="轮次", queryset=scoped(SurveyRound), field_name="survey_round"
    )
    region = RegionPrefixFilter("region__code")
    kind = django_filters.ChoiceFilter(label="类型", choices=SubmissionKind.choices)
    status = django_filters.ChoiceFilter(label="状态", choices=SubmissionStatus.choices)
    since, until = date_range("submitted_at")

    class Meta:
        model = Submission
        fields = ["round", "region", "kind", "status", "since", "until"]


class ReportJobFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label="类型", choices=list(kind_labels().items()))
    status = django_filters.ChoiceFilter(label="状态", choices=JobStatus.choices)
    region = RegionPrefixFilter("region__code")
    mine = MineFilter("created_by", label="只看本人发起的")
    since, until = date_range("created_at")

    class Meta:
        model = ReportJob
        fields = ["kind", "status", "region", "mine", "since", "until"]


class ProgressTargetFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(label="年度")
    region = RegionPrefixFilter("village__code")

    class Meta:
        model = ProgressTarget
        fields = ["year", "region"]

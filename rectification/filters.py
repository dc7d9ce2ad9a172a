"""Filters of the problem ledger, shared by the list page, its export and the API. Regions and
rounds are looked up within the caller's scope: another region's code is an invalid choice."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django_filters.widgets import BooleanWidget

from regions.choices import Level
from regions.filters import RegionChoiceFilter, scoped
from surveys.models import ProblemCategory, SurveyRound

from .choices import OVERDUE_STATES, LedgerState, ProblemClass
from .models import LedgerEntry, LedgerLog

# The township's and the village's work queues: a named preset of the state filter.
QUEUES = {
    "to_plan": ("待制定方案", {"state": LedgerState.REGISTERED}),
    "to_rectify": ("待整改", {"state__in": [LedgerState.PLANNED, LedgerState.IN_PROGRESS]}),
    "to_accept": ("待验收", {"state": LedgerState.RECTIFIED}),
    "to_close": ("待销号", {"state": LedgerState.ACCEPTED}),
    "to_review": ("待复核", {"state": LedgerState.CLOSED, "reviewed_at__isnull": True}),
    "overdue": ("已逾期", None),  # computed from today's date
}


class _OverdueWidget(BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "全部"), ("true", "已逾期"), ("false", "未逾期")]


class LedgerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="搜索", method="search", help_text="户主、公厕名称、村")
    township = RegionChoiceFilter(
        label="乡镇",
        level=Level.TOWNSHIP,
        field_name="toilet__village__parent",
    )
    village = RegionChoiceFilter(
        label="行政村",
        level=Level.VILLAGE,
        field_name="toilet__village",
    )
    round = django_filters.ModelChoiceFilter(
        label="发现轮次", queryset=scoped(SurveyRound), field_name="found_in"
    )
    state = django_filters.ChoiceFilter(label="状态", choices=LedgerState.choices)
    problem_class = django_filters.ChoiceFilter(label="整改类别", choices=ProblemClass.choices)
    category = django_filters.ModelChoiceFilter(
        label="问题类型",
        queryset=ProblemCategory.objects.all(),
        to_field_name="code",
        field_name="categories",
    )
    overdue = django_filters.BooleanFilter(
        label="是否逾期", method="filter_overdue", widget=_OverdueWidget
    )
    queue = django_filters.ChoiceFilter(
        label="待办",
        choices=[(key, label) for key, (label, _) in QUEUES.items()],
        method="filter_queue",
    )

    class Meta:
        model = LedgerEntry
        fields = [
            "q", "township", "village", "round", "state", "problem_class", "category", "overdue",
            "queue",
        ]  # fmt: skip

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(toilet__household__head_name__icontains=value)
            | Q(toilet__name__icontains=value)
            | Q(toilet__village__name__icontains=value)
        )

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        overdue = Q(state__in=OVERDUE_STATES, deadline__lt=today)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_queue(self, queryset, name, value):
        if value == "overdue":
            return queryset.overdue()
        return queryset.filter(**QUEUES[value][1])


class LedgerLogFilter(django_filters.FilterSet):
    township = RegionChoiceFilter(
        label="乡镇",
        level=Level.TOWNSHIP,
        field_name="entry__toilet__village__parent",
    )
    village = RegionChoiceFilter(
        label="行政村",
        level=Level.VILLAGE,
        field_name="entry__toilet__village",
    )
    entry = django_filters.NumberFilter(label="台账编号", field_name="entry_id")
    to_state = django_filters.ChoiceFilter(label="变更后状态", choices=LedgerState.choices)
    since = django_filters.DateFilter(label="起始日期", field_name="at", lookup_expr="date__gte")
    until = django_filters.DateFilter(label="截止日期", field_name="at", lookup_expr="date__lte")

    class Meta:
        model = LedgerLog
        fields = ["township", "village", "entry", "to_state", "since", "until"]

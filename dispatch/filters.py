"""Filters of the work-process problem register, over the problems the user may see. A
township is looked up within the caller's scope: another region's code is an invalid choice
(nothing listed, never everything)."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django_filters.widgets import BooleanWidget

from regions.choices import Level
from regions.filters import RegionChoiceFilter

from .choices import WorkProblemCategory, WorkProblemState
from .models import WorkProblem


class _OverdueWidget(BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "全部"), ("true", "已逾期"), ("false", "未逾期")]


class WorkProblemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="搜索", method="search", help_text="问题、描述、责任人")
    state = django_filters.ChoiceFilter(label="状态", choices=WorkProblemState.choices)
    category = django_filters.ChoiceFilter(label="问题类别", choices=WorkProblemCategory.choices)
    township = RegionChoiceFilter(label="乡镇", level=Level.TOWNSHIP, field_name="region")
    overdue = django_filters.BooleanFilter(
        label="是否逾期", method="filter_overdue", widget=_OverdueWidget
    )

    class Meta:
        model = WorkProblem
        fields = ["q", "state", "category", "township", "overdue"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(description__icontains=value)
            | Q(responsible__icontains=value)
        )

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = ~Q(state=WorkProblemState.CLOSED) & Q(deadline__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

"""API filters for inspections: every related id is looked up within the caller's scope, so
another region's id is simply an invalid choice (never a hint that it exists)."""

import django_filters

from regions.filters import scoped
from toilets.models import Toilet

from .choices import InspectionStatus, Usability
from .models import Inspection, SurveyRound


class InspectionFilter(django_filters.FilterSet):
    round = django_filters.ModelChoiceFilter(queryset=scoped(SurveyRound))
    toilet = django_filters.ModelChoiceFilter(queryset=scoped(Toilet))
    status = django_filters.ChoiceFilter(choices=InspectionStatus.choices)
    usability = django_filters.ChoiceFilter(choices=Usability.choices)

    class Meta:
        model = Inspection
        fields = ["round", "toilet", "status", "usability"]

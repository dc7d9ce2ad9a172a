"""The demo county's open survey round, so that surveyors can start on their worklist at once."""

import datetime

from django.utils import timezone

from .choices import RoundKind, RoundStatus
from .models import ReportTemplate, SurveyRound

DEMO_ROUND = "2026年农村户厕问题摸排"


def open_round(county) -> SurveyRound:
    """The demo round (open unless the county already has another open round)."""
    existing = SurveyRound.objects.filter(county=county, name=DEMO_ROUND).first()
    if existing is not None:
        return existing
    status = (
        RoundStatus.DRAFT
        if SurveyRound.objects.filter(county=county, status=RoundStatus.OPEN).exists()
        else RoundStatus.OPEN
    )
    return SurveyRound.objects.create(
        county=county,
        name=DEMO_ROUND,
        kind=RoundKind.SURVEY,
        start_date=datetime.date(2026, 11, 1),
        end_date=datetime.date(2026, 12, 31),
        template=ReportTemplate.objects.get(is_default=True),
        status=status,
        opened_at=timezone.now() if status == RoundStatus.OPEN else None,
    )

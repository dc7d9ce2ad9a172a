from celery import shared_task
from django.utils import timezone

from .models import BriefingKind
from .periods import is_last_working_day
from .services import generate_scheduled


def weekly(now=None) -> int:
    """Friday 15:00 (Celery beat): the week's briefing for every briefed county, then for the
    cities and provinces above them (counties, cities as rows). Returns how many were made."""
    return len(generate_scheduled(BriefingKind.WEEK, now))


def monthly(now=None) -> int:
    """Weekdays 15:00 (Celery beat): on the month's last working day, the month's briefings
    (counties, then their cities and provinces)."""
    now = now or timezone.now()
    if not is_last_working_day(timezone.localdate(now)):
        return 0
    return len(generate_scheduled(BriefingKind.MONTH, now))


@shared_task(name="dispatch.weekly_briefings")
def weekly_briefings_task() -> int:
    return weekly()


@shared_task(name="dispatch.monthly_briefings")
def monthly_briefings_task() -> int:
    return monthly()

from celery import shared_task
from django.utils import timezone

from core.queue import requeue

from .jobs import (
    SOFT_TIME_LIMIT,
    TIME_LIMIT,
    run_unit_briefing,
    sweep_interrupted,
    waiting_too_long,
)
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


@shared_task(name="dispatch.unit_briefing", soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def unit_briefing_task(job_id: int) -> str:
    """Generate one city's or province's briefing (``dispatch.jobs.run_unit_briefing``)."""
    return run_unit_briefing(job_id)


@shared_task(name="dispatch.sweep_jobs")
def sweep_jobs_task() -> dict:
    """Beat, every few minutes: fail the briefing jobs whose worker died, queue again those
    whose message may have been lost (a duplicate does nothing: the claim takes a job once)."""
    failed = sweep_interrupted()
    waiting = waiting_too_long()
    requeue([(unit_briefing_task, waiting)], "briefing job")
    return {"failed": failed, "queued": waiting}

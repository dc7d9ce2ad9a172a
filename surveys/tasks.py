from celery import shared_task

from core.queue import requeue

from .campaign_jobs import (
    SOFT_TIME_LIMIT,
    TIME_LIMIT,
    run_draw,
    sweep_interrupted,
    waiting_too_long,
)


@shared_task(name="surveys.draw_campaign", soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def draw_campaign_task(job_id: int) -> str:
    """Draw one city's or province's spot-check campaign (``campaign_jobs.run_draw``)."""
    return run_draw(job_id)


@shared_task(name="surveys.sweep_draws")
def sweep_draws_task() -> dict:
    """Beat, every few minutes: fail the draws whose worker died, queue again those whose
    message may have been lost (a duplicate does nothing: the claim takes a job once)."""
    failed = sweep_interrupted()
    waiting = waiting_too_long()
    requeue([(draw_campaign_task, waiting)], "campaign draw")
    return {"failed": failed, "queued": waiting}

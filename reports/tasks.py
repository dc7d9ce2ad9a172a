from celery import shared_task

from core.queue import requeue

from .jobs import run_job, sweep_interrupted, waiting_too_long


@shared_task(name="reports.run_job")
def run_report_job(job_id: int) -> str:
    """Run one report job (see reports.jobs.run_job); takes the id, never the object."""
    return run_job(job_id)


@shared_task(name="reports.sweep_jobs")
def sweep_jobs_task() -> dict:
    """Beat, every few minutes: fail the jobs whose worker died, queue again the jobs whose
    message may have been lost (a duplicate does nothing: the claim takes a job once)."""
    failed = sweep_interrupted()
    waiting = waiting_too_long()
    requeue([(run_report_job, waiting)], "report")
    return {"failed": failed, "queued": waiting}

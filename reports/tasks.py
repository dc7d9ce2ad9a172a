from celery import shared_task

from .jobs import run_job


@shared_task(name="reports.run_job")
def run_report_job(job_id: int) -> str:
    """Run one report job (see reports.jobs.run_job); takes the id, never the object."""
    return run_job(job_id)

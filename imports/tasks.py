from celery import shared_task

from core.queue import requeue

from .jobs import (
    SOFT_TIME_LIMIT,
    TIME_LIMIT,
    run_check,
    run_import,
    sweep_interrupted,
    waiting_too_long,
)


@shared_task(name="imports.run_check", soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def run_check_task(job_id: int) -> str:
    """Check an uploaded ledger (dry run); see imports.jobs.run. Takes the id, never the object."""
    return run_check(job_id)


@shared_task(name="imports.run_import", soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def run_import_task(job_id: int) -> str:
    """Import a checked ledger the user confirmed; see imports.jobs.run."""
    return run_import(job_id)


@shared_task(name="imports.sweep_jobs")
def sweep_jobs_task() -> dict:
    """Beat, every few minutes: fail the jobs whose worker died, queue again the jobs whose
    message may have been lost (a duplicate does nothing: the claim takes a job once)."""
    failed = sweep_interrupted()
    checks, imports = waiting_too_long()
    requeue([(run_check_task, checks), (run_import_task, imports)], "import")
    return {"failed": failed, "checks": checks, "imports": imports}

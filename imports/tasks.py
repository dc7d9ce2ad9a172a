from celery import shared_task

from .jobs import run_check, run_import


@shared_task(name="imports.run_check")
def run_check_task(job_id: int) -> str:
    """Check an uploaded ledger (dry run); see imports.jobs.run. Takes the id, never the object."""
    return run_check(job_id)


@shared_task(name="imports.run_import")
def run_import_task(job_id: int) -> str:
    """Import a checked ledger the user confirmed; see imports.jobs.run."""
    return run_import(job_id)

from celery import shared_task

from .jobs import run_check, run_import

# A check or an import of the biggest ledger takes minutes; past these it is stopped (the
# soft limit ends the job as failed with a message, the hard one kills the task). The read of
# the file itself has its own, tighter limits (imports.reader.read_ledger), eager or not.
SOFT_TIME_LIMIT = 25 * 60
TIME_LIMIT = 30 * 60


@shared_task(name="imports.run_check", soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def run_check_task(job_id: int) -> str:
    """Check an uploaded ledger (dry run); see imports.jobs.run. Takes the id, never the object."""
    return run_check(job_id)


@shared_task(name="imports.run_import", soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def run_import_task(job_id: int) -> str:
    """Import a checked ledger the user confirmed; see imports.jobs.run."""
    return run_import(job_id)

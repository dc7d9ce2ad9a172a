from celery import shared_task

from .overdue import record_overdue


@shared_task(name="rectification.record_overdue")
def record_overdue_task() -> int:
    """Daily (Celery beat): record each township's overdue ledger entries."""
    return record_overdue()

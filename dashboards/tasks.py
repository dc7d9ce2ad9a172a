from celery import shared_task

from .snapshots import record_snapshots


@shared_task(name="dashboards.record_snapshots")
def record_snapshots_task() -> int:
    """Daily (Celery beat): record each township's open and closed ledger entries."""
    return record_snapshots()

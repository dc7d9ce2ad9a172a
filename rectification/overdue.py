"""Overdue entries per township, and the daily record of them behind the dashboard's trend."""

import logging

from django.db import transaction
from django.db.models.functions import Substr
from django.utils import timezone

from regions.choices import Level
from regions.models import Region

from .models import LedgerEntry, OverdueSnapshot

logger = logging.getLogger(__name__)


def overdue_by_township(entries, today=None) -> dict[str, list[int]]:
    """Overdue entry ids of ``entries`` keyed by their township's 9-digit prefix."""
    rows = (
        entries.overdue(today)
        .annotate(township_prefix=Substr("toilet__village__code", 1, 9))
        .values_list("township_prefix", "pk")
        .order_by("pk")
    )
    result: dict[str, list[int]] = {}
    for prefix, pk in rows:
        result.setdefault(prefix, []).append(pk)
    return result


@transaction.atomic
def record_overdue(today=None) -> int:
    """Record today's overdue list for every township (a zero too, so the trend has no gaps);
    re-running on the same day replaces that day's record. Returns the number of townships."""
    today = today or timezone.localdate()
    overdue = overdue_by_township(LedgerEntry.objects.all(), today)
    townships = Region.objects.filter(level=Level.TOWNSHIP, abolished=False)
    count = 0
    for township in townships.iterator():
        ids = overdue.get(township.prefix, [])
        OverdueSnapshot.objects.update_or_create(
            day=today, township=township, defaults={"count": len(ids), "entry_ids": ids}
        )
        count += 1
    logger.info("overdue recorded for %s townships on %s", count, today)
    return count

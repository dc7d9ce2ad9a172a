"""The daily record of each township's ledger (``LedgerSnapshot``) behind the 整改进度趋势
chart: written by the beat task every evening, backfilled from the ledger logs for the days
before the task ran, and, for a region with no snapshot yet, replayed from the logs on the
fly by the chart itself (``replay``: the same function, so the two never disagree)."""

import datetime
import logging
from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Substr
from django.utils import timezone

from rectification.choices import OPEN_STATES, LedgerState
from rectification.models import LedgerEntry, LedgerLog
from regions.choices import Level
from regions.codes import LEVEL_DIGITS
from regions.models import Region

from .models import LedgerSnapshot

logger = logging.getLogger(__name__)
TOWNSHIP_DIGITS = LEVEL_DIGITS[Level.TOWNSHIP]


def open_closed(by_state: dict) -> tuple[int, int]:
    """Open (any state before 销号, withdrawn ones never) and closed out, from state counts."""
    return sum(by_state.get(s, 0) for s in OPEN_STATES), by_state.get(LedgerState.CLOSED, 0)


def end_of(day: datetime.date) -> datetime.datetime:
    """The first instant after ``day`` in the county's time."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min)) + (
        datetime.timedelta(days=1)
    )


def _write(day, township, by_state):
    opened, closed = open_closed(by_state)
    LedgerSnapshot.objects.update_or_create(
        day=day,
        township=township,
        defaults={"open": opened, "closed": closed, "by_state": dict(by_state)},
    )


@transaction.atomic
def record_snapshots(day=None) -> int:
    """Record every township's ledger as it stands now, as ``day`` (today); a township
    without entries gets zeros, so the trend has no gaps. Re-running the same day replaces
    that day's record. One grouped query over the ledger. Returns the number of townships."""
    day = day or timezone.localdate()
    counts: dict[str, Counter] = defaultdict(Counter)
    rows = (
        LedgerEntry.objects.annotate(
            township_prefix=Substr("toilet__village__code", 1, TOWNSHIP_DIGITS)
        )
        .values("township_prefix", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["township_prefix"]][row["state"]] += row["n"]
    townships = Region.objects.filter(level=Level.TOWNSHIP, abolished=False)
    count = 0
    for township in townships.iterator():
        _write(day, township, counts.get(township.prefix, Counter()))
        count += 1
    logger.info("ledger snapshots recorded for %s townships on %s", count, day)
    return count


def replay(logs, days: list[datetime.date], digits: int = TOWNSHIP_DIGITS) -> dict:
    """State counts per region prefix (``digits`` long) at the end of each of ``days``
    (ascending), replaying ledger logs. ``logs`` is a LedgerLog queryset (already scoped);
    it is read once, in time order. Returns ``{day: {prefix: Counter(state → n)}}``."""
    rows = (
        logs.annotate(prefix=Substr("entry__toilet__village__code", 1, digits))
        .order_by("at", "id")
        .values_list("entry_id", "at", "to_state", "prefix")
        .iterator(chunk_size=5000)
    )
    state_of: dict[int, str] = {}
    counts: dict[str, Counter] = defaultdict(Counter)
    result = {}
    pending = next(rows, None)
    for day in days:
        until = end_of(day)
        while pending is not None and pending[1] < until:
            entry, _at, to_state, prefix = pending
            before = state_of.get(entry)
            if before is not None:
                counts[prefix][before] -= 1
            state_of[entry] = to_state
            counts[prefix][to_state] += 1
            pending = next(rows, None)
        result[day] = {p: Counter({s: n for s, n in c.items() if n}) for p, c in counts.items()}
    return result


@transaction.atomic
def backfill(start: datetime.date, end: datetime.date) -> int:
    """Write every township's snapshot for each day from ``start`` to ``end`` (inclusive)
    from the ledger logs, replacing what is there. Returns the number of rows written."""
    days = [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]
    states = replay(LedgerLog.objects.all(), days)
    townships = list(Region.objects.filter(level=Level.TOWNSHIP, abolished=False))
    written = 0
    for day in days:
        for township in townships:
            _write(day, township, states[day].get(township.prefix, Counter()))
            written += 1
    logger.info("ledger snapshots backfilled: %s rows, %s to %s", written, start, end)
    return written

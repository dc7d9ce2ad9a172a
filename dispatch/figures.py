"""What a briefing counts, per township of the county, for a period and in total at its
cut-off. The totals are the 33-column summary's (``reports.build``): the register (column 1),
the round's problem toilets (6+9, from ``round_entries``), those closed out (29+32) and those
unfinished (33), so a briefing and the summary built for the same cut-off never disagree.

Period figures count what happened between the start of the period's first day and the
cut-off, among the same entries:

- 摸排: inspections of the round of registered, active toilets, by their inspection time;
- 发现: the round's problem entries registered in the period;
- 制定方案: entries whose plan (制定整改方案) was logged in the period;
- 整改: entries logged 已整改 (by the village, or 立行立改) in the period;
- 销号: entries closed out in the period and still closed (a reopened entry is not closed, as
  in the summary).

逾期 is the entries overdue on the cut-off's day (``rectification.overdue``). The spot-check
discrepancy rate is that of the round's published samples, items checked by the cut-off
(``surveys.spotchecks.RateRow``: differing / checked).

The public's leads (线索, ``public``), by the village they are about, whatever the round:

- 收到: leads filed in the period;
- 答复: leads answered (ended: converted, merged, closed, done or refused) in the period;
- 逾期: leads still waiting for the township at the cut-off ``LEAD_ANSWER_DAYS`` after they
  came in — the queue's 逾期未办 (``Lead.objects.overdue``) as it stood at the cut-off, so a
  lead answered after the cut-off still counts in an earlier period's briefing.

The work-process problems (工作推进中存在的问题, ``WorkProblem``) registered by the cut-off,
by the township they belong to, each in its state at the cut-off (its last log row by then):

- 发现: problems registered by the cut-off;
- 销号: those closed out (已整改销号) at the cut-off (a reopened problem is not closed);
- 逾期: those not closed at the cut-off whose deadline (整改时限) was before the cut-off's day.

The county's own problems (registered at the county itself) are in the 合计 row only, so
that row's problem figures may exceed the sum of the townships'.

Fixed number of queries whatever the size of the county: the summary's, one over
inspections, one over entries, one over overdue entries, one over spot-check items, one over
leads, one over work problems.
"""

import datetime

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Substr
from django.utils import timezone

from public.choices import WAITING_STATES
from public.models import Lead, answer_days
from rectification.choices import LedgerState
from rectification.models import LedgerLog
from rectification.overdue import overdue_by_township
from regions.choices import Level
from regions.codes import LEVEL_DIGITS
from reports.build import build_summary, round_entries
from surveys.models import Inspection, SpotCheckItem
from surveys.spotchecks import RateRow
from toilets.choices import ToiletStatus

from .choices import WorkProblemState
from .models import WorkProblem, WorkProblemLog

TOWNSHIP_DIGITS = LEVEL_DIGITS[Level.TOWNSHIP]
# The figures of a row, in the order of the table and the spreadsheet.
COUNTS = [
    "registered",
    "surveyed_period",
    "surveyed",
    "found_period",
    "problems",
    "planned_period",
    "planned",
    "rectified_period",
    "rectified",
    "closed_period",
    "closed",
    "unfinished",
    "overdue",
    "spot_checked",
    "spot_differing",
    "leads_period",
    "leads_answered_period",
    "leads_overdue",
    "work_problems",
    "work_problems_closed",
    "work_problems_overdue",
]
# The leads' figures came later than the others: a briefing frozen before has none of them
# (its pages and spreadsheet show "—", and no change is computed against it).
LEAD_COUNTS = ["leads_period", "leads_answered_period", "leads_overdue"]
# So did the work-process problems' (工作推进中存在的问题): "—" on a briefing frozen before.
WORK_PROBLEM_COUNTS = ["work_problems", "work_problems_closed", "work_problems_overdue"]


def _by_township(queryset, lookup, **aggregates):
    return {
        row.pop("t"): row
        for row in queryset.annotate(t=Substr(lookup, 1, TOWNSHIP_DIGITS))
        .values("t")
        .annotate(**aggregates)
        .order_by()
    }


def compute(survey_round, county, start, cutoff, summary=None) -> tuple[list[dict], dict]:
    """Rows (one per township, in code order) and the total row, as plain dicts of ints.
    ``summary``: the county's table at ``cutoff`` when the caller has it (the city's briefing
    reads it through the rollups), else the full build."""
    prefix = county.prefix
    summary = summary or build_summary(survey_round, county, cutoff)
    period = Q(inspected_at__gte=start)
    inspections = _by_township(
        Inspection.objects.filter(
            round=survey_round,
            toilet__village__code__startswith=prefix,
            toilet__status=ToiletStatus.ACTIVE,
            toilet__created_at__lte=cutoff,
            inspected_at__lte=cutoff,
        ),
        "toilet__village__code",
        surveyed=Count("id"),
        surveyed_period=Count("id", filter=period),
    )

    entries = round_entries(survey_round, cutoff).filter(toilet__village__code__startswith=prefix)
    logs = LedgerLog.objects.filter(entry=OuterRef("pk"), at__lte=cutoff)
    plans = logs.filter(action="plan")
    rectifications = logs.filter(to_state=LedgerState.RECTIFIED)
    closed = Q(state=LedgerState.CLOSED, closed_at__lte=cutoff)
    ledger = _by_township(
        entries,
        "toilet__village__code",
        found_period=Count("id", filter=Q(created_at__gte=start)),
        planned=Count("id", filter=Exists(plans)),
        planned_period=Count("id", filter=Exists(plans.filter(at__gte=start))),
        rectified=Count("id", filter=Exists(rectifications)),
        rectified_period=Count("id", filter=Exists(rectifications.filter(at__gte=start))),
        closed_period=Count("id", filter=closed & Q(closed_at__gte=start)),
    )
    overdue = overdue_by_township(entries, timezone.localdate(cutoff))

    checked = Q(checked_at__isnull=False, checked_at__lte=cutoff)
    spot = _by_township(
        SpotCheckItem.objects.filter(
            sample__round=survey_round,
            sample__published_at__isnull=False,
            sample__published_at__lte=cutoff,
            original__toilet__village__code__startswith=prefix,
        ),
        "original__toilet__village__code",
        spot_checked=Count("id", filter=checked),
        spot_differing=Count("id", filter=checked & Q(differs=True)),
    )

    leads = _by_township(
        Lead.objects.filter(village__code__startswith=prefix, created_at__lte=cutoff),
        "village__code",
        **lead_counts(start, cutoff),
    )

    problems = work_problems_by_township(prefix, cutoff)

    rows = []
    for summary_row in summary.rows:
        key = summary_row.code[:TOWNSHIP_DIGITS]
        values = summary_row.values
        row = {"code": summary_row.code, "name": summary_row.name}
        row.update(dict.fromkeys(COUNTS, 0))
        row.update(inspections.get(key, {}))
        row.update(ledger.get(key, {}))
        row.update(spot.get(key, {}))
        row.update(leads.get(key, {}))
        row.update(problems.get(key, {}))
        row.update(
            registered=values[1],
            problems=values[6] + values[9],
            closed=values[29] + values[32],
            unfinished=values[33],
            overdue=len(overdue.get(key, [])),
        )
        rows.append(row)
    total = {"code": "", "name": "合计"}
    total.update({name: sum(row[name] for row in rows) for name in COUNTS})
    # The county's own problems belong to no township row: the total counts them all.
    total.update(
        {name: sum(group[name] for group in problems.values()) for name in WORK_PROBLEM_COUNTS}
    )
    return rows, total


def work_problems_by_township(prefix: str, cutoff) -> dict[str, dict]:
    """The work problems of the county ``prefix`` registered by ``cutoff``, counted by their
    unit's 9-digit prefix (the county's own under ``prefix + "000"``), each judged in its
    state at the cut-off. One query."""
    state_then = Subquery(
        WorkProblemLog.objects.filter(problem=OuterRef("pk"), at__lte=cutoff)
        .order_by("-at", "-id")
        .values("to_state")[:1]
    )
    closed = Q(state_then=WorkProblemState.CLOSED)
    return _by_township(
        WorkProblem.objects.filter(
            region__code__startswith=prefix, created_at__lte=cutoff
        ).annotate(state_then=state_then),
        "region__code",
        work_problems=Count("id"),
        work_problems_closed=Count("id", filter=closed),
        work_problems_overdue=Count(
            "id", filter=~closed & Q(deadline__lt=timezone.localdate(cutoff))
        ),
    )


def lead_counts(start, cutoff) -> dict:
    """The leads' aggregates for a period; the queryset is the leads filed by ``cutoff``.
    A lead leaves the waiting states once, when it is answered (``answered_at``); assigning a
    maintenance request is not an answer."""
    waiting_at_cutoff = Q(state__in=WAITING_STATES) | Q(answered_at__gt=cutoff)
    due_before = cutoff - datetime.timedelta(days=answer_days())
    return {
        "leads_period": Count("id", filter=Q(created_at__gte=start)),
        "leads_answered_period": Count(
            "id", filter=Q(answered_at__gte=start, answered_at__lte=cutoff)
        ),
        "leads_overdue": Count("id", filter=Q(created_at__lt=due_before) & waiting_at_cutoff),
    }


def discrepancy_rate(row) -> float | None:
    """Percent, one decimal, as the spot-check pages show it; None when nothing was checked."""
    return RateRow(
        key=row["code"],
        name=row["name"],
        detail="",
        sampled=row["spot_checked"],
        assigned=row["spot_checked"],
        checked=row["spot_checked"],
        differing=row["spot_differing"],
    ).rate

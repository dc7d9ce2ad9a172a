"""What a city's or the province's briefing counts: one row per county of the city (per city
of the province), each the 合计 row of the county briefing of the county's current round —
the same definitions (``figures``), for the same period and cut-off — and, for a city, its
counties' sums. Rounds belong to counties, so the counties of one city may be in different
rounds: each county counts in its own current round (the open one, else the latest opened,
``surveys.queries.current_rounds``); a county with no round yet is listed, not ranked.

The 33 columns of a county come from the rollups when the briefing is taken now (its cut-off
is the moment of generation: the live table, ``reports.rollups``), else from the full build
at the cut-off (``reports.build.build_summary``), so a briefing of a past period is exact.

Each row also carries the unit's delivery in the briefing unit's latest collection (汇总任务,
``reports.chain``): 未上报 / 已上报 / 已接收 / 已退回, and late (逾期未报) when nothing
accepted or waiting was there by the deadline — as the collection page counts it.

Queries: a fixed handful (the units, the rounds, the collection, its deliveries) plus, per
county with a round, that county's figures (``figures.compute``: its table and six grouped
aggregates). Nothing is read per township or per village.
"""

from django.utils import timezone

from regions.choices import Level
from regions.models import Region
from reports.build import build_summary
from reports.chain import BELOW, NOT_DELIVERED
from reports.models import Collection, Delivery, DeliveryStatus
from reports.rollups import current_summary
from surveys.queries import current_rounds

from . import figures, ranking


def live_summary(survey_round, county: Region, cutoff):
    """The county's table at ``cutoff`` (now) through the village rollups."""
    return current_summary(survey_round, county, user=None, now=cutoff)


def units_below(unit: Region) -> list[Region]:
    """The rows of ``unit``'s briefing: a city's counties, a province's cities."""
    return list(
        Region.objects.filter(
            parent=unit, level=BELOW[Level(unit.level)], abolished=False
        ).order_by("code")
    )


def counties_of(unit: Region, children: list[Region]) -> dict[int, Region]:
    if unit.level == Level.CITY:
        return {child.pk: child for child in children}
    return {
        county.pk: county
        for county in Region.objects.filter(
            level=Level.COUNTY, parent__in=children, abolished=False
        ).order_by("code")
    }


def delivery_states(unit: Region, cutoff) -> tuple[Collection | None, dict]:
    """The unit's latest collection set by the cut-off and, per unit below, its latest
    delivery to it made by the cut-off (its state as it stands when the briefing is taken)."""
    collection = (
        Collection.objects.filter(region=unit, created_at__lte=cutoff)
        .order_by("-deadline", "-id")
        .first()
    )
    if collection is None:
        return None, {"states": {}, "missing": None}
    latest: dict[int, Delivery] = {}
    for delivery in Delivery.objects.filter(
        collection=collection, delivered_at__lte=cutoff
    ).order_by("region_id", "-delivered_at", "-id"):
        latest.setdefault(delivery.region_id, delivery)
    late_after = collection.deadline < timezone.localdate(cutoff)
    states = {}
    for region_id, delivery in latest.items():
        pending = delivery.status == DeliveryStatus.RETURNED
        states[region_id] = {
            "status": delivery.status,
            "label": delivery.get_status_display(),
            "delivered_at": timezone.localtime(delivery.delivered_at).strftime("%Y-%m-%d %H:%M"),
            "late": pending and late_after,
        }
    missing = {"status": "", "label": NOT_DELIVERED, "delivered_at": "", "late": late_after}
    return collection, {"states": states, "missing": missing}


def _round_text(survey_round) -> str:
    return f"{survey_round.name}（{survey_round.get_status_display()}）"


def remember(totals: dict, survey_round, county: Region, start, cutoff, total: dict) -> None:
    """Keep a county's total row for the units above it in the same run (``compute``)."""
    totals[(survey_round.pk, county.pk, start, cutoff)] = {k: total[k] for k in figures.COUNTS}


def compute(
    unit: Region, start, cutoff, *, live: bool, totals: dict | None = None, progress=None
) -> tuple[list[dict], dict, dict]:
    """Rows (one per unit below, in code order), the total row, and the collection the
    delivery states are read in (``{}`` without one). ``totals``: county totals already
    worked out for this ``start`` and ``cutoff`` (``remember``); those missing are counted
    and kept there. ``progress(done, total)``: after each county."""
    totals = {} if totals is None else totals
    children = units_below(unit)
    counties = counties_of(unit, children)
    owner = {pk: (pk if unit.level == Level.CITY else c.parent_id) for pk, c in counties.items()}
    rows = {}
    for child in children:
        row = {"code": child.code, "name": child.name, **dict.fromkeys(figures.COUNTS, 0)}
        row.update(rounds=[], counties=0, briefed=0)
        rows[child.pk] = row
    for county in counties.values():
        rows[owner[county.pk]]["counties"] += 1
    briefed = sorted(current_rounds(list(counties)).items(), key=lambda i: counties[i[0]].code)
    for done, (county_pk, survey_round) in enumerate(briefed, start=1):
        county = counties[county_pk]
        total = totals.get((survey_round.pk, county.pk, start, cutoff))
        if total is None:
            summary = (
                live_summary(survey_round, county, cutoff)
                if live
                else build_summary(survey_round, county, cutoff)
            )
            _, total = figures.compute(survey_round, county, start, cutoff, summary)
            remember(totals, survey_round, county, start, cutoff, total)
        row = rows[owner[county_pk]]
        for name in figures.COUNTS:
            row[name] += total[name]
        row["briefed"] += 1
        row["rounds"].append(_round_text(survey_round))
        if progress is not None:
            progress(done, len(briefed))
    collection, delivered = delivery_states(unit, cutoff)
    for pk, row in rows.items():
        row["delivery"] = delivered["states"].get(pk, delivered["missing"])
    ordered = [rows[child.pk] for child in children]
    total = {"code": "", "name": "合计"}
    total.update({name: sum(row[name] for row in ordered) for name in figures.COUNTS})
    total["discrepancy_rate"] = figures.discrepancy_rate(total)
    about = {}
    if collection is not None:
        about = {
            "name": collection.name,
            "deadline": collection.deadline.isoformat(),
            "delivered": sum(
                1
                for row in ordered
                if row["delivery"]["status"] in (DeliveryStatus.SUBMITTED, DeliveryStatus.ACCEPTED)
            ),
            "accepted": sum(
                1 for row in ordered if row["delivery"]["status"] == DeliveryStatus.ACCEPTED
            ),
            "late": sum(1 for row in ordered if row["delivery"]["late"]),
        }
    return ordered, total, about


def rank(rows: list[dict], weights: dict) -> list[dict]:
    """The briefed units ranked by the formula (``ranking.rank``); the units where no county
    has a round yet follow, unranked (place None): an empty table would otherwise score the
    full close-out rate."""
    ranked = ranking.rank([row for row in rows if row["briefed"]], weights)
    unranked = [
        {**row, "components": None, "score": None, "place": None, "tied": False,
         "coverage_pct": None, "closeout_pct": None}
        for row in rows
        if not row["briefed"]
    ]  # fmt: skip
    result = ranked + unranked
    for row in result:
        row["discrepancy_rate"] = figures.discrepancy_rate(row)
    return result


def change(ranked: list[dict], previous: list[dict] | None) -> dict[str, dict]:
    """``ranking.change`` between the ranked rows of two briefings."""
    if not previous:
        return {}
    return ranking.change(
        [row for row in ranked if row["place"] is not None],
        [row for row in previous if row.get("place") is not None],
    )

"""Writes of the dispatch app: generating a briefing and editing the ranking formula. Each takes
``actor=`` (None only for the schedule), is atomic, checks role and region, and logs."""

import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from regions.choices import MANAGE_BRIEFINGS, MANAGE_ROUNDS, Level, Role
from regions.codes import ancestor_codes
from regions.models import Region
from regions.scoping import has_capability, scope_of
from surveys.choices import RoundStatus
from surveys.models import SurveyRound

from . import figures, periods, ranking, units
from .models import DEFAULT_WEIGHTS, Briefing, BriefingKind, RankingFormula, UnitBriefing

logger = logging.getLogger(__name__)

# A round closed this many days ago or less still gets its briefings (the last week's and
# month's figures of a round are briefed after it closes).
RECENTLY_CLOSED_DAYS = 31
MAX_WEIGHT = Decimal("1000")


# Access ----------------------------------------------------------------------------------


def can_read(user) -> bool:
    """Briefings are published county-wide: county, townships, inspectors, the city and the
    province read them; a village surveyor (or anybody placed at a village) does not."""
    scope = scope_of(user)
    if scope is None:
        return False
    if scope.role is None:
        return True
    return scope.role != Role.SURVEYOR and scope.region.level != Level.VILLAGE


def reads_unit_briefings(user) -> bool:
    """Whether the user reads any city's or province's briefings: a county, city or province
    user (the 通报 is sent down to the counties), or a global one."""
    scope = scope_of(user)
    if scope is None or not can_read(user):
        return False
    return scope.region is None or scope.region.level in (
        Level.COUNTY,
        Level.CITY,
        Level.PROVINCE,
    )


def managed_county(user) -> Region | None:
    """The county whose briefings and formula ``user`` manages: a county-level user with the
    round-managing capability (县级管理员). A superuser manages through the admin."""
    scope = scope_of(user)
    if scope is None or scope.region is None or not has_capability(user, MANAGE_ROUNDS):
        return None
    return scope.region if scope.region.level == Level.COUNTY else None


def managed_unit(user) -> Region | None:
    """The city or province whose briefings (counties, or cities, as rows) and formula ``user``
    manages: a 市级/省级管理员 placed there (MANAGE_BRIEFINGS)."""
    scope = scope_of(user)
    if scope is None or scope.region is None or not has_capability(user, MANAGE_BRIEFINGS):
        return None
    return scope.region if scope.region.level in (Level.CITY, Level.PROVINCE) else None


def ranking_unit(user) -> Region | None:
    """The unit whose ranking formula ``user`` sets: its county, city or province."""
    return managed_county(user) or managed_unit(user)


def _ensure_manages(actor, county: Region) -> None:
    scope, managed = scope_of(actor), ranking_unit(actor)
    if not (
        (scope is not None and scope.is_global) or (managed is not None and managed.pk == county.pk)
    ):
        if county.level in (Level.CITY, Level.PROVINCE):
            raise PermissionDenied(f"只有{county.name}的管理员可以执行此操作。")
        raise PermissionDenied("只有本县（区）的县级管理员可以执行此操作。")


# The formula -----------------------------------------------------------------------------


def weights_of(county: Region) -> dict[str, Decimal]:
    formula = RankingFormula.objects.filter(region=county).first()
    return formula.weights() if formula is not None else dict(DEFAULT_WEIGHTS)


def clean_weights(data: dict) -> dict[str, Decimal]:
    errors, weights = {}, {}
    for name in DEFAULT_WEIGHTS:
        try:
            value = Decimal(str(data.get(name, "")).strip())
        except InvalidOperation:
            errors[name] = "请填写数字。"
            continue
        if not value.is_finite() or value < 0 or value > MAX_WEIGHT:
            errors[name] = f"权重须在 0 到 {MAX_WEIGHT} 之间。"
        elif value != value.quantize(Decimal("0.01")):
            errors[name] = "最多保留两位小数。"
        else:
            weights[name] = value
    if errors:
        raise ValidationError(errors)
    return weights


@transaction.atomic
def save_formula(*, actor, county: Region, weights: dict) -> RankingFormula:
    _ensure_manages(actor, county)
    cleaned = clean_weights(weights)
    formula, _ = RankingFormula.objects.select_for_update().get_or_create(region=county)
    before = formula.weights()
    for name, value in cleaned.items():
        setattr(formula, name, value)
    formula.updated_by = actor
    formula.save()
    logger.info("ranking formula of %s changed by %s: %s -> %s", county, actor, before, cleaned)
    return formula


# Briefings -------------------------------------------------------------------------------


def current_round(county: Region, now: datetime.datetime) -> SurveyRound | None:
    """The county's open round, else its round closed within RECENTLY_CLOSED_DAYS."""
    rounds = SurveyRound.objects.filter(county=county)
    open_round = rounds.filter(status=RoundStatus.OPEN).first()
    if open_round is not None:
        return open_round
    since = now - datetime.timedelta(days=RECENTLY_CLOSED_DAYS)
    return (
        rounds.filter(status=RoundStatus.CLOSED, closed_at__gte=since)
        .order_by("-closed_at", "-id")
        .first()
    )


def briefed_counties(now: datetime.datetime):
    """Counties with an open round or one closed within RECENTLY_CLOSED_DAYS."""
    since = now - datetime.timedelta(days=RECENTLY_CLOSED_DAYS)
    active = SurveyRound.objects.filter(
        Q(status=RoundStatus.OPEN) | Q(status=RoundStatus.CLOSED, closed_at__gte=since)
    )
    return Region.objects.filter(pk__in=active.values("county_id")).order_by("code")


def previous_of(county, survey_round, kind, period_start) -> Briefing | None:
    """The latest edition of the latest earlier briefing of the same kind in the same round."""
    return (
        Briefing.objects.filter(
            county=county, round=survey_round, kind=kind, period_end__lt=period_start
        )
        .order_by("-period_end", "-edition", "-id")
        .first()
    )


def generate_briefing(
    *, actor, county: Region, kind: str, now=None, day=None, totals: dict | None = None
) -> Briefing:
    """The briefing of ``kind`` for the period containing ``day`` (default: ``now``'s day,
    county time), counted up to the period's end or ``now``, whichever is earlier.

    ``actor`` None is the schedule: it returns its own earlier briefing of the same period if
    there is one (a retried task makes nothing twice). A county user always makes a new
    edition (第 N 版), so a briefing once sent is never changed, and a correction is a new one.
    ``totals``: the schedule's memo of county totals (``units.remember``), filled here.
    """
    if kind not in BriefingKind.values:
        raise ValidationError({"kind": "未知的通报类型。"})
    if actor is not None:
        _ensure_manages(actor, county)
    now = now or timezone.now()
    survey_round = current_round(county, now)
    if survey_round is None:
        raise ValidationError("本县（区）没有进行中或近期结束的摸排轮次，无法生成调度通报。")
    start, end = periods.period_of(kind, day or timezone.localdate(now))
    if start > timezone.localdate(now):
        raise ValidationError("不能生成尚未开始的期间的通报。")
    with transaction.atomic():
        # One writer at a time per county, so editions are numbered without gaps or clashes.
        Region.objects.select_for_update().filter(pk=county.pk).first()
        same_period = Briefing.objects.filter(
            county=county, round=survey_round, kind=kind, period_start=start, period_end=end
        )
        if actor is None:
            scheduled = same_period.filter(generated_by__isnull=True).first()
            if scheduled is not None:
                return scheduled
        edition = (same_period.aggregate(n=Max("edition"))["n"] or 0) + 1
        cutoff = periods.cutoff_for(end, now)
        rows, total = figures.compute(survey_round, county, periods.start_of_day(start), cutoff)
        if totals is not None:
            units.remember(totals, survey_round, county, periods.start_of_day(start), cutoff, total)
        weights = weights_of(county)
        ranked = ranking.rank(rows, weights)
        for row in ranked:
            row["discrepancy_rate"] = figures.discrepancy_rate(row)
        total["discrepancy_rate"] = figures.discrepancy_rate(total)
        previous = previous_of(county, survey_round, kind, start)
        changes = ranking.change(ranked, previous.data["rows"] if previous else None)
        briefing = Briefing(
            county=county,
            round=survey_round,
            kind=kind,
            period_start=start,
            period_end=end,
            edition=edition,
            cutoff=cutoff,
            generated_at=now,
            generated_by=actor,
            previous=previous,
            data={
                "rows": ranked,
                "total": total,
                "change": changes,
                "lead_answer_days": figures.answer_days(),
            },
            formula={
                "weights": {k: str(v) for k, v in weights.items()},
                "text": ranking.formula_text(weights),
            },
        )
        briefing.save()
    logger.info(
        "briefing %s (%s %s–%s, edition %s) generated by %s",
        briefing.pk,
        kind,
        start,
        end,
        edition,
        actor or "schedule",
    )
    return briefing


def generate_scheduled(kind: str, now=None) -> list[Briefing | UnitBriefing]:
    """The schedule's run: a briefing of ``kind`` for every county with an open or recently
    closed round, then for the cities and provinces above them (counties, or cities, as
    rows); one unit's failure is logged and does not stop the others.

    Every briefing of the run is taken at the same moment, so a county's figures are worked
    out once: its own briefing's totals are its row in the city's and the province's
    (``totals``), instead of the county being counted again for each unit above it."""
    now = now or timezone.now()
    made = []
    totals: dict = {}
    counties = list(briefed_counties(now))
    for county in counties:
        try:
            made.append(
                generate_briefing(actor=None, county=county, kind=kind, now=now, totals=totals)
            )
        except Exception:
            logger.exception("briefing of %s for %s failed", kind, county)
    above = Region.objects.filter(
        code__in={code for county in counties for code in ancestor_codes(county.code)},
        level__in=[Level.CITY, Level.PROVINCE],
    )
    # Cities first, then provinces (a province's figures do not depend on its cities' briefings,
    # but this is the order they are read in).
    for unit in sorted(above, key=lambda r: (r.level == Level.PROVINCE, r.code)):
        try:
            made.append(
                generate_unit_briefing(actor=None, region=unit, kind=kind, now=now, totals=totals)
            )
        except Exception:
            logger.exception("briefing of %s for %s failed", kind, unit)
    return made


# Briefings of a city or a province --------------------------------------------------------


def previous_unit_briefing(region, kind, period_start) -> UnitBriefing | None:
    return (
        UnitBriefing.objects.filter(region=region, kind=kind, period_end__lt=period_start)
        .order_by("-period_end", "-edition", "-id")
        .first()
    )


def generate_unit_briefing(
    *,
    actor,
    region: Region,
    kind: str,
    now=None,
    day=None,
    totals: dict | None = None,
    progress=None,
) -> UnitBriefing:
    """The briefing of a city (counties as rows) or a province (cities as rows) for the period
    of ``kind`` containing ``day``, as ``generate_briefing`` makes a county's: counted up to the
    period's end or ``now``; the schedule (``actor`` None) returns its own earlier briefing of
    the period; a user always makes a new edition.

    ``now`` None is "now": the counties' tables are then read through the rollups (the live
    table at the moment of generation); a given ``now`` or a past period reads the full build
    at the cut-off. ``totals``: county totals already worked out at the same cut-off in this
    run (the schedule's memo, ``units.remember``); a county missing from it is counted and
    added. ``progress(done, total)`` is called as the counties are counted (a job's bar,
    ``dispatch.jobs``)."""
    if kind not in BriefingKind.values:
        raise ValidationError({"kind": "未知的通报类型。"})
    if region.level not in (Level.CITY, Level.PROVINCE):
        raise ValidationError("市级、省级调度通报只能为市或省生成。")
    if actor is not None:
        _ensure_manages(actor, region)
    live = now is None
    now = now or timezone.now()
    start, end = periods.period_of(kind, day or timezone.localdate(now))
    if start > timezone.localdate(now):
        raise ValidationError("不能生成尚未开始的期间的通报。")
    same_period = UnitBriefing.objects.filter(
        region=region, kind=kind, period_start=start, period_end=end
    )
    own = same_period.filter(generated_by__isnull=True)
    if actor is None and (scheduled := own.first()) is not None:
        return scheduled
    # Counted before the lock, which only numbers the edition: a province reads every county's
    # table, and another edition of the unit need not wait for that.
    cutoff = periods.cutoff_for(end, now)
    rows, total, collection = units.compute(
        region,
        periods.start_of_day(start),
        cutoff,
        live=live and cutoff == now,
        totals=totals,
        progress=progress,
    )
    if not any(row["briefed"] for row in rows):
        raise ValidationError(
            f"{region.name}下辖各县（区）都还没有开始摸排轮次，无法生成调度通报。"
        )
    weights = weights_of(region)
    ranked = units.rank(rows, weights)
    with transaction.atomic():
        # One writer at a time per unit, so editions are numbered without gaps or clashes.
        Region.objects.select_for_update().filter(pk=region.pk).first()
        if actor is None and (scheduled := own.first()) is not None:
            return scheduled  # a retried run made it meanwhile
        edition = (same_period.aggregate(n=Max("edition"))["n"] or 0) + 1
        previous = previous_unit_briefing(region, kind, start)
        briefing = UnitBriefing(
            region=region,
            kind=kind,
            period_start=start,
            period_end=end,
            edition=edition,
            cutoff=cutoff,
            generated_at=now,
            generated_by=actor,
            previous=previous,
            data={
                "rows": ranked,
                "total": total,
                "change": units.change(ranked, previous.data["rows"] if previous else None),
                "collection": collection,
                "lead_answer_days": figures.answer_days(),
            },
            formula={
                "weights": {k: str(v) for k, v in weights.items()},
                "text": ranking.formula_text(weights),
            },
        )
        briefing.save()
    logger.info(
        "unit briefing %s of %s (%s %s–%s, edition %s) generated by %s",
        briefing.pk,
        region,
        kind,
        start,
        end,
        edition,
        actor or "schedule",
    )
    return briefing

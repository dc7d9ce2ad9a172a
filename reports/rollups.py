"""Village rollups: the live summary table without scanning every toilet (issue 16).

A rollup holds columns 1–32 of one village for one round, computed by the full build's own
queries (``build.column_counts``) restricted to the villages that changed. It is current while

- the village's version (``VillageVersion``, bumped by database triggers in the same
  transaction as any write to its toilets, inspections, ledger entries or their categories,
  migration reports 0005) is still the one read *before* the counts were taken: a write that
  commits meanwhile leaves the version ahead, and the next read recomputes the village;
- the round's basis is unchanged (its county, its opening time — a reopened or re-opened round
  counts different carried-over entries — and its template's year buckets);
- the clock has not reached ``valid_until``: the earliest record of the village dated after the
  computation (a future inspection time, a transaction that stamped its rows before the
  computation and committed after), which the cut-off "now" will take in later.

``current_summary`` refreshes the stale villages of the region (only those), then adds the
rollups up by child. It equals ``build_summary(round, region, now, user=user)`` for a user whose
scope covers the region (``check_rollups`` and tests/reports/test_rollups.py check it); any
other case — a past cut-off, a region outside the user's scope — is the full build. The
submissions and the stamped file keep the full build.
"""

import hashlib
import json

from django.db.models import Min, Q
from django.utils import timezone

from rectification.models import LedgerEntry
from regions.models import Region
from regions.scoping import scope_of
from surveys.models import Inspection
from toilets.models import Toilet

from .build import Summary, assemble, build_summary, child_rows, column_counts
from .columns import COLUMNS
from .models import VillageRollup, VillageVersion

ROLLUP_FORMAT = 1  # bump when the columns' definitions change: every rollup is then stale
UNPLACED = "unplaced"
REFRESH_BATCH = 1000  # villages per recomputation (an IN list of ids)
STORED = [c for c in COLUMNS if c != 33]  # 33 is derived


def basis(survey_round) -> str:
    """What, besides the village's own rows, the village's numbers depend on."""
    opened = survey_round.opened_at.isoformat() if survey_round.opened_at else ""
    text = json.dumps(
        [ROLLUP_FORMAT, survey_round.county_id, opened, survey_round.template.year_buckets],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def covers(user, region: Region) -> bool:
    """The user sees the whole of the region, so the rollups (computed unscoped) are what a
    scoped build would count."""
    scope = scope_of(user)
    return scope is not None and (scope.is_global or region.code.startswith(scope.prefix))


def current_summary(survey_round, region: Region, *, user, now=None) -> Summary:
    """The live table (cut-off: ``now``, the present moment) read through the rollups; the full
    build when the user's scope does not cover the region (``user=None``: the operator's
    commands and the schedule, everything)."""
    if user is not None and not covers(user, region):
        return build_summary(survey_round, region, user=user)
    now = now or timezone.now()
    children, digits = child_rows(region)
    counts = village_counts(survey_round, region.prefix, now)
    per_child: dict[str, dict[int, int]] = {}
    unplaced: dict[str, int] = {}
    for code, values in counts.items():
        child = code[:digits]
        sums = per_child.setdefault(child, dict.fromkeys(COLUMNS, 0))
        for column in STORED:
            sums[column] += values[str(column)]
        unplaced[child] = unplaced.get(child, 0) + values[UNPLACED]
    return assemble(survey_round, region, now, children, digits, per_child, unplaced, user)


def village_counts(survey_round, prefix: str, now) -> dict[str, dict]:
    """Every region under ``prefix`` (villages, and any other node a toilet may hang on) with
    its current rollup values, recomputing the stale ones first."""
    areas = dict(Region.objects.filter(code__startswith=prefix).values_list("pk", "code"))
    versions = dict(
        VillageVersion.objects.filter(village__code__startswith=prefix).values_list(
            "village_id", "version"
        )
    )
    wanted = basis(survey_round)
    counts, stale = {}, []
    rollups = VillageRollup.objects.filter(
        survey_round=survey_round, village__code__startswith=prefix
    ).values_list("village_id", "version", "basis", "valid_until", "values")
    for village_id, version, rollup_basis, valid_until, values in rollups:
        if (
            village_id in areas
            and version == versions.get(village_id, 0)
            and rollup_basis == wanted
            and (valid_until is None or valid_until > now)
        ):
            counts[areas[village_id]] = values
    stale = [pk for pk, code in areas.items() if code not in counts]
    if stale and len(stale) == len(areas):  # everything: the build's queries over the prefix
        fresh = refresh(survey_round, prefix, stale, now, whole_prefix=True)
        counts.update({areas[pk]: values for pk, values in fresh.items()})
        stale = []
    for start in range(0, len(stale), REFRESH_BATCH):
        batch = stale[start : start + REFRESH_BATCH]
        fresh = refresh(survey_round, prefix, batch, now)
        counts.update({areas[pk]: values for pk, values in fresh.items()})
    return counts


def refresh(survey_round, prefix, village_ids, now, *, whole_prefix=False) -> dict[int, dict]:
    """Recompute and store the rollups of ``village_ids`` (all under ``prefix``) as of ``now``.

    The versions are read first, the counts after: the counts then include at least every
    write the versions account for, and a write committed in between leaves the stored version
    behind the village's (recomputed next time, never wrong)."""
    versions = dict(
        VillageVersion.objects.filter(village_id__in=village_ids).values_list(
            "village_id", "version"
        )
    )
    codes = dict(Region.objects.filter(pk__in=village_ids).values_list("pk", "code"))
    per_village, unplaced = column_counts(
        survey_round,
        prefix,
        12,
        now,
        village_ids=None if whole_prefix else village_ids,
    )
    later = dated_later(survey_round, village_ids, now)
    wanted = basis(survey_round)
    result, rows = {}, []
    for pk in village_ids:
        code = codes[pk]
        counted = per_village.get(code[:12]) if len(code) >= 12 else None
        values = {str(c): (counted or {}).get(c, 0) for c in STORED}
        values[UNPLACED] = unplaced.get(code[:12], 0)
        result[pk] = values
        rows.append(
            VillageRollup(
                survey_round=survey_round,
                village_id=pk,
                values=values,
                version=versions.get(pk, 0),
                basis=wanted,
                computed_at=now,
                valid_until=later.get(pk),
            )
        )
    VillageRollup.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["survey_round", "village"],
        update_fields=["values", "version", "basis", "computed_at", "valid_until"],
    )
    return result


def dated_later(survey_round, village_ids, now) -> dict[int, object]:
    """Per village, the earliest record the cut-off ``now`` left out for its date alone."""
    later: dict[int, object] = {}

    def keep(rows):
        for village_id, when in rows:
            if when is not None and (village_id not in later or when < later[village_id]):
                later[village_id] = when

    keep(
        Toilet.objects.filter(village_id__in=village_ids, created_at__gt=now)
        .values("village_id")
        .annotate(m=Min("created_at"))
        .values_list("village_id", "m")
    )
    keep(
        Inspection.objects.filter(
            round=survey_round, toilet__village_id__in=village_ids, inspected_at__gt=now
        )
        .values("toilet__village_id")
        .annotate(m=Min("inspected_at"))
        .values_list("toilet__village_id", "m")
    )
    entries = (
        LedgerEntry.objects.filter(toilet__village_id__in=village_ids)
        .filter(Q(created_at__gt=now) | Q(closed_at__gt=now))
        .values("toilet__village_id")
        .annotate(
            created=Min("created_at", filter=Q(created_at__gt=now)),
            closed=Min("closed_at", filter=Q(closed_at__gt=now)),
        )
    )
    for row in entries:
        keep(
            [
                (row["toilet__village_id"], row["created"]),
                (row["toilet__village_id"], row["closed"]),
            ]
        )
    return later


def differences(survey_round, region: Region) -> list[str]:
    """Where the stored rollups (without refreshing them) disagree with a recomputation from
    scratch as of the same moment, for ``check_rollups``; a stale rollup is not a difference
    (the next read recomputes it), a current one that differs is."""
    now = timezone.now()
    prefix = region.prefix
    areas = dict(Region.objects.filter(code__startswith=prefix).values_list("pk", "code"))
    versions = dict(
        VillageVersion.objects.filter(village__code__startswith=prefix).values_list(
            "village_id", "version"
        )
    )
    wanted = basis(survey_round)
    current = {}
    for village_id, version, rollup_basis, valid_until, values in VillageRollup.objects.filter(
        survey_round=survey_round, village__code__startswith=prefix
    ).values_list("village_id", "version", "basis", "valid_until", "values"):
        if (
            version == versions.get(village_id, 0)
            and rollup_basis == wanted
            and (valid_until is None or valid_until > now)
        ):
            current[village_id] = values
    per_village, unplaced = column_counts(survey_round, prefix, 12, now)
    # A write committed since the versions were read makes its village's rollup stale, not
    # wrong: only villages whose version did not move are compared.
    after = dict(
        VillageVersion.objects.filter(village__code__startswith=prefix).values_list(
            "village_id", "version"
        )
    )
    found = []
    for village_id, values in current.items():
        if after.get(village_id, 0) != versions.get(village_id, 0):
            continue
        code = areas.get(village_id, "")
        counted = per_village.get(code[:12], {})
        expected = {str(c): counted.get(c, 0) for c in STORED}
        expected[UNPLACED] = unplaced.get(code[:12], 0)
        for key, value in expected.items():
            if values.get(key) != value:
                found.append(
                    f"{survey_round.name} {code}: column {key} stored {values.get(key)}, "
                    f"recomputed {value}"
                )
    return found


def counties_counts(rounds: dict[int, object], counties: dict[int, Region], prefix: str, now):
    """Each county's villages with their current rollup values under its own round (``rounds``
    county pk → round), for many counties at once: three queries for the whole ``prefix``
    (a city or the province) when the rollups are current; a county with any stale village is
    read (and refreshed) by ``village_counts``."""
    areas = list(Region.objects.filter(code__startswith=prefix).values_list("pk", "code"))
    versions = dict(
        VillageVersion.objects.filter(village__code__startswith=prefix).values_list(
            "village_id", "version"
        )
    )
    wanted = {county_pk: basis(survey_round) for county_pk, survey_round in rounds.items()}
    round_county = {survey_round.pk: county_pk for county_pk, survey_round in rounds.items()}
    current: dict[tuple[int, int], dict] = {}
    for round_id, village_id, version, rollup_basis, valid_until, values in (
        VillageRollup.objects.filter(survey_round_id__in=list(round_county))
        .values_list("survey_round_id", "village_id", "version", "basis", "valid_until", "values")
        .iterator(chunk_size=5000)
    ):
        county_pk = round_county[round_id]
        if (
            version == versions.get(village_id, 0)
            and rollup_basis == wanted[county_pk]
            and (valid_until is None or valid_until > now)
        ):
            current[(county_pk, village_id)] = values
    by_county: dict[str, list[tuple[int, str]]] = {}
    for pk, code in areas:
        by_county.setdefault(code[:6], []).append((pk, code))
    found: dict[int, dict[str, dict]] = {}
    for county_pk, county in counties.items():
        if county_pk not in rounds:
            continue
        mine = by_county.get(county.prefix, [])
        if all((county_pk, pk) in current for pk, _ in mine):
            found[county_pk] = {code: current[(county_pk, pk)] for pk, code in mine}
        else:
            found[county_pk] = village_counts(rounds[county_pk], county.prefix, now)
    return found

"""Reads of the survey pages that pages and exports share: what a round covers, the township's
review queue, the counts per village and the toilets not yet inspected. Everything is read
through ``visible_to(user)``; a village outside the user's scope is ``InvalidFilter`` (404)."""

import re

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)

from core.web.filters import InvalidFilter
from regions.models import Region
from toilets.choices import ToiletStatus
from toilets.models import Toilet

from .choices import InspectionStatus, RoundStatus
from .hooks import worklist_annotations
from .models import Inspection, SurveyRound


def current_round(user):
    """The open round of the user's county, if any."""
    return SurveyRound.objects.visible_to(user).open().select_related("county", "previous").first()


def round_toilets(user, survey_round):
    """Toilets in use that the round covers: the user's scope within the round's county (a
    city-level inspector must not see other counties as 'not surveyed')."""
    return (
        Toilet.objects.visible_to(user)
        .active()
        .filter(village__code__startswith=survey_round.county.prefix)
    )


def round_villages(user, survey_round):
    """The villages of the round's county that the user may see, in code order."""
    return (
        Region.objects.visible_to(user)
        .villages()
        .filter(code__startswith=survey_round.county.prefix)
        .select_related("parent")
        .order_by("code")
    )


def round_village(user, survey_round, village_code) -> Region:
    """One village of the round that the user may see; InvalidFilter otherwise."""
    village = round_villages(user, survey_round).filter(code=village_code).first()
    if village is None:
        raise InvalidFilter("该村不在您的管辖范围内。")
    return village


def status_counts(total="n") -> dict:
    """Aggregates of a set of inspections: how many (named ``total``), verified, returned."""
    return {
        total: Count("id"),
        "verified": Count("id", filter=Q(status=InspectionStatus.VERIFIED)),
        "returned": Count("id", filter=Q(status=InspectionStatus.RETURNED)),
    }


# The surveyor's worklist ------------------------------------------------------------------

# Group headings of the worklist: households without a 村民小组, then public toilets, come last.
NO_GROUP = "未填村民小组"
PUBLIC_GROUP = "公厕"
WORKLIST_PAGE_SIZE = 50

# The worklist's status filter: key → (label, condition on the row's inspection status).
WORKLIST_STATUSES = {
    "todo": ("未摸排", Q(inspection_status__isnull=True)),
    "returned": ("被退回", Q(inspection_status=InspectionStatus.RETURNED)),
    "submitted": ("待核查", Q(inspection_status=InspectionStatus.SUBMITTED)),
    "verified": ("已核查", Q(inspection_status=InspectionStatus.VERIFIED)),
}
# What still needs the surveyor: not surveyed yet, or returned by the township.
NEEDS_SURVEYOR = WORKLIST_STATUSES["todo"][1] | WORKLIST_STATUSES["returned"][1]

_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2, "〇": 0}
_NUMBER = re.compile(r"[0-9]+|[零〇一二两三四五六七八九十百]+")
# The last four characters of an ID number (the masked form shows them too).
_ID_TAIL = re.compile(r"^[0-9]{3}[0-9Xx]$")


def _chinese_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for char in text:
        if char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + _DIGITS[char]
    return total + current


def group_sort_key(name: str) -> tuple:
    """第二组 before 第十组 before 第十一组 (by the number in the name, then the name);
    households without a group, then the public toilets, last."""
    if name == PUBLIC_GROUP:
        return (2, 0, name)
    if name == NO_GROUP:
        return (1, 0, name)
    match = _NUMBER.search(name)
    return (0, _chinese_number(match.group()) if match else 10**6, name)


def _group_label():
    """The worklist group a toilet falls under: its household's 村民小组, 未填村民小组, 公厕."""
    return Case(
        When(household__isnull=True, then=Value(PUBLIC_GROUP)),
        When(household__group_name="", then=Value(NO_GROUP)),
        default=F("household__group_name"),
        output_field=CharField(),
    )


def _worklist_rows(user, survey_round):
    """The round's toilets with their inspection in the round and the hook's annotations.

    The inspection is one LEFT JOIN (at most one per toilet and round, a unique constraint),
    not a subquery per column and toilet: the page sorts the whole village by it, and
    correlated subqueries grew with the round's inspections under load."""
    extra = {"recheck": Value(False)}
    for annotations in worklist_annotations.send(survey_round=survey_round):
        extra.update(annotations)
    return (
        round_toilets(user, survey_round)
        .annotate(own=FilteredRelation("inspections", condition=Q(inspections__round=survey_round)))
        .annotate(
            group_label=_group_label(),
            inspection_id=F("own__id"),
            inspection_status=F("own__status"),
            return_reason=F("own__return_reason"),
            **extra,
            rank=Case(
                When(inspection_status=InspectionStatus.RETURNED, then=Value(0)),
                When(inspection_status__isnull=True, then=Value(1)),
                When(inspection_status=InspectionStatus.SUBMITTED, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            ),
        )
    )


def worklist_groups(user, survey_round) -> list[dict]:
    """The worklist's groups in heading order, each with its counts over the whole round
    (``total``, ``done`` and one per key of ``WORKLIST_STATUSES``): one grouped query."""
    rows = (
        _worklist_rows(user, survey_round)
        .order_by()
        .values("group_label")
        .annotate(
            total=Count("id"),
            todo=Count("id", filter=WORKLIST_STATUSES["todo"][1]),
            returned=Count("id", filter=WORKLIST_STATUSES["returned"][1]),
            submitted=Count("id", filter=WORKLIST_STATUSES["submitted"][1]),
            verified=Count("id", filter=WORKLIST_STATUSES["verified"][1]),
        )
    )
    groups = [
        {
            "name": row["group_label"],
            "total": row["total"],
            "todo": row["todo"],
            "returned": row["returned"],
            "submitted": row["submitted"],
            "verified": row["verified"],
            "done": row["total"] - row["todo"],
        }
        for row in rows
    ]
    return sorted(groups, key=lambda group: group_sort_key(group["name"]))


def worklist_totals(groups) -> dict:
    """The whole round's counts above the worklist, from ``worklist_groups``."""
    return {k: sum(g[k] for g in groups) for k in ("total", "todo", "returned", "done")}


def worklist_count(groups, group="", status="") -> int:
    """How many rows the worklist's ``group`` and ``status`` filters leave (no search text),
    from ``worklist_groups``' counts: the page needs no COUNT query of its own."""
    return sum(g[status or "total"] for g in groups if not group or g["name"] == group)


def _group_rank(group_names):
    """The heading order of ``group_names`` as an SQL expression (natural order, not the
    database's collation)."""
    ordered = sorted(group_names, key=group_sort_key)
    if not ordered:
        return Value(0, output_field=IntegerField())
    return Case(
        *[When(group_label=name, then=Value(i)) for i, name in enumerate(ordered)],
        default=Value(len(ordered)),
        output_field=IntegerField(),
    )


def worklist_toilets(user, survey_round, group_names=None):
    """The round's toilets in worklist order: by 村民小组 (natural order; 公厕 last), within a
    group returned first, then not yet surveyed (toilets still open from an earlier round,
    flagged ``recheck`` by the hook's receivers, first among them), then submitted, then the
    rest; each with its inspection's id, status and return reason and its ``group_label``.
    ``group_names`` (from ``worklist_groups``) saves the query that finds the groups."""
    if group_names is None:
        group_names = [g["name"] for g in worklist_groups(user, survey_round)]
    return (
        _worklist_rows(user, survey_round)
        .select_related("household", "village")
        .annotate(group_rank=_group_rank(group_names))
        .order_by("group_rank", "rank", "-recheck", "id")
    )


def search_worklist(rows, q="", group="", status=""):
    """The worklist's search box and filters: ``q`` matches the 户主's name, the last four
    characters of the ID number, the 村民小组 or a public toilet's name; ``group`` is one
    heading (a ``group_label``); ``status`` a key of ``WORKLIST_STATUSES``."""
    q = q.strip()
    if q:
        match = (
            Q(household__head_name__icontains=q)
            | Q(household__group_name__icontains=q)
            | Q(name__icontains=q)
        )
        if _ID_TAIL.match(q):
            match |= Q(household__id_number__endswith=q.upper())
        rows = rows.filter(match)
    if group:
        rows = rows.filter(group_label=group)
    if status in WORKLIST_STATUSES:
        rows = rows.filter(WORKLIST_STATUSES[status][1])
    return rows


def next_toilet(user, survey_round, toilet):
    """The next toilet after ``toilet`` in the worklist's order that still needs the surveyor
    (not surveyed yet, or returned); None when there is none. A toilet that no longer needs the
    surveyor (just surveyed) has left its place among the toilets still to do: what is left of
    its group comes next, then the later groups. A toilet the user cannot see has none."""
    rows = worklist_toilets(user, survey_round)
    here = (
        rows.filter(pk=toilet.pk)
        .annotate(needs=ExpressionWrapper(NEEDS_SURVEYOR, output_field=BooleanField()))
        .values("group_rank", "rank", "recheck", "needs")
        .first()
    )
    if here is None:
        return None
    group = here["group_rank"]
    after = Q(group_rank__gt=group)
    if not here["needs"]:
        after |= Q(group_rank=group)
    else:
        rank = here["rank"]
        after |= Q(group_rank=group, rank__gt=rank)
        same = Q(group_rank=group, rank=rank)
        if here["recheck"]:
            after |= same & (Q(recheck=False) | Q(recheck=True, pk__gt=toilet.pk))
        else:
            after |= same & Q(recheck=False, pk__gt=toilet.pk)
    return rows.filter(NEEDS_SURVEYOR).filter(after).exclude(pk=toilet.pk).first()


# The township's review queue --------------------------------------------------------------


def review_queue(user, survey_round, village_code=""):
    """The township's review queue (submitted inspections of the round), optionally of one
    village, with what the page and its export show. A village the user cannot see is a 404."""
    queue = (
        Inspection.objects.visible_to(user)
        .filter(round=survey_round, status=InspectionStatus.SUBMITTED)
        .select_related("toilet__household", "toilet__village__parent", "surveyor")
        .prefetch_related("categories", "flags")
        .annotate(photo_count=Count("photos", distinct=True))
        .order_by("toilet__village__code", "inspected_at", "id")
    )
    if village_code:
        queue = queue.filter(toilet__village=round_village(user, survey_round, village_code))
    return queue


def review_counts(user, survey_round) -> dict:
    """Village code → how many of the round's inspections wait for review."""
    return dict(
        Inspection.objects.visible_to(user)
        .filter(round=survey_round, status=InspectionStatus.SUBMITTED)
        .values("toilet__village__code")
        .annotate(n=Count("id"))
        .values_list("toilet__village__code", "n")
    )


# Progress and coverage --------------------------------------------------------------------


def village_counts(user, survey_round):
    """Per visible village: registered toilets in use, inspected, verified, returned.
    Three grouped queries whatever the number of villages or toilets."""
    villages = list(round_villages(user, survey_round))
    registered = dict(
        round_toilets(user, survey_round)
        .values("village")
        .annotate(n=Count("id"))
        .values_list("village", "n")
    )
    inspected = {
        row["toilet__village"]: row
        for row in Inspection.objects.visible_to(user)
        .filter(round=survey_round, toilet__status=ToiletStatus.ACTIVE)
        .values("toilet__village")
        .annotate(**status_counts())
    }
    rows = []
    for village in villages:
        row = inspected.get(village.pk, {})
        total = registered.get(village.pk, 0)
        done = row.get("n", 0)
        rows.append(
            {
                "village": village,
                "registered": total,
                "inspected": done,
                "verified": row.get("verified", 0),
                "returned": row.get("returned", 0),
                "missing": max(total - done, 0),
                "percent": round(100 * done / total) if total else 100,
            }
        )
    return rows


def sum_rows(rows):
    keys = ["registered", "inspected", "verified", "returned", "missing"]
    total = {k: sum(r[k] for r in rows) for k in keys}
    total["percent"] = (
        round(100 * total["inspected"] / total["registered"]) if total["registered"] else 100
    )
    return total


def surveyor_counts(user, survey_round):
    """Per surveyor (and village): inspections, verified, returned, problem toilets."""
    return (
        Inspection.objects.visible_to(user)
        .filter(round=survey_round)
        .values("surveyor__username", "surveyor__first_name", "toilet__village__name")
        .annotate(**status_counts(), problems=Count("id", filter=~Q(usability="normal")))
        .order_by("toilet__village__name", "surveyor__username")
    )


def missing_toilets(user, survey_round, village_code=""):
    """The toilets nobody has inspected yet in the round, optionally of one village (a village
    the user cannot see is a 404)."""
    toilets = (
        round_toilets(user, survey_round)
        .exclude(inspections__round=survey_round)
        .select_related("household", "village__parent")
        .order_by("village__code", "id")
    )
    if village_code:
        toilets = toilets.filter(village=round_village(user, survey_round, village_code))
    return toilets


def area_coverage(user, survey_round, region) -> list[dict]:
    """全覆盖 of one township or county (``region``) for a submission: per village the user may
    see, the toilets in use registered, inspected, verified, and the ids of those still without
    an inspection (``missing_ids``) or with one not yet verified (``unverified_ids``), in id
    order. Four queries whatever the number of villages or toilets."""
    prefix = region.prefix
    villages = list(round_villages(user, survey_round).filter(code__startswith=prefix))
    toilets = round_toilets(user, survey_round).filter(village__code__startswith=prefix)
    registered = dict(
        toilets.order_by().values("village").annotate(n=Count("id")).values_list("village", "n")
    )
    inspected = {
        row["toilet__village"]: row
        for row in Inspection.objects.visible_to(user)
        .filter(
            round=survey_round,
            toilet__status=ToiletStatus.ACTIVE,
            toilet__village__code__startswith=prefix,
        )
        .order_by()
        .values("toilet__village")
        .annotate(**status_counts())
    }
    own = Inspection.objects.filter(round=survey_round, toilet=OuterRef("pk"))
    incomplete = (
        toilets.annotate(inspection_status=Subquery(own.values("status")[:1]))
        .filter(Q(inspection_status__isnull=True) | ~Q(inspection_status=InspectionStatus.VERIFIED))
        .order_by("id")
        .values_list("id", "village", "inspection_status")
    )
    missing, unverified = {}, {}
    for pk, village, status in incomplete:
        (missing if status is None else unverified).setdefault(village, []).append(pk)
    rows = []
    for village in villages:
        row = inspected.get(village.pk, {})
        rows.append(
            {
                "village": village,
                "registered": registered.get(village.pk, 0),
                "inspected": row.get("n", 0),
                "verified": row.get("verified", 0),
                "missing_ids": missing.get(village.pk, []),
                "unverified_ids": unverified.get(village.pk, []),
            }
        )
    return rows


def current_rounds(counties) -> dict[int, SurveyRound]:
    """Each county's current round: its open one, else its latest opened one (one query).
    What the city and province pages (overview, briefings, spot-check campaigns) read."""
    rounds = (
        SurveyRound.objects.filter(county__in=counties)
        .exclude(status=RoundStatus.DRAFT)
        .select_related("template")
        .annotate(
            open_first=Case(
                When(status=RoundStatus.OPEN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("county_id", "open_first", "-start_date", "-id")
    )
    found: dict[int, SurveyRound] = {}
    for survey_round in rounds:
        found.setdefault(survey_round.county_id, survey_round)
    return found

"""Reads of the survey pages that pages and exports share: what a round covers, the township's
review queue, the counts per village and the toilets not yet inspected. Everything is read
through ``visible_to(user)``; a village outside the user's scope is ``InvalidFilter`` (404)."""

from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Value, When

from core.web.filters import InvalidFilter
from regions.models import Region
from toilets.choices import ToiletStatus
from toilets.models import Toilet

from .choices import InspectionStatus
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


def worklist_toilets(user, survey_round):
    """The round's toilets for the worklist: returned first, then not yet surveyed (with
    toilets still open from an earlier round flagged ``recheck`` by the hook's receivers),
    then submitted, then the rest; each with its inspection's id, status and return reason."""
    own = Inspection.objects.filter(round=survey_round, toilet=OuterRef("pk"))
    extra = {"recheck": Value(False)}
    for annotations in worklist_annotations.send(survey_round=survey_round):
        extra.update(annotations)
    return (
        round_toilets(user, survey_round)
        .select_related("household", "village")
        .annotate(
            inspection_id=Subquery(own.values("pk")[:1]),
            inspection_status=Subquery(own.values("status")[:1]),
            return_reason=Subquery(own.values("return_reason")[:1]),
            **extra,
            rank=Case(
                When(inspection_status=InspectionStatus.RETURNED, then=Value(0)),
                When(inspection_status__isnull=True, then=Value(1)),
                When(inspection_status=InspectionStatus.SUBMITTED, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            ),
        )
        .order_by("rank", "-recheck", "household__group_name", "id")
    )


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

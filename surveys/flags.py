"""Office-made detection (办公室摸排): signs that an inspection was not entered on site.

The seeds warn against "搞办公室摸排": inspections typed in at a desk instead of at the
toilet. None of these signs proves it; each is a prompt for the township or county to look,
and a reviewer who has checked it clears it with a note (``clear_flag``).

Rules, each one ``FlagKind``:

- BURST: the surveyor's account saved this inspection and at least ``BURST_MIN_OTHERS`` others
  within ``BURST_WINDOW`` of each other (by ``created_at``, the server's clock, which the
  surveyor cannot set). Nobody walks to three toilets in a minute.
- REUSED_PHOTO: one of its photos has the same SHA-256 as a photo of an inspection of another
  toilet; both inspections are flagged. (The same toilet photographed again in a later round
  is not this rule's business.) Its detail is ``REUSED_PHOTO_DETAIL``, naming neither the
  other inspection nor its village: the two may lie in different townships.
- NO_PHOTO: a problem toilet (不能使用 / 不能全年使用) without any photo.
- FAR_FROM_TOILET: a photo's GPS lies more than ``FAR_METRES`` from the toilet's recorded
  position.
- FAR_FROM_VILLAGE: a photo's GPS lies more than ``FAR_METRES`` from every toilet of the same
  village with a recorded position. This catches the toilet that has no position of its own.
  The toilet's own position counts as one of the village's, so a photo taken right at an
  outlying toilet is not flagged just because its neighbours are far; a village with no
  positioned toilet has nothing to compare against and is never flagged.

Distances are great-circle (haversine) on a sphere of ``EARTH_RADIUS_METRES``.
"""

import logging
from bisect import bisect_left, bisect_right
from collections import defaultdict
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When

from core.errors import ConflictError
from core.geo import FAR_METRES, distance_metres
from regions.choices import MANAGE_ROUNDS, VERIFY
from regions.scoping import has_capability
from toilets.models import Toilet

from .choices import PROBLEM_USABILITY
from .models import FlagKind, Inspection, InspectionFlag, InspectionPhoto

logger = logging.getLogger(__name__)

BURST_WINDOW = timedelta(seconds=60)  # inclusive: saves exactly 60 s apart still count
BURST_MIN_OTHERS = 2  # this inspection plus at least two others: three saves in a minute
DETAIL_MAX = 200  # InspectionFlag.detail's max_length
NOTE_MAX = 200  # InspectionFlag.cleared_note's max_length
# REUSED_PHOTO's stored detail names nothing about the other inspection: the flag is shown
# to everyone who sees the flagged inspection, and the other one may be outside their scope.
REUSED_PHOTO_DETAIL = "该照片也用于本县另一厕所的摸排记录"


def _short(text: str) -> str:
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


# Rules ------------------------------------------------------------------------------------


def _burst_sizes(times: list) -> list[int]:
    """For each save (``times`` sorted), the largest number of saves, itself included, that fit
    in one window with it.

    A window [start, start + BURST_WINDOW] that contains a save starts at a save no later than
    it and no earlier than it minus the window; each start's count is found once by bisection,
    so the whole run is O(n log n + n·k) for k saves per window (it was a count over every save
    for every candidate start of every save: O(n²·k), the bulk of a save's time when one
    account saves every second).
    """
    counts = [
        bisect_right(times, start + BURST_WINDOW) - bisect_left(times, start) for start in times
    ]
    sizes = []
    for mine in times:
        first = bisect_left(times, mine - BURST_WINDOW)
        last = bisect_right(times, mine)
        sizes.append(max(counts[first:last]))
    return sizes


def _burst_flags(inspection: Inspection) -> dict[int, str | None]:
    """BURST for this inspection and for every save of the same account near it.

    A new save can complete a burst for its neighbours (within one window), whose own
    windows reach one further window out; hence the two-window fetch.
    """
    centre = inspection.created_at
    rows = list(
        Inspection.objects.filter(
            surveyor_id=inspection.surveyor_id,
            created_at__gte=centre - 2 * BURST_WINDOW,
            created_at__lte=centre + 2 * BURST_WINDOW,
        )
        .order_by("created_at", "id")
        .values_list("id", "created_at")
    )
    times = [t for _, t in rows]
    sizes = _burst_sizes(times)
    seconds = int(BURST_WINDOW.total_seconds())
    result: dict[int, str | None] = {}
    for (pk, when), members in zip(rows, sizes, strict=True):
        if abs(when - centre) > BURST_WINDOW:
            continue
        if members >= BURST_MIN_OTHERS + 1:
            result[pk] = f"同一账号 {seconds} 秒内连续保存了 {members} 条摸排记录"
        else:
            result[pk] = None
    return result


def _reused_photo_flags(inspection: Inspection, hashes: set[str]) -> dict[int, str | None]:
    """REUSED_PHOTO for this inspection and for every inspection sharing a photo with it
    (``hashes``: its own photos' SHA-256)."""
    result: dict[int, str | None] = {inspection.pk: None}
    if not hashes:
        return result
    # Within the inspection's own county: flags are written only where the county can act.
    county_photos = InspectionPhoto.objects.filter(
        inspection__toilet__village__code__startswith=inspection.toilet.village.code[:6]
    )
    photos = list(
        county_photos.filter(sha256__in=hashes).values_list(
            "sha256", "inspection_id", "inspection__toilet_id"
        )
    )
    implicated = {pk for _, pk, _ in photos}
    # The implicated inspections' own photos may match yet other inspections.
    if implicated - {inspection.pk}:
        more = set(
            county_photos.filter(inspection_id__in=implicated)
            .exclude(sha256__in=hashes)
            .values_list("sha256", flat=True)
        )
        if more:
            photos += list(
                county_photos.filter(sha256__in=more).values_list(
                    "sha256", "inspection_id", "inspection__toilet_id"
                )
            )
    holders: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for sha, pk, toilet_id in photos:
        holders[sha].add((pk, toilet_id))
    toilet_of = {pk: toilet_id for _, pk, toilet_id in photos}
    for pk in implicated:
        others = {
            other
            for sha, members in holders.items()
            if (pk, toilet_of[pk]) in members
            for other, other_toilet in members
            if other_toilet != toilet_of[pk]
        }
        if others:
            # Neutral: whoever sees this inspection sees the detail, and the other
            # inspection may lie in another township (no id, village or count here).
            result[pk] = REUSED_PHOTO_DETAIL
        else:
            result[pk] = None
    return result


def _no_photo_flag(inspection: Inspection, photo_count: int) -> str | None:
    if inspection.usability in PROBLEM_USABILITY and photo_count == 0:
        return f"问题厕所（{inspection.get_usability_display()}）没有现场照片"
    return None


def _far_flags(inspection: Inspection, points: list[tuple]) -> dict[str, str | None]:
    toilet = inspection.toilet
    result: dict[str, str | None] = {
        FlagKind.FAR_FROM_TOILET: None,
        FlagKind.FAR_FROM_VILLAGE: None,
    }
    if not points:
        return result
    if toilet.latitude is not None:
        worst = max(
            distance_metres(lat, lon, toilet.latitude, toilet.longitude) for lat, lon in points
        )
        if worst > FAR_METRES:
            result[FlagKind.FAR_FROM_TOILET] = f"照片位置距厕所登记位置 {round(worst)} 米"
    village_points = list(
        Toilet.objects.filter(
            village_id=toilet.village_id, latitude__isnull=False, longitude__isnull=False
        ).values_list("latitude", "longitude")
    )
    if village_points:
        # For each photo the nearest positioned toilet; the flag names the worst photo.
        worst = max(
            min(distance_metres(lat, lon, t_lat, t_lon) for t_lat, t_lon in village_points)
            for lat, lon in points
        )
        if worst > FAR_METRES:
            result[FlagKind.FAR_FROM_VILLAGE] = (
                f"照片位置距本村最近的已定位厕所 {round(worst)} 米"
                f"（本村已定位厕所 {len(village_points)} 个）"
            )
    return result


# Writing ----------------------------------------------------------------------------------


def _apply(wanted: dict[int, dict[str, str | None]]) -> None:
    """Make the uncleared flags of these inspections match ``wanted`` (kind → detail, None =
    no flag). Kinds not mentioned for an inspection are left alone. Cleared flags are never
    touched: the reviewer's word stands until somebody looks again.

    At most one query each to read, delete, update and create, whatever the number of
    inspections: a burst's neighbours all change their count at each save of the account."""
    existing = {
        (inspection_id, kind): (pk, detail, cleared_by_id)
        for pk, inspection_id, kind, detail, cleared_by_id in InspectionFlag.objects.filter(
            inspection_id__in=wanted.keys()
        ).values_list("pk", "inspection_id", "kind", "detail", "cleared_by_id")
    }
    to_create, to_delete = [], []
    to_update: dict[str, list[int]] = defaultdict(list)  # new detail → flags
    for inspection_id, kinds in wanted.items():
        for kind, detail in kinds.items():
            flag = existing.get((inspection_id, kind))
            if flag is not None and flag[2] is not None:
                continue
            if detail is None:
                if flag is not None:
                    to_delete.append(flag[0])
            elif flag is None:
                to_create.append(
                    InspectionFlag(inspection_id=inspection_id, kind=kind, detail=_short(detail))
                )
            elif flag[1] != _short(detail):
                to_update[_short(detail)].append(flag[0])
    if to_delete:
        InspectionFlag.objects.filter(pk__in=to_delete, cleared_by__isnull=True).delete()
    if to_update:
        # One UPDATE with a branch per new text (a burst's neighbours share a few counts),
        # not one per flag as bulk_update builds it.
        InspectionFlag.objects.filter(
            pk__in=[pk for pks in to_update.values() for pk in pks], cleared_by__isnull=True
        ).update(
            detail=Case(
                *[When(pk__in=pks, then=Value(detail)) for detail, pks in to_update.items()],
                default=F("detail"),
            )
        )
    if to_create:
        # Two saves at once may both flag a shared neighbour: the second one is a no-op.
        InspectionFlag.objects.bulk_create(to_create, ignore_conflicts=True)


@transaction.atomic
def refresh_flags(inspection: Inspection) -> None:
    """Recompute the office-made flags of ``inspection`` and of the inspections it implicates
    (the same account's saves around it; other toilets' inspections sharing a photo).

    Called after an inspection or its photos are saved, inside that save's transaction (a
    savepoint when nested). Photos are only ever added, so an implicated inspection can only
    gain a flag from this one; recomputing it fully keeps its detail text right.
    """
    inspection = Inspection.objects.select_related("toilet").get(pk=inspection.pk)
    # The photos once: their number, positions and hashes serve three rules.
    photos = list(inspection.photos.order_by("id").values_list("sha256", "latitude", "longitude"))
    points = [(lat, lon) for _, lat, lon in photos if lat is not None and lon is not None]
    wanted: dict[int, dict[str, str | None]] = defaultdict(dict)
    wanted[inspection.pk][FlagKind.NO_PHOTO] = _no_photo_flag(inspection, len(photos))
    wanted[inspection.pk].update(_far_flags(inspection, points))
    for pk, detail in _burst_flags(inspection).items():
        wanted[pk][FlagKind.BURST] = detail
    hashes = {sha for sha, _, _ in photos}
    for pk, detail in _reused_photo_flags(inspection, hashes).items():
        wanted[pk][FlagKind.REUSED_PHOTO] = detail
    _apply(wanted)


@transaction.atomic
def clear_flag(*, actor, flag: InspectionFlag, note: str) -> InspectionFlag:
    """A reviewer has looked and found the inspection genuine (or dealt with it): the flag
    stays, marked cleared with who and why, and no later refresh brings it back."""
    if not (has_capability(actor, VERIFY) or has_capability(actor, MANAGE_ROUNDS)):
        raise PermissionDenied("只有乡镇审核员或县级管理员可以核实疑似办公室摸排的提示。")
    if not InspectionFlag.objects.visible_to(actor).filter(pk=flag.pk).exists():
        raise PermissionDenied("该记录不在您的管辖范围内。")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "请填写核实说明（如：已电话核实农户、已到现场查看）。"})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": f"核实说明不能超过 {NOTE_MAX} 字。"})
    cleared = InspectionFlag.objects.filter(pk=flag.pk, cleared_by__isnull=True).update(
        cleared_by=actor, cleared_note=note
    )
    if not cleared:
        raise ConflictError("该提示已由他人核实，无需重复操作。")
    flag.refresh_from_db()
    logger.info(
        "flag %s (%s) on inspection %s cleared by %s: %s",
        flag.pk,
        flag.kind,
        flag.inspection_id,
        actor,
        note,
    )
    return flag

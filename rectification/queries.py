"""The ledger's reads: the querysets and counts the pages, the home page and the exports share.

Every read starts from ``visible_to(user)``: another region's entry is never in a queryset
built here. Nothing here writes; the moves go through ``services``.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, Sum
from django.urls import reverse
from django.utils import timezone

from regions.choices import PLAN_ACCEPT, RECTIFY, REVIEW_CLOSEOUTS
from regions.scoping import has_capability
from surveys.models import Inspection, InspectionFlag, InspectionPhoto
from toilets.models import Toilet

from .choices import OVERDUE_STATES, LedgerState, PhotoKind
from .filters import QUEUES
from .models import EvidencePhoto, LedgerEntry, LedgerLog, OverdueSnapshot

# Whose work each queue is; the overdue queue is everybody's concern.
QUEUE_CAPABILITY = {
    "to_plan": PLAN_ACCEPT,
    "to_rectify": RECTIFY,
    "to_accept": PLAN_ACCEPT,
    "to_close": PLAN_ACCEPT,
    "to_review": REVIEW_CLOSEOUTS,
    "overdue": None,
}


@dataclass(frozen=True)
class Tab:
    """A count above a list, linking to the list filtered down to it."""

    key: str
    label: str
    count: int
    url: str
    current: bool = False


# Queues and counts --------------------------------------------------------------------------


def queues_for(user) -> list[str]:
    return [
        key
        for key in QUEUES
        if QUEUE_CAPABILITY[key] is None or has_capability(user, QUEUE_CAPABILITY[key])
    ]


def _queue_q(key: str, today) -> Q:
    if key == "overdue":
        return Q(state__in=OVERDUE_STATES, deadline__lt=today)
    return Q(**QUEUES[key][1])


def ledger_counts(entries, queues, today=None) -> tuple[dict[str, int], dict[str, int]]:
    """Entries per state and per queue, in one aggregate query."""
    today = today or timezone.localdate()
    aggregates = {f"s_{state}": Count("pk", filter=Q(state=state)) for state in LedgerState}
    aggregates |= {f"q_{key}": Count("pk", filter=_queue_q(key, today)) for key in queues}
    row = entries.order_by().aggregate(**aggregates)
    return (
        {state: row[f"s_{state}"] for state in LedgerState},
        {key: row[f"q_{key}"] for key in queues},
    )


def home_queues(user) -> list[Tab]:
    """The user's work queues with their counts, for the home page's card."""
    queues = queues_for(user)
    _, counts = ledger_counts(LedgerEntry.objects.visible_to(user), queues)
    url = reverse("rectification:ledger")
    return [Tab(k, QUEUES[k][0], counts[k], f"{url}?queue={k}") for k in queues]


def unfiltered_by(filterset, names):
    """The filterset's rows with the filters in ``names`` left out (the counts above the list
    are taken over the rows of every other filter, so each count says where a click leads)."""
    if not filterset.is_bound:
        return filterset.queryset
    if not filterset.is_valid():
        return filterset.queryset.none()
    rows = filterset.queryset.all()
    for name, value in filterset.form.cleaned_data.items():
        if name not in names:
            rows = filterset.filters[name].filter(rows, value)
    return rows


def overdue_trend(user, today, days: int) -> list[dict]:
    """The overdue count the daily task recorded, per day over the last ``days`` days."""
    since = today - datetime.timedelta(days=days - 1)
    return list(
        OverdueSnapshot.objects.visible_to(user)
        .filter(day__gte=since, day__lte=today)
        .values("day")
        .annotate(total=Sum("count"))
        .order_by("day")
    )


# Entries --------------------------------------------------------------------------------------


def visible_entries(user):
    """The entries ``user`` may see, with what every page names them by."""
    return LedgerEntry.objects.visible_to(user).select_related(
        "toilet__household", "toilet__village__parent", "found_in"
    )


def notice_entries(user):
    """The entries as the printable 整改告知单 shows them."""
    return visible_entries(user).prefetch_related("categories")


def detail_entries(user):
    """The entries as the entry page shows them: the inspections behind them, the reviewer."""
    return (
        visible_entries(user)
        .select_related(
            "opened_by_inspection__round",
            "opened_by_inspection__surveyor",
            "last_inspection__round",
            "last_inspection__surveyor",
            "reviewed_by",
        )
        .prefetch_related("categories")
    )


def acceptance_entries(user):
    """The entries as the bulk acceptance page shows them, each with its after photos."""
    return visible_entries(user).prefetch_related(
        "categories",
        Prefetch(
            "photos",
            queryset=EvidencePhoto.objects.filter(kind=PhotoKind.AFTER).order_by("-id"),
            to_attr="after_photos",
        ),
    )


def before_photos(user, entry):
    """The photos of the inspections that opened and last updated ``entry``."""
    inspections = {entry.opened_by_inspection_id, entry.last_inspection_id}
    return (
        InspectionPhoto.objects.visible_to(user)
        .filter(inspection_id__in=inspections)
        .select_related("uploaded_by", "inspection__round")
        .order_by("inspection__inspected_at", "id")
    )


def entry_logs(user, entry):
    """The entry's log, each row with its evidence photos, checks and consent."""
    return (
        LedgerLog.objects.visible_to(user)
        .filter(entry=entry)
        .select_related("actor", "consent")
        .prefetch_related(
            Prefetch(
                "photos",
                queryset=EvidencePhoto.objects.select_related("uploaded_by", "village"),
            ),
            "checks",
        )
    )


def evidence_inspections(user, entry) -> list:
    """The inspections behind ``entry`` (the one that opened it and the latest), oldest first,
    each with its photos (``shown_photos``) and its uncleared office-made flags
    (``open_flags``): what the township weighs when it accepts. Three queries."""
    ids = {entry.opened_by_inspection_id, entry.last_inspection_id}
    return list(
        Inspection.objects.visible_to(user)
        .filter(pk__in=ids)
        .select_related("round", "surveyor")
        .prefetch_related(
            Prefetch(
                "photos",
                queryset=InspectionPhoto.objects.select_related("uploaded_by").order_by("id"),
                to_attr="shown_photos",
            ),
            Prefetch(
                "flags",
                queryset=InspectionFlag.objects.filter(cleared_by__isnull=True).order_by("id"),
                to_attr="open_flags",
            ),
        )
        .order_by("inspected_at", "id")
    )


def after_photos(user, entry):
    """The entry's 整改后 photos, newest first, with what their captions name."""
    return (
        EvidencePhoto.objects.visible_to(user)
        .filter(entry=entry, kind=PhotoKind.AFTER)
        .select_related("uploaded_by", "village")
        .order_by("-id")
    )


# Households (一户一档) ----------------------------------------------------------------------


def household_story(households, user, *, evidence=False):
    """``households`` as 一户一档 tells their story: each with its toilets (oldest first), each
    toilet with its inspections (newest first: round, surveyor, categories, photos) and its
    ledger entries (newest first), all read through ``user``'s scoping. With ``evidence`` (the
    village book), each entry also has its categories and its log, oldest first, each row
    with its evidence photos, acceptance checks and consent. A fixed number of queries
    whatever the number of households: 5, or 10 with ``evidence``."""
    entries = LedgerEntry.objects.visible_to(user).order_by("-created_at", "-id")
    if evidence:
        entries = entries.select_related("found_in").prefetch_related(
            "categories",
            Prefetch(
                "log",
                queryset=LedgerLog.objects.visible_to(user)
                .select_related("actor", "consent")
                .prefetch_related(
                    Prefetch(
                        "photos",
                        queryset=EvidencePhoto.objects.visible_to(user).order_by("id"),
                    ),
                    "checks",
                )
                .order_by("at", "id"),
            ),
        )
    inspections = (
        Inspection.objects.visible_to(user)
        .select_related("round", "surveyor")
        .prefetch_related("categories", "photos")
        .order_by("-inspected_at")
    )
    return households.select_related("village__parent").prefetch_related(
        Prefetch(
            "toilets",
            queryset=Toilet.objects.visible_to(user)
            .order_by("id")
            .prefetch_related(
                Prefetch("inspections", queryset=inspections),
                Prefetch("ledger_entries", queryset=entries),
            ),
        )
    )

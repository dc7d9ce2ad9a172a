"""What the home page calls out: what came back to the user to be done again. A surveyor's
inspections the township returned and the ledger entries sent back for rectification; a
township's summary submission the county returned. Everything read through ``visible_to``."""

from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse

from rectification.choices import LedgerState
from rectification.models import LedgerEntry, LedgerLog
from regions.choices import INSPECT, RECTIFY, SUBMIT_TOWNSHIP
from regions.scoping import has_capability
from reports.models import Submission, SubmissionKind, SubmissionStatus
from surveys.choices import InspectionStatus
from surveys.models import Inspection

# The ledger's moves that send an entry back to the village: 退回整改 (township), 重新打开 (county).
RETURN_ACTIONS = ("return", "reopen")
SHOWN = 5  # returned entries named on the home page; the link lists them all


def returned_inspections(user, survey_round) -> dict | None:
    """被退回 N 条 in the open round, for who inspects; None when there is nothing to call out."""
    if survey_round is None or not has_capability(user, INSPECT):
        return None
    count = (
        Inspection.objects.visible_to(user)
        .filter(round=survey_round, status=InspectionStatus.RETURNED)
        .count()
    )
    if not count:
        return None
    url = reverse("surveys:worklist")
    return {"count": count, "url": f"{url}?status=returned#list", "round": survey_round}


def returned_entries(user) -> dict | None:
    """Ledger entries sent back to the village to rectify again (their last move was 退回整改
    or 重新打开), with the reason, for who rectifies."""
    if not has_capability(user, RECTIFY):
        return None
    last = LedgerLog.objects.filter(entry=OuterRef("pk")).order_by("-at", "-id")
    entries = (
        LedgerEntry.objects.visible_to(user)
        .filter(state=LedgerState.IN_PROGRESS)
        .annotate(last_action=Subquery(last.values("action")[:1]))
        .filter(last_action__in=RETURN_ACTIONS)
        .annotate(return_note=Subquery(last.values("note")[:1]))
        .select_related("toilet__household")
        .order_by("-state_changed_at", "-id")
    )
    shown = list(entries[: SHOWN + 1])
    if not shown:
        return None
    count = len(shown) if len(shown) <= SHOWN else entries.count()
    url = reverse("rectification:ledger")
    return {
        "count": count,
        "entries": shown[:SHOWN],
        "url": f"{url}?state={LedgerState.IN_PROGRESS}#list",
    }


def returned_submissions(user) -> list[Submission]:
    """The township's summary submissions the county returned and not yet submitted again (no
    later version in the round), for who submits the township's rows."""
    if not has_capability(user, SUBMIT_TOWNSHIP):
        return []
    later = Submission.objects.filter(
        survey_round=OuterRef("survey_round"),
        region=OuterRef("region"),
        version__gt=OuterRef("version"),
    )
    return list(
        Submission.objects.visible_to(user)
        .filter(kind=SubmissionKind.TOWNSHIP, status=SubmissionStatus.RETURNED)
        .exclude(Exists(later))
        .select_related("survey_round", "region")
        .order_by("-reviewed_at", "-id")
    )


def callouts(user, survey_round) -> dict:
    """Everything the home page calls out for ``user`` (empty parts are None or [])."""
    return {
        "returned_inspections": returned_inspections(user, survey_round),
        "returned_entries": returned_entries(user),
        "returned_submissions": returned_submissions(user),
    }

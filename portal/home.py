"""What the home page calls out: what came back to the user to be done again. A surveyor's
inspections the township returned and the ledger entries sent back for rectification; a
township's summary submission the county returned; the township's 报送截止 (days left or
overdue). Everything read through ``visible_to``."""

from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse

from dispatch import problems as work_problems
from dispatch.models import WorkProblem
from public.queries import overdue_callout
from rectification.choices import LedgerState
from rectification.models import LedgerEntry, LedgerLog
from regions import training
from regions.choices import INSPECT, RECTIFY, SUBMIT_TOWNSHIP, Level
from regions.scoping import has_capability, scope_of
from reports.models import Submission, SubmissionKind, SubmissionStatus
from reports.queries import deadline_state, latest_by_round
from surveys.choices import InspectionStatus, RoundStatus
from surveys.models import Inspection, SurveyRound

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


def submission_deadlines(user) -> list[dict]:
    """The 报送截止 of each started round with a deadline whose rows the user's township has
    not had accepted yet: the date, days left or overdue, and the township's submission page."""
    if not has_capability(user, SUBMIT_TOWNSHIP):
        return []
    scope = scope_of(user)
    township = scope.region if scope is not None else None
    if township is None or township.level != Level.TOWNSHIP:
        return []
    rounds = list(
        SurveyRound.objects.visible_to(user)
        .filter(
            status__in=[RoundStatus.OPEN, RoundStatus.CLOSED], submission_deadline__isnull=False
        )
        .order_by("submission_deadline", "id")
    )
    latest = latest_by_round(user, township, rounds) if rounds else {}
    found = []
    for survey_round in rounds:
        submission = latest.get(survey_round.pk)
        if submission is not None and submission.status == SubmissionStatus.ACCEPTED:
            continue
        state = deadline_state(survey_round, submission)
        found.append(
            {
                "round": survey_round,
                "state": state,
                "overdue": -state.days if state.days < 0 else 0,
                "url": reverse("reports:township", args=[survey_round.pk, township.code]),
            }
        )
    return found


def training_callout(user) -> dict | None:
    """岗前培训: how many surveyors and township reviewers of the region have no training
    record yet, for who records training (乡镇、县级)."""
    if not training.can_manage(user):
        return None
    url = reverse("training:list")
    return {"untrained": training.untrained_count(user), "url": url,
            "untrained_url": f"{url}?untrained=1"}  # fmt: skip


def work_problems_callout(user) -> dict | None:
    """工作推进中存在的问题 still open, and how many of them are past their deadline, for who
    registers and rectifies them."""
    if not work_problems.can_manage(user):
        return None
    url = reverse("dispatch:problems")
    open_ = WorkProblem.objects.visible_to(user).open()
    return {"open": open_.count(), "overdue": open_.overdue().count(), "url": url,
            "overdue_url": f"{url}?overdue=true#list"}  # fmt: skip


def callouts(user, survey_round) -> dict:
    """Everything the home page calls out for ``user`` (empty parts are None or [])."""
    return {
        "returned_inspections": returned_inspections(user, survey_round),
        "returned_entries": returned_entries(user),
        "returned_submissions": returned_submissions(user),
        "submission_deadlines": submission_deadlines(user),
        "public_leads": overdue_callout(user),
        "awaiting_training": training.awaiting(user),
        "training": training_callout(user),
        "work_problems": work_problems_callout(user),
    }

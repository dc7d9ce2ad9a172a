"""Writes of the work-process problem register (工作推进中存在的问题, seed 001).

Each function takes ``actor=``, reads the problem through ``WorkProblem.objects.visible_to``
(a township its own, a county its own and its townships'), checks the capability, locks the
row, checks the state against ``TRANSITIONS``, writes the change and one immutable
``WorkProblemLog`` row in one transaction, and logs. A move that does not apply to the
problem's state is refused with a ``ConflictError`` saying why, in Chinese.

    待整改 ──开始整改──▶ 整改中 ──整改销号（说明 + 佐证材料）──▶ 已整改销号
                           ▲                                      │
                           └──────────重新打开（县级，须说明原因）─────┘
"""

import datetime
import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.concurrency import check_version
from core.errors import ConflictError
from regions.choices import MANAGE_WORK_PROBLEMS, REVIEW_CLOSEOUTS, Level
from regions.guards import require
from regions.models import Region
from regions.scoping import has_capability

from . import evidence
from .choices import WorkProblemCategory
from .choices import WorkProblemState as S
from .models import WorkProblem, WorkProblemEvidence, WorkProblemLog

logger = logging.getLogger(__name__)

TITLE_MAX = 100
TEXT_MAX = 2000
RESPONSIBLE_MAX = 50
REASON_MAX = 500
EDITABLE = ("category", "title", "description", "measures", "deadline", "responsible", "found_on")

NOT_ALLOWED = "只有乡镇审核员或县级管理员可以登记和整改工作推进中存在的问题。"
NOT_FOUND = "该问题不存在或不在您的管辖范围内。"


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str
    capability: str


TRANSITIONS = {
    t.action: t
    for t in [
        Transition("start", "开始整改", (S.OPEN,), S.IN_PROGRESS, MANAGE_WORK_PROBLEMS),
        Transition("close", "整改销号", (S.IN_PROGRESS,), S.CLOSED, MANAGE_WORK_PROBLEMS),
        Transition("reopen", "重新打开", (S.CLOSED,), S.IN_PROGRESS, REVIEW_CLOSEOUTS),
    ]
}
LABELS = {"create": "登记问题", "update": "修改", **{a: t.label for a, t in TRANSITIONS.items()}}

# Why a move does not apply, by (action, current state); the general wording otherwise.
REFUSALS = {
    ("start", S.IN_PROGRESS): "该问题已在整改中。",
    ("start", S.CLOSED): "该问题已整改销号；如需重新整改，请由县级重新打开。",
    ("close", S.OPEN): "尚未开始整改的问题不能销号：请先点“开始整改”，落实整改措施后再销号。",
    ("close", S.CLOSED): "该问题已整改销号，不能重复销号。",
    ("reopen", S.OPEN): "只有已整改销号的问题可以重新打开。",
    ("reopen", S.IN_PROGRESS): "只有已整改销号的问题可以重新打开。",
}
EDIT_CLOSED = "已整改销号的问题不能修改；如需更正，请由县级重新打开。"


def action_label(action: str) -> str:
    return LABELS.get(action, action)


# Who may do what ---------------------------------------------------------------------------


def can_manage(user) -> bool:
    return has_capability(user, MANAGE_WORK_PROBLEMS)


def can_reopen(user) -> bool:
    return has_capability(user, REVIEW_CLOSEOUTS)


def allowed_moves(user, problem: WorkProblem) -> list[Transition]:
    """The moves ``user`` may make on ``problem`` in its current state (for the buttons)."""
    return [
        t
        for t in TRANSITIONS.values()
        if problem.state in t.sources and has_capability(user, t.capability)
    ]


def units_for(user):
    """The regions ``user`` may register a problem for: its own township, or its county and
    the county's townships."""
    return (
        Region.objects.visible_to(user)
        .filter(level__in=[Level.TOWNSHIP, Level.COUNTY], abolished=False)
        .order_by("code")
    )


def _locked(actor, problem) -> WorkProblem:
    try:
        return WorkProblem.objects.visible_to(actor).select_for_update().get(pk=problem.pk)
    except WorkProblem.DoesNotExist as exc:
        raise PermissionDenied(NOT_FOUND) from exc


# Values ------------------------------------------------------------------------------------


def _text(data, key, what, limit, errors, *, required=True) -> str:
    value = (data.get(key) or "").strip()
    if required and not value:
        errors[key] = f"请填写{what}。"
    elif len(value) > limit:
        errors[key] = f"{what}不能超过 {limit} 字。"
    return value


def _clean(data: dict) -> dict:
    """The editable fields checked together: every message at once."""
    errors = {}
    values = {
        "title": _text(data, "title", "问题", TITLE_MAX, errors),
        "description": _text(data, "description", "问题描述", TEXT_MAX, errors),
        "measures": _text(data, "measures", "整改措施", TEXT_MAX, errors),
        "responsible": _text(data, "responsible", "责任人", RESPONSIBLE_MAX, errors),
    }
    category = data.get("category")
    if category not in WorkProblemCategory.values:
        errors["category"] = "请选择问题类别。"
    values["category"] = category
    found_on = data.get("found_on") or timezone.localdate()
    deadline = data.get("deadline")
    if not isinstance(found_on, datetime.date):
        errors["found_on"] = "请填写发现日期。"
    elif found_on > timezone.localdate():
        errors["found_on"] = "发现日期不能晚于今天。"
    if not isinstance(deadline, datetime.date):
        errors["deadline"] = "请填写整改时限。"
    elif isinstance(found_on, datetime.date) and deadline < found_on:
        errors["deadline"] = "整改时限不能早于发现日期。"
    values.update(found_on=found_on, deadline=deadline)
    if errors:
        raise ValidationError(errors)
    return values


def _log(problem, actor, action, from_state, note="", at=None) -> WorkProblemLog:
    return WorkProblemLog.objects.create(
        problem=problem,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=problem.state,
        note=note,
        at=at or timezone.now(),
    )


# Services ----------------------------------------------------------------------------------


def create_problem(*, actor, region: Region, **data) -> WorkProblem:
    """Register a problem of ``region`` (a township, or the county itself) in the actor's
    scope: 待整改."""
    require(actor, MANAGE_WORK_PROBLEMS, NOT_ALLOWED)
    values = _clean(data)
    if region is None or not units_for(actor).filter(pk=region.pk).exists():
        raise ValidationError({"region": "请选择本乡镇（街道）或本县（区）及所辖乡镇。"})
    now = timezone.now()
    with transaction.atomic():
        problem = WorkProblem.objects.create(
            region=region,
            created_by=actor,
            created_at=now,
            state_changed_at=now,
            **values,
        )
        _log(problem, actor, "create", "", at=now)
    logger.info("work problem %s registered in %s by %s", problem.pk, region.code, actor)
    return problem


def update_problem(*, actor, problem: WorkProblem, expected_version=None, **data) -> WorkProblem:
    """Edit the problem's description, measures, deadline or who is responsible, while it is
    not closed; ``expected_version`` refuses an edit of a problem changed meanwhile."""
    require(actor, MANAGE_WORK_PROBLEMS, NOT_ALLOWED)
    values = _clean(data)
    with transaction.atomic():
        locked = _locked(actor, problem)
        check_version(locked.version, expected_version)
        if locked.state == S.CLOSED:
            raise ConflictError(EDIT_CLOSED)
        changed = [f for f in EDITABLE if getattr(locked, f) != values[f]]
        if not changed:
            return locked
        labels = "、".join(str(WorkProblem._meta.get_field(f).verbose_name) for f in changed)
        for field in changed:
            setattr(locked, field, values[field])
        locked.version += 1
        locked.save()
        _log(locked, actor, "update", locked.state, note=f"修改了{labels}")
    logger.info("work problem %s edited by %s: %s", locked.pk, actor, changed)
    return locked


def _move(actor, problem, action, *, note="", expected_version=None, **changes):
    move = TRANSITIONS[action]
    locked = _locked(actor, problem)
    require(actor, move.capability, _capability_message(action))
    check_version(locked.version, expected_version)
    if locked.state not in move.sources:
        raise ConflictError(
            REFUSALS.get(
                (action, locked.state),
                f"当前状态为“{locked.get_state_display()}”，不能{move.label}。",
            )
        )
    from_state = locked.state
    now = timezone.now()
    locked.state = move.target
    locked.state_changed_at = now
    locked.version += 1
    for field, value in changes.items():
        setattr(locked, field, value(now) if callable(value) else value)
    locked.save()
    log = _log(locked, actor, action, from_state, note=note, at=now)
    logger.info("work problem %s: %s (%s → %s) by %s", locked.pk, action, from_state,
                locked.state, actor)  # fmt: skip
    return locked, log


def _capability_message(action: str) -> str:
    if action == "reopen":
        return "只有县级管理员可以重新打开已销号的问题。"
    return NOT_ALLOWED


@transaction.atomic
def start_problem(*, actor, problem: WorkProblem, expected_version=None) -> WorkProblem:
    """待整改 → 整改中."""
    locked, _log_row = _move(actor, problem, "start", expected_version=expected_version)
    return locked


def close_problem(
    *, actor, problem: WorkProblem, note: str, files, expected_version=None
) -> WorkProblem:
    """整改中 → 已整改销号, with what was done (text) and at least one photo or document,
    each checked before it is stored (``dispatch.evidence``)."""
    require(actor, MANAGE_WORK_PROBLEMS, NOT_ALLOWED)
    errors = {}
    note = _text({"note": note}, "note", "整改情况说明", TEXT_MAX, errors)
    try:
        cleaned = evidence.clean_files(files)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        cleaned = []
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked, log = _move(
            actor,
            problem,
            "close",
            note=note,
            expected_version=expected_version,
            closed_at=lambda now: now,
            closing_note=note,
        )
        for item in cleaned:
            WorkProblemEvidence.objects.create(
                problem=locked,
                log=log,
                kind=item.kind,
                file=item.content,
                name=item.name,
                content_type=item.content_type,
                size=item.size,
                sha256=item.sha256,
                uploaded_by=actor,
            )
    return locked


@transaction.atomic
def reopen_problem(*, actor, problem: WorkProblem, reason: str, expected_version=None):
    """已整改销号 → 整改中, by the county on review (复核), with the reason."""
    require(actor, REVIEW_CLOSEOUTS, _capability_message("reopen"))
    errors = {}
    reason = _text({"reason": reason}, "reason", "重新打开的原因", REASON_MAX, errors)
    if errors:
        raise ValidationError(errors)
    locked, _log_row = _move(
        actor,
        problem,
        "reopen",
        note=reason,
        expected_version=expected_version,
        closed_at=None,
        closing_note="",
    )
    return locked

"""The close-out workflow as one table: every allowed move of a ledger entry, who may make it,
and what it needs. ``services.transition`` refuses everything not in this table."""

from dataclasses import dataclass

from regions.choices import PLAN_ACCEPT, RECTIFY, REVIEW_CLOSEOUTS

from .choices import LedgerState as S


@dataclass(frozen=True)
class Transition:
    action: str
    label: str  # the button and the log's verb
    sources: tuple[str, ...]
    target: str | None  # None: the state stays (an edit or a review stamp)
    capability: str
    needs: str = ""  # "plan", "photos", "checklist", "consent", "reason" or ""


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        Transition("plan", "制定整改方案", (S.REGISTERED,), S.PLANNED, PLAN_ACCEPT, "plan"),
        Transition("replan", "修改整改方案", (S.PLANNED, S.IN_PROGRESS), None, PLAN_ACCEPT, "plan"),
        Transition("start", "开始整改", (S.PLANNED,), S.IN_PROGRESS, PLAN_ACCEPT),
        Transition("quick_fix", "立行立改", (S.REGISTERED,), S.RECTIFIED, RECTIFY, "photos"),
        Transition("rectify", "登记已整改", (S.IN_PROGRESS,), S.RECTIFIED, RECTIFY, "photos"),
        Transition("accept", "验收通过", (S.RECTIFIED,), S.ACCEPTED, PLAN_ACCEPT, "checklist"),
        Transition(
            "return", "退回整改", (S.RECTIFIED, S.ACCEPTED), S.IN_PROGRESS, PLAN_ACCEPT, "reason"
        ),
        Transition("close", "销号", (S.ACCEPTED,), S.CLOSED, PLAN_ACCEPT, "consent"),
        Transition("review", "复核通过", (S.CLOSED,), None, REVIEW_CLOSEOUTS),
        Transition("reopen", "重新打开", (S.CLOSED,), S.IN_PROGRESS, REVIEW_CLOSEOUTS, "reason"),
    ]
}  # fmt: skip


def allowed_from(state: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if state in t.sources]


# Log rows written outside the table, by the inspections keeping the ledger in step.
SYNC_ACTIONS = {
    "register": "登记问题",
    "inspect": "摸排更新",
    "withdraw": "撤销登记",
    "import": "台账导入",
    "report": "群众反映",
}


def action_label(action: str) -> str:
    """The verb a log row is shown with, on pages, in exports and in the API."""
    move = TRANSITIONS.get(action)
    return move.label if move is not None else SYNC_ACTIONS.get(action, action)

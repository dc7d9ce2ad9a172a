"""The 一户一档 timeline: every recorded change to a household and its toilets, its
inspections and its ledger entries, newest first."""

from dataclasses import dataclass
from datetime import datetime

from core.users import display_name
from rectification.choices import LedgerState
from rectification.models import LedgerLog
from rectification.workflow import action_label
from surveys.models import Inspection
from toilets.models import Toilet

LIMIT = 50
_VERBS = {"+": "登记了", "~": "修改了", "-": "删除了"}


@dataclass(frozen=True)
class Event:
    when: datetime
    who: str
    what: str


def _who(record) -> str:
    return "系统" if record.history_user is None else display_name(record.history_user)


def household_timeline(household) -> list[Event]:
    toilet_ids = [t.pk for t in household.toilets.all()]
    events = [
        Event(h.history_date, _who(h), f"{_VERBS[h.history_type]}农户信息")
        for h in household.history.select_related("history_user")[:LIMIT]
    ]
    events += [
        Event(
            t.history_date,
            _who(t),
            f"{_VERBS[t.history_type]}厕所（{t.get_tech_type_display()}，{t.build_year} 年，"
            f"{t.get_status_display()}）",
        )
        for t in Toilet.history.filter(id__in=toilet_ids).select_related("history_user")[:LIMIT]
    ]
    events += _inspection_events(toilet_ids)
    events += _ledger_events(toilet_ids)
    return sorted(events, key=lambda e: e.when, reverse=True)[:LIMIT]


def _inspection_events(toilet_ids) -> list[Event]:
    records = (
        Inspection.history.filter(toilet_id__in=toilet_ids)
        .select_related("history_user", "round")
        .order_by("-history_date")[:LIMIT]
    )
    events = []
    for r in records:
        if r.history_type == "+":
            what = f"录入摸排（{r.round.name}：{r.get_usability_display()}）"
        elif r.status == "verified":
            what = f"核查通过摸排记录（{r.round.name}）"
        elif r.status == "returned":
            what = f"退回摸排记录（{r.round.name}）：{r.return_reason}"
        else:
            what = f"修改摸排（{r.round.name}：{r.get_usability_display()}）"
        events.append(Event(r.history_date, _who(r), what))
    return events


def _ledger_events(toilet_ids) -> list[Event]:
    """The problem ledger's log: "问题台账：登记 → 已制定方案（说明）"."""
    rows = (
        LedgerLog.objects.filter(entry__toilet_id__in=toilet_ids)
        .select_related("actor")
        .order_by("-at", "-id")[:LIMIT]
    )
    events = []
    for row in rows:
        to_state = LedgerState(row.to_state).label
        if not row.from_state:
            what = f"问题台账：{to_state}"
        elif row.from_state != row.to_state:
            what = f"问题台账：{LedgerState(row.from_state).label} → {to_state}"
        else:
            what = f"问题台账：{action_label(row.action)}（{to_state}）"
        if row.note:
            what += f"（{row.note}）"
        events.append(Event(row.at, display_name(row.actor), what))
    return events

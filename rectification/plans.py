"""Township rectification plans (整改方案) filed with the county (审核备案), seed 001:
以乡镇为单位…制定整改方案…报县级农村厕所革命主抓部门审核备案；要明确整改重点、技术路线、力量组织、
经费保障、时限要求.

One ``RectificationPlan`` per township and round. The township drafts it (the five sections
and the ledger entries it covers), submits it (已报备); the county accepts it for the record
(已备案) or returns it with a reason (已退回); the township corrects and submits again. An
accepted plan can be reopened for revision by the township (修订), which takes it off the
record until the county accepts the revision.

Every move is one atomic call taking ``actor=``, checked against ``PLAN_TRANSITIONS`` (who may
make it, from which state), made with a conditional UPDATE on the plan's version (two clicks
or two reviewers: exactly one wins), and logged in ``PlanLog``. A submission freezes the
sections and the entry ids in its log row.

The reads the pages share (which entries a plan may cover, the 时间表 of its long-term
entries, the county's township × state table) are here too.
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.concurrency import check_version, update_if_unchanged
from core.errors import ConflictError
from regions.choices import PLAN_ACCEPT, REVIEW_SUBMISSIONS, Level
from regions.guards import require
from regions.models import Region
from regions.scoping import has_capability
from surveys.choices import RoundStatus
from surveys.models import SurveyRound
from toilets.choices import Funding

from .choices import (
    ENDED_STATES,
    LONG_TERM_REGION_PLAN_UNTIL,
    PLAN_EDITABLE,
    LedgerState,
    PlanState,
    ProblemClass,
)
from .models import LedgerEntry, PlanLog, RectificationPlan
from .workflow import Transition

logger = logging.getLogger(__name__)

S = PlanState
SECTION_MAX = 2000
REASON_MAX = 300

# The five sections the seed names, in its order: (field, label, what the township writes).
SECTIONS = [
    ("focus", "整改重点", "本乡镇问题厕所的主要问题类型、重点村和重点户"),
    ("tech_route", "技术路线", "按问题原因选定的整改技术模式，宜水则水、宜旱则旱"),
    ("organization", "力量组织", "牵头领导、工作专班、技术人员和施工力量"),
    ("funding", "经费保障", "资金来源和筹措方式：县级计划、乡镇资金、农户自筹"),
    ("timeline", "时限要求", "立行立改和技术指导整改的完成时限；重点难点问题的分年度计划"),
]
SECTION_FIELDS = [name for name, _label, _hint in SECTIONS]


# A plan's move is a ledger transition without ``needs`` (target None: the state stays, as
# when saving a draft or a returned plan).
PlanMove = Transition

PLAN_TRANSITIONS: dict[str, PlanMove] = {
    m.action: m
    for m in [
        PlanMove("save", "保存方案", (S.DRAFT, S.RETURNED), None, PLAN_ACCEPT),
        PlanMove("submit", "报县级备案", (S.DRAFT,), S.SUBMITTED, PLAN_ACCEPT),
        PlanMove("resubmit", "重新报备", (S.RETURNED,), S.SUBMITTED, PLAN_ACCEPT),
        PlanMove("accept", "审核备案", (S.SUBMITTED,), S.ACCEPTED, REVIEW_SUBMISSIONS),
        PlanMove("return", "退回修改", (S.SUBMITTED,), S.RETURNED, REVIEW_SUBMISSIONS),
        PlanMove("revise", "修订方案", (S.ACCEPTED,), S.DRAFT, PLAN_ACCEPT),
    ]
}  # fmt: skip
ACTION_LABELS = {"create": "制定方案"} | {a: m.label for a, m in PLAN_TRANSITIONS.items()}

DENIED = {
    PLAN_ACCEPT: "只有乡镇审核员可以制定、报备或修订本乡镇的整改方案。",
    REVIEW_SUBMISSIONS: "只有县级管理员可以审核备案或退回乡镇整改方案。",
}
STALE = "该整改方案刚刚被他人修改或审核过，您的操作未保存。请刷新后查看最新内容。"
OUT_OF_SCOPE = "该整改方案不在您的管辖范围内。"


# Which entries a plan may cover ---------------------------------------------------------


def round_entry_q(survey_round) -> Q:
    """Ledger entries of the round: found in it, or found in an earlier round of the county
    and still open when it opened (回头看 carries them on); never withdrawn ones."""
    in_round = Q(found_in=survey_round)
    if survey_round.opened_at is not None:
        opened = survey_round.opened_at
        in_round |= Q(found_in__county_id=survey_round.county_id, created_at__lt=opened) & ~Q(
            state=LedgerState.CLOSED, closed_at__lt=opened
        )
    return in_round & ~Q(state=LedgerState.WITHDRAWN)


def eligible_entries(user, survey_round, township):
    """The entries ``user`` may put into ``township``'s plan for ``survey_round``."""
    return (
        LedgerEntry.objects.visible_to(user)
        .filter(toilet__village__code__startswith=township.prefix)
        .filter(round_entry_q(survey_round))
    )


def default_entries(user, survey_round, township):
    """What a new plan covers unless the township picks otherwise: the open entries."""
    return eligible_entries(user, survey_round, township).exclude(state__in=ENDED_STATES)


# Guards ---------------------------------------------------------------------------------


def _move(action: str) -> PlanMove:
    return PLAN_TRANSITIONS[action]


def can(actor, plan, action: str) -> bool:
    """Whether ``actor`` may make ``action`` on ``plan`` now (the pages show only these)."""
    move = PLAN_TRANSITIONS.get(action)
    return (
        move is not None
        and plan.state in move.sources
        and has_capability(actor, move.capability)
        and RectificationPlan.objects.visible_to(actor).filter(pk=plan.pk).exists()
    )


def _township_of(actor, township: Region):
    if township.level != Level.TOWNSHIP:
        raise PermissionDenied("整改方案以乡镇为单位制定。")
    if not Region.objects.visible_to(actor).filter(pk=township.pk).exists():
        raise PermissionDenied("该乡镇不在您的管辖范围内。")


def _round_for(actor, survey_round, township: Region):
    if not SurveyRound.objects.visible_to(actor).filter(pk=survey_round.pk).exists():
        raise PermissionDenied("该摸排轮次不在您的管辖范围内。")
    if not township.code.startswith(survey_round.county.prefix):
        raise PermissionDenied(f"{township.name}不属于“{survey_round.name}”的县（区）。")
    if survey_round.status == RoundStatus.DRAFT:
        raise ConflictError(f"“{survey_round.name}”尚未开启，还没有可纳入整改方案的问题。")


def _current(actor, plan) -> RectificationPlan:
    current = (
        RectificationPlan.objects.visible_to(actor)
        .select_related("township", "survey_round__county")
        .filter(pk=plan.pk)
        .first()
    )
    if current is None:
        raise PermissionDenied(OUT_OF_SCOPE)
    return current


def _refuse_state(current, move: PlanMove):
    if current.state not in move.sources:
        raise ConflictError(f"该整改方案当前为“{current.get_state_display()}”，不能{move.label}。")


def _clean_sections(sections: dict) -> dict:
    cleaned, errors = {}, {}
    for name, label, _hint in SECTIONS:
        value = (sections.get(name) or "").strip()
        if len(value) > SECTION_MAX:
            errors[name] = f"{label}不能超过 {SECTION_MAX} 字。"
        cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_reason(reason: str, *, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"请填写{what}。"})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"{what}不能超过 {REASON_MAX} 字。"})
    return reason


def _entry_ids(actor, plan, entries) -> list[int]:
    """The ids of ``entries`` (entries or ids), refused unless every one belongs to the plan's
    township and round. The message counts them and names none: an entry moved out of the
    township is no longer the user's to see."""
    ids = sorted({e if isinstance(e, int) else e.pk for e in entries})
    if not ids:
        return []
    found = set(
        eligible_entries(actor, plan.survey_round, plan.township)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    stray = [pk for pk in ids if pk not in found]
    if stray:
        raise ValidationError(
            {
                "entries": f"有 {len(stray)} 条问题不属于{plan.township.name}“"
                f"{plan.survey_round.name}”的问题台账（或已撤销、已迁出），不能纳入本方案；"
                "请刷新后重新选择。"
            }
        )
    return ids


def _log(plan, *, actor, action, from_state, to_state, note="", snapshot=None) -> PlanLog:
    return PlanLog.objects.create(
        plan=plan,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note[:REASON_MAX],
        snapshot=snapshot or {},
    )


def _snapshot(plan) -> dict:
    return {
        "sections": {name: getattr(plan, name) for name in SECTION_FIELDS},
        "entries": sorted(plan.entries.values_list("pk", flat=True)),
    }


def _moved(current, **changes) -> bool:
    return update_if_unchanged(
        RectificationPlan.objects.filter(pk=current.pk, state=current.state),
        version=current.version,
        updated_at=timezone.now(),
        **changes,
    )


# The moves ------------------------------------------------------------------------------


def start_plan(*, actor, survey_round, township) -> RectificationPlan:
    """Create the township's draft plan for the round, covering its open entries of the round
    and with the five sections empty. Refused if the plan exists already (ConflictError)."""
    require(actor, PLAN_ACCEPT, DENIED[PLAN_ACCEPT])
    _township_of(actor, township)
    _round_for(actor, survey_round, township)
    try:
        with transaction.atomic():
            plan = RectificationPlan.objects.create(
                survey_round=survey_round, township=township, created_by=actor
            )
            plan.entries.set(default_entries(actor, survey_round, township))
            _log(plan, actor=actor, action="create", from_state="", to_state=S.DRAFT)
    except IntegrityError as exc:
        raise ConflictError(
            f"{township.name}“{survey_round.name}”的整改方案已经有了，请在原方案上修改。"
        ) from exc
    logger.info(
        "plan %s started for %s, round %s by %s", plan.pk, township.code, survey_round.pk, actor
    )
    return plan


def save_plan(
    *, actor, plan, sections: dict, entries, expected_version: int | None = None
) -> RectificationPlan:
    """Save the sections and the covered entries of a draft or returned plan (the state
    stays). Sections may still be empty here; ``submit_plan`` asks for all five."""
    move = _move("save")
    require(actor, move.capability, DENIED[move.capability])
    current = _current(actor, plan)
    _refuse_state(current, move)
    check_version(current.version, expected_version, STALE)
    sections = _clean_sections(sections)
    ids = _entry_ids(actor, current, entries)
    with transaction.atomic():
        if not _moved(current, **sections):
            raise ConflictError(STALE)
        current.entries.set(ids)
        _log(current, actor=actor, action="save", from_state=current.state, to_state=current.state)
    current.refresh_from_db()
    return current


def submit_plan(*, actor, plan, expected_version: int | None = None) -> RectificationPlan:
    """Send a draft (报备) or a returned plan (重新报备) to the county.

    Refused (ValidationError, everything at once) unless all five sections are written and at
    least one entry is covered, every one of the township's and round's; the sections and
    entries are frozen in the log row."""
    require(actor, PLAN_ACCEPT, DENIED[PLAN_ACCEPT])
    current = _current(actor, plan)
    action = "resubmit" if current.state == S.RETURNED else "submit"
    move = _move(action)
    if current.state not in PLAN_EDITABLE:
        raise ConflictError(
            f"该整改方案当前为“{current.get_state_display()}”，不能报备。"
            + ("如需修改，请先点“修订方案”。" if current.state == S.ACCEPTED else "")
        )
    check_version(current.version, expected_version, STALE)
    errors = {}
    for name, label, _hint in SECTIONS:
        if not getattr(current, name).strip():
            errors[name] = f"请填写{label}。"
    ids = list(current.entries.values_list("pk", flat=True))
    if not ids:
        errors["entries"] = "请至少纳入一条问题台账。"
    else:
        try:
            _entry_ids(actor, current, ids)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        if not _moved(
            current,
            state=move.target,
            submitted_by=actor,
            submitted_at=now,
            submissions=current.submissions + 1,
        ):
            raise ConflictError(STALE)
        _log(
            current,
            actor=actor,
            action=action,
            from_state=current.state,
            to_state=move.target,
            note=f"第 {current.submissions + 1} 次报备，纳入问题 {len(ids)} 户",
            snapshot=_snapshot(current),
        )
    logger.info("plan %s %s by %s", current.pk, action, actor)
    current.refresh_from_db()
    return current


def _review(actor, plan, action, expected_version, reason="") -> RectificationPlan:
    move = _move(action)
    require(actor, move.capability, DENIED[move.capability])
    current = _current(actor, plan)
    _refuse_state(current, move)
    check_version(current.version, expected_version, STALE)
    with transaction.atomic():
        if not _moved(
            current,
            state=move.target,
            reviewed_by=actor,
            reviewed_at=timezone.now(),
            return_reason=reason,
        ):
            raise ConflictError(STALE)
        _log(
            current,
            actor=actor,
            action=action,
            from_state=current.state,
            to_state=move.target,
            note=reason,
        )
    logger.info("plan %s %s by %s", current.pk, action, actor)
    current.refresh_from_db()
    return current


def accept_plan(*, actor, plan, expected_version: int | None = None) -> RectificationPlan:
    """The county accepts a submitted plan for the record (审核备案)."""
    return _review(actor, plan, "accept", expected_version)


def return_plan(
    *, actor, plan, reason: str, expected_version: int | None = None
) -> RectificationPlan:
    """The county returns a submitted plan with the reason the township will see."""
    reason = _clean_reason(reason, what="退回原因，乡镇将据此修改后重新报备")
    return _review(actor, plan, "return", expected_version, reason)


def revise_plan(
    *, actor, plan, reason: str, expected_version: int | None = None
) -> RectificationPlan:
    """The township takes an accepted plan back to draft to revise it (new problems found,
    a route changed); it is off the record until the county accepts the revision."""
    move = _move("revise")
    require(actor, move.capability, DENIED[move.capability])
    reason = _clean_reason(reason, what="修订原因")
    current = _current(actor, plan)
    _refuse_state(current, move)
    check_version(current.version, expected_version, STALE)
    with transaction.atomic():
        if not _moved(current, state=move.target, return_reason=""):
            raise ConflictError(STALE)
        _log(
            current,
            actor=actor,
            action="revise",
            from_state=current.state,
            to_state=move.target,
            note=reason,
        )
    current.refresh_from_db()
    return current


# Reads the pages share ------------------------------------------------------------------


def long_term_route(toilet) -> str:
    """The route seed 002 sets for a long-term problem: a fiscally supported toilet built up
    to 2017 goes into the region's toilet plan year by year; a later one is fixed by the
    household year by year with part of the money raised by the township."""
    if toilet.funding != Funding.GOVERNMENT or toilet.build_year is None:
        return "农户自建：乡镇指导农户逐年整改"
    if toilet.build_year <= LONG_TERM_REGION_PLAN_UNTIL:
        return "纳入全区改厕计划逐年整改"
    return "镇筹集部分资金，落实农户自行逐年整改"


@dataclass
class YearRow:
    year: int
    total: int
    closed: int
    region_plan: int  # 2017年及以前财政支持
    township_plan: int  # 2018年及以后财政支持
    self_built: int


def covered(plan, user):
    """The plan's entries as ``user`` may see them: an entry whose toilet has since moved to
    another township is not read through this township's plan."""
    return LedgerEntry.objects.visible_to(user).filter(plans=plan)


def timetable(plan, user) -> list[YearRow]:
    """The plan's long-term entries per planned year (路线图、时间表), one aggregate query."""
    government = Q(toilet__funding=Funding.GOVERNMENT, toilet__build_year__isnull=False)
    rows = (
        covered(plan, user)
        .filter(problem_class=ProblemClass.HARD)
        .order_by()
        .values("target_year")
        .annotate(
            total=Count("pk"),
            closed=Count("pk", filter=Q(state=LedgerState.CLOSED)),
            region_plan=Count(
                "pk", filter=government & Q(toilet__build_year__lte=LONG_TERM_REGION_PLAN_UNTIL)
            ),
            township_plan=Count(
                "pk", filter=government & Q(toilet__build_year__gt=LONG_TERM_REGION_PLAN_UNTIL)
            ),
        )
        .order_by("target_year")
    )
    return [
        YearRow(
            year=r["target_year"],
            total=r["total"],
            closed=r["closed"],
            region_plan=r["region_plan"],
            township_plan=r["township_plan"],
            self_built=r["total"] - r["region_plan"] - r["township_plan"],
        )
        for r in rows
    ]


def plan_counts(plan, user) -> dict:
    """The covered entries per problem class and how many are closed / unplanned."""
    row = (
        covered(plan, user)
        .order_by()
        .aggregate(
            total=Count("pk"),
            closed=Count("pk", filter=Q(state=LedgerState.CLOSED)),
            unclassified=Count("pk", filter=Q(problem_class="")),
            **{f"c_{c}": Count("pk", filter=Q(problem_class=c)) for c in ProblemClass.values},
        )
    )
    row["classes"] = [(c.label, row[f"c_{c}"]) for c in ProblemClass]
    return row


def plans_covering(user, entry) -> list:
    """The plans covering ``entry`` that ``user`` may see, for the entry's page."""
    return list(
        entry.plans.visible_to(user)
        .select_related("survey_round")
        .order_by("-survey_round__start_date", "-pk")
    )


# The county's table: townships × plan state -------------------------------------------------

NOT_SUBMITTED = "none"
STATE_COLUMNS = [
    (NOT_SUBMITTED, "未提交"),
    (S.SUBMITTED, "已报备"),
    (S.ACCEPTED, "已备案"),
    (S.RETURNED, "已退回"),
]


def shown_state(plan) -> str:
    """The state the county sees: a draft has not reached it yet (未提交)."""
    if plan is None or plan.state == S.DRAFT:
        return NOT_SUBMITTED
    return plan.state


def townships_of(user, survey_round, region=None):
    """The townships of the round's county (under ``region`` if given) ``user`` may see;
    abolished townships only when they have a plan."""
    prefix = region.prefix if region is not None else survey_round.county.prefix
    return (
        Region.objects.visible_to(user)
        .filter(level=Level.TOWNSHIP, code__startswith=prefix)
        .filter(code__startswith=survey_round.county.prefix)
        .order_by("code")
    )


def township_rows(user, survey_round, region=None) -> list[tuple]:
    """(township, plan or None, shown state) per township of the round, two queries."""
    townships = list(townships_of(user, survey_round, region))
    plans = {
        p.township_id: p
        for p in RectificationPlan.objects.visible_to(user)
        .filter(survey_round=survey_round, township__in=[t.pk for t in townships])
        .annotate(entry_count=Count("entries"))
        .select_related("submitted_by", "reviewed_by")
    }
    rows = []
    for township in townships:
        plan = plans.get(township.pk)
        if township.abolished and plan is None:
            continue
        rows.append((township, plan, shown_state(plan)))
    return rows


def state_counts(user, survey_round, region=None) -> dict[str, int]:
    """Townships per shown state (the dashboard's panel and the list's counts)."""
    townships = townships_of(user, survey_round, region).filter(abolished=False)
    by_state = dict(
        RectificationPlan.objects.visible_to(user)
        .filter(survey_round=survey_round, township__in=townships)
        .exclude(state=S.DRAFT)
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    counts = {key: by_state.get(key, 0) for key, _label in STATE_COLUMNS if key != NOT_SUBMITTED}
    counts[NOT_SUBMITTED] = townships.count() - sum(counts.values())
    return counts

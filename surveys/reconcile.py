"""回头看 reconciliation: what changed in each village since the previous round, and why.

The 回头看 plans ask whether the last survey covered every toilet (全覆盖、不漏一户) and
whether the register still matches reality (空心户, 一户多厕 found only later). For a round
with a ``previous`` round, every village gets a list of changes; the village's surveyor or
township writes a reason for each (``ReconciliationNote``), and the village counts as done
when every change has one.

What counts as a change (``ChangeKind``), per village, the toilet's current village deciding:

1. A toilet inspected in both rounds whose usability, or whose set of problem categories,
   differs.
2. A toilet inspected last round whose technical type or build year in the register differs
   now from what the register said when the previous round's inspection was saved.
3. A toilet inspected last round but not (yet) this round: demolished, or not re-checked.
4. A toilet inspected this round but not last round (new).
5. A household whose toilet was inspected last round and which is now 长期外出 or 无人户,
   having been something else then (空心户).
6. Such a household that now has more than one toilet in use, having had at most one then
   (一户多厕).

"What the register said then" comes from django-simple-history: the latest history row of the
toilet (or household) saved no later than the previous round's inspection of it (for a
household: the latest of its toilets' inspections). A record with no history row that old
(bulk imports and the demo data write none) has no known earlier state, so no register change
is reported for it; for counting toilets, such a toilet counts as in use then if it had been
created by that time.

A change's key (``toilet:<id>:<kind>`` / ``household:<id>:<kind>``) is stable across page
loads, so a reason stays attached to its change; a reason whose change has gone away (e.g.
the toilet has since been re-checked) is kept but no longer counted.

Everything is computed for many villages at once with a fixed number of queries, so the
county's list of villages costs the same whatever its size.
"""

import bisect
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction

from core.errors import ConflictError
from regions.choices import INSPECT, VERIFY
from regions.models import Region
from regions.scoping import has_capability
from toilets.choices import Occupancy, TechType, ToiletKind, ToiletStatus
from toilets.models import Household, Toilet

from .choices import RoundStatus, Usability
from .models import Inspection, ReconciliationNote, SurveyRound

logger = logging.getLogger(__name__)

REASON_MAX = 200  # ReconciliationNote.reason's max_length
# Occupancies that make a household 空心 (nobody, or nobody most of the year, lives there).
HOLLOW_OCCUPANCY = {Occupancy.AWAY, Occupancy.VACANT}


class ChangeKind(models.TextChoices):
    USABILITY = "usability", "使用情况变化"
    CATEGORIES = "categories", "问题类型变化"
    TECH_TYPE = "tech_type", "技术模式变更"
    BUILD_YEAR = "build_year", "建造年份变更"
    DEMOLISHED = "demolished", "已拆除"
    NOT_RECHECKED = "not_rechecked", "本轮未复查"
    NEW = "new", "本轮新增"
    HOLLOW = "hollow", "空心户"
    MULTIPLE_TOILETS = "multiple_toilets", "一户多厕"


_KIND_ORDER = {kind: i for i, kind in enumerate(ChangeKind.values)}


@dataclass
class Change:
    key: str
    kind: ChangeKind
    subject: str
    description: str
    toilet_id: int | None = None
    household_id: int | None = None
    note: ReconciliationNote | None = None

    @property
    def reason(self) -> str | None:
        return self.note.reason if self.note is not None else None

    @property
    def explained(self) -> bool:
        return self.note is not None

    @property
    def anchor(self) -> str:
        return anchor(self.key)


@dataclass
class VillageStatus:
    village: Region
    changes: list[Change] = field(default_factory=list)

    @property
    def explained(self) -> int:
        return sum(1 for c in self.changes if c.explained)

    @property
    def done(self) -> bool:
        return self.explained == len(self.changes)


class NoPreviousRound(ValueError):
    message = "本轮没有指定上一轮，无法与上一轮比对变化。"

    def __str__(self):
        return self.message


def change_key(subject: str, pk: int, kind: str) -> str:
    return f"{subject}:{pk}:{kind}"


def anchor(key: str) -> str:
    """The change's HTML id on the village page (the form comes back to it)."""
    return "c-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in key)


def _label(choices, value) -> str:
    return dict(choices.choices).get(value, value or "—")


class _History:
    """History rows of several records, each record's rows in time order, asked "as of"."""

    def __init__(self, rows):
        self._rows: dict[int, list] = defaultdict(list)
        for row in rows:
            self._rows[row["id"]].append(row)
        self._dates = {pk: [r["history_date"] for r in rs] for pk, rs in self._rows.items()}

    def as_of(self, pk: int, when: datetime) -> dict | None:
        """The record's state saved last at or before ``when``; None if unknown or deleted."""
        dates = self._dates.get(pk)
        if not dates:
            return None
        index = bisect.bisect_right(dates, when) - 1
        if index < 0:
            return None
        row = self._rows[pk][index]
        return None if row["history_type"] == "-" else row


def _names(categories: set[tuple[int, str]]) -> str:
    """Category names in the summary table's column order, or 无."""
    return "、".join(name for _, name in sorted(categories)) or "无"


def _toilet_subject(toilet: dict) -> str:
    if toilet["kind"] == ToiletKind.PUBLIC:
        return toilet["name"] or f"公厕 #{toilet['id']}"
    return f"{toilet['household__head_name']}家户厕"


def changes_by_village(survey_round: SurveyRound, villages) -> dict[int, list[Change]]:
    """Every village's changes against the previous round, with their recorded reasons.

    ``villages`` is a queryset of villages (used as a subquery). Runs six queries whatever the
    number of villages, toilets or changes.
    """
    previous = survey_round.previous
    if previous is None:
        raise NoPreviousRound()
    village_ids = villages.values("id")

    # 1. Both rounds' inspections in these villages, with their categories.
    inspections = list(
        Inspection.objects.filter(
            round_id__in=[previous.pk, survey_round.pk], toilet__village__in=village_ids
        ).values("id", "round_id", "toilet_id", "usability", "created_at")
    )
    categories: dict[int, set[tuple[int, str]]] = defaultdict(set)  # (column, name)
    for inspection_id, column, name in Inspection.categories.through.objects.filter(
        inspection__round_id__in=[previous.pk, survey_round.pk],
        inspection__toilet__village__in=village_ids,
    ).values_list("inspection_id", "problemcategory__column", "problemcategory__name"):
        categories[inspection_id].add((column, name))
    before = {i["toilet_id"]: i for i in inspections if i["round_id"] == previous.pk}
    after = {i["toilet_id"]: i for i in inspections if i["round_id"] == survey_round.pk}
    latest = max((i["created_at"] for i in before.values()), default=None)

    # 2. The register now: every toilet of these villages, with its household.
    toilets = {
        t["id"]: t
        for t in Toilet.objects.filter(village__in=village_ids).values(
            "id",
            "village_id",
            "household_id",
            "kind",
            "name",
            "tech_type",
            "build_year",
            "status",
            "created_at",
            "household__head_name",
            "household__occupancy",
        )
    }

    # 3. The register then: history rows up to the latest previous inspection.
    toilet_history = household_history = _History([])
    if latest is not None:
        toilet_ids = Toilet.objects.filter(village__in=village_ids).values("id")
        toilet_history = _History(
            Toilet.history.filter(id__in=toilet_ids, history_date__lte=latest)
            .order_by("history_date", "history_id")
            .values(
                "id",
                "history_date",
                "history_type",
                "tech_type",
                "build_year",
                "status",
                "household_id",
            )
        )
        household_ids = Household.objects.filter(village__in=village_ids).values("id")
        household_history = _History(
            Household.history.filter(id__in=household_ids, history_date__lte=latest)
            .order_by("history_date", "history_id")
            .values("id", "history_date", "history_type", "occupancy")
        )

    # 4. The reasons already given.
    notes = {
        n.change_key: n
        for n in ReconciliationNote.objects.filter(
            round=survey_round, village__in=village_ids
        ).select_related("author")
    }

    found: dict[int, list[Change]] = defaultdict(list)

    def add(toilet_or_household: str, pk: int, kind, village_id, subject, description, **ids):
        key = change_key(toilet_or_household, pk, ChangeKind(kind).value)
        found[village_id].append(
            Change(
                key=key,
                kind=ChangeKind(kind),
                subject=subject,
                description=description,
                note=notes.get(key),
                **ids,
            )
        )

    household_baseline: dict[int, datetime] = {}
    for toilet_id in before.keys() | after.keys():
        toilet = toilets.get(toilet_id)
        if toilet is None:  # moved out of these villages since: not this list's business
            continue
        subject = _toilet_subject(toilet)
        village_id = toilet["village_id"]
        old, new = before.get(toilet_id), after.get(toilet_id)

        def toilet_change(kind, description, toilet_id=toilet_id, subject=subject, v=village_id):
            add("toilet", toilet_id, kind, v, subject, description, toilet_id=toilet_id)

        if old is not None and new is not None:
            if old["usability"] != new["usability"]:
                toilet_change(
                    ChangeKind.USABILITY,
                    f"使用情况：{_label(Usability, old['usability'])} → "
                    f"{_label(Usability, new['usability'])}",
                )
            old_cats, new_cats = categories[old["id"]], categories[new["id"]]
            if old_cats != new_cats:
                toilet_change(
                    ChangeKind.CATEGORIES,
                    f"问题类型：{_names(old_cats)} → {_names(new_cats)}",
                )
        elif old is not None:
            if toilet["status"] == ToiletStatus.DEMOLISHED:
                toilet_change(ChangeKind.DEMOLISHED, "上轮已摸排，本轮未摸排：厕所已登记为拆除")
            else:
                toilet_change(
                    ChangeKind.NOT_RECHECKED,
                    f"上轮已摸排（{_label(Usability, old['usability'])}），本轮尚未复查",
                )
        else:
            toilet_change(
                ChangeKind.NEW,
                f"上轮未摸排，本轮新摸排（{_label(Usability, new['usability'])}）",
            )

        if old is None:
            continue
        then = toilet_history.as_of(toilet_id, old["created_at"])
        if then is not None:
            if then["tech_type"] != toilet["tech_type"]:
                toilet_change(
                    ChangeKind.TECH_TYPE,
                    f"技术模式：{_label(TechType, then['tech_type'])} → "
                    f"{_label(TechType, toilet['tech_type'])}",
                )
            if then["build_year"] != toilet["build_year"]:
                toilet_change(
                    ChangeKind.BUILD_YEAR,
                    f"建造年份：{then['build_year']} 年 → {toilet['build_year']} 年",
                )
        if toilet["household_id"] is not None:
            household_id = toilet["household_id"]
            household_baseline[household_id] = max(
                old["created_at"], household_baseline.get(household_id, old["created_at"])
            )

    # Households: compared as of the latest previous-round inspection of their toilets.
    toilets_of: dict[int, list[dict]] = defaultdict(list)
    for toilet in toilets.values():
        if toilet["household_id"] is not None:
            toilets_of[toilet["household_id"]].append(toilet)
    for household_id, when in household_baseline.items():
        own = toilets_of[household_id]
        first = own[0]
        subject = f"户主 {first['household__head_name']}"
        village_id = first["village_id"]
        occupancy = first["household__occupancy"]
        then = household_history.as_of(household_id, when)
        if then is not None and then["occupancy"] != occupancy and occupancy in HOLLOW_OCCUPANCY:
            add(
                "household",
                household_id,
                ChangeKind.HOLLOW,
                village_id,
                subject,
                f"居住情况：{_label(Occupancy, then['occupancy'])} → "
                f"{_label(Occupancy, occupancy)}（空心户）",
                household_id=household_id,
            )
        in_use_now = sum(1 for t in own if t["status"] == ToiletStatus.ACTIVE)
        in_use_then = 0
        for toilet in own:
            state = toilet_history.as_of(toilet["id"], when)
            if state is None:  # no history that old: in use then if it existed then
                in_use_then += toilet["created_at"] <= when
            else:
                in_use_then += (
                    state["status"] == ToiletStatus.ACTIVE and state["household_id"] == household_id
                )
        if in_use_then <= 1 < in_use_now:
            add(
                "household",
                household_id,
                ChangeKind.MULTIPLE_TOILETS,
                village_id,
                subject,
                f"一户多厕：上轮时在用厕所 {in_use_then} 个 → 现在 {in_use_now} 个",
                household_id=household_id,
            )

    for changes in found.values():
        changes.sort(key=lambda c: (c.subject, c.toilet_id or 0, _KIND_ORDER[c.kind]))
    return dict(found)


def village_statuses(survey_round: SurveyRound, villages) -> list[VillageStatus]:
    """The status of each village of ``villages`` (a queryset), in the queryset's order."""
    found = changes_by_village(survey_round, villages)
    return [VillageStatus(village=v, changes=found.get(v.pk, [])) for v in villages]


def village_status(survey_round: SurveyRound, village: Region) -> tuple[list[Change], int, bool]:
    """(changes, how many have a reason, whether the village counts as done)."""
    changes = changes_by_village(survey_round, Region.objects.filter(pk=village.pk)).get(
        village.pk, []
    )
    explained = sum(1 for c in changes if c.explained)
    return changes, explained, explained == len(changes)


@transaction.atomic
def record_reason(
    *, actor, round: SurveyRound, village: Region, change_key: str, reason: str
) -> ReconciliationNote:
    """Record (or replace) the reason for one of a village's current changes.

    The village's surveyor (INSPECT) or its township (VERIFY) may write, while the round is
    open; the county and inspectors read.
    """
    survey_round = round
    if not (has_capability(actor, INSPECT) or has_capability(actor, VERIFY)):
        raise PermissionDenied("只有本村摸排员或乡镇审核员可以填写变化原因。")
    if not Region.objects.visible_to(actor).villages().filter(pk=village.pk).exists():
        raise PermissionDenied("该行政村不在您的管辖范围内。")
    if not SurveyRound.objects.visible_to(actor).filter(pk=survey_round.pk).exists():
        raise PermissionDenied("不是本县的摸排轮次。")
    if village.code[:6] != survey_round.county.code[:6]:
        raise PermissionDenied("该行政村不属于本轮摸排的县（区）。")
    if survey_round.previous_id is None:
        raise ValidationError(NoPreviousRound.message)
    if survey_round.status != RoundStatus.OPEN:
        raise ValidationError("该轮次未开启或已结束，不能填写变化原因。")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写变化原因。"})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"原因不能超过 {REASON_MAX} 字。"})
    changes, _, _ = village_status(survey_round, village)
    if change_key not in {c.key for c in changes}:
        raise ValidationError("该变化已不存在（可能已重新摸排或修改），请刷新页面后查看。")
    try:
        with transaction.atomic():
            note, created = ReconciliationNote.objects.update_or_create(
                round=survey_round,
                change_key=change_key,
                defaults={"village": village, "reason": reason, "author": actor},
            )
    except IntegrityError as exc:  # somebody recorded the same change's reason just now
        raise ConflictError("刚刚有人填写了该变化的原因，请刷新页面后查看。") from exc
    logger.info(
        "reconciliation %s %s in round %s village %s by %s",
        change_key,
        "explained" if created else "re-explained",
        survey_round.pk,
        village.code,
        actor,
    )
    return note

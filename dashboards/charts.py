"""Each chart's numbers, as one table: ``Chart(columns, rows, total)``. The page draws the
chart and prints the table from the same object, the JSON endpoint sends it and the export
writes it, so the picture, the table and the file never disagree.

Problem toilets are the summary table's: ``reports.build.round_entries`` for the same round,
cut-off and user, grouped the way ``build_summary`` groups them (tests/dashboards/
test_numbers.py compares every chart with ``build_summary``'s columns). Every chart is a fixed
number of grouped queries, whatever the number of toilets.
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Avg, Case, Count, F, OuterRef, Q, Subquery, Sum, When
from django.db.models.functions import Substr
from django.utils import timezone

from core.users import display_name
from rectification.choices import LedgerState
from rectification.models import LedgerLog
from regions.choices import SEE_IDENTITY, Level
from regions.models import Region
from regions.scoping import has_capability
from reports.build import _year_q, round_entries
from surveys.choices import PROBLEM_CATEGORIES, InspectionStatus
from surveys.models import FlagKind, Inspection, InspectionFlag
from toilets.choices import FlushKind, TechType, ToiletStatus
from toilets.models import Toilet

from .models import LedgerSnapshot
from .snapshots import open_closed, replay

TREND_DAYS = 60
ACTIVITY_DAYS = 14
MAP_POINT_LIMIT = 2000
TOTAL = "合计"
# The funnel, in the order of the close-out (withdrawn entries are not problem toilets).
FUNNEL_STATES = [
    LedgerState.REGISTERED,
    LedgerState.PLANNED,
    LedgerState.IN_PROGRESS,
    LedgerState.RECTIFIED,
    LedgerState.ACCEPTED,
    LedgerState.CLOSED,
]


@dataclass
class Row:
    label: str
    values: list
    code: str = ""  # a child region's code: the table links to its own dashboard


@dataclass
class Chart:
    key: str
    title: str
    kind: str  # how the page draws it: bar, stacked, hbar, line, map
    row_header: str
    columns: list[str]
    rows: list[Row]
    total: list | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)  # the map's points and positions

    def as_dict(self) -> dict:
        return asdict(self)

    def table(self) -> tuple[list[str], list[list]]:
        """Headers and rows of the table (and of the export), the total row last."""
        rows = [[row.label, *row.values] for row in self.rows]
        if self.total is not None:
            rows.append([TOTAL, *self.total])
        return [self.row_header, *self.columns], rows


def _row_header(frame) -> str:
    if frame.region.is_village:
        return "行政村"
    return {"county": "乡镇", "township": "行政村"}.get(frame.region.level, "县（区）")


def _child_rows(frame, values_of) -> list[Row]:
    return [
        Row(
            child.name,
            values_of(child.code[: frame.digits]),
            child.code if frame.opens(child) else "",
        )
        for child in frame.children
    ]


def _sum(rows: list[Row]) -> list:
    return [sum(values) for values in zip(*[r.values for r in rows], strict=True)] if rows else []


def _entries(frame):
    """The round's problem toilets in the region as of the cut-off (the summary's 6+9)."""
    return round_entries(frame.survey_round, frame.cutoff, frame.user).filter(
        toilet__village__code__startswith=frame.prefix
    )


def _child(lookup, frame):
    return Substr(lookup, 1, frame.digits)


def _village_children(frame) -> dict[int, str]:
    """Village id → the prefix of the row it counts in (one query over the regions)."""
    villages = Region.objects.filter(code__startswith=frame.prefix, level=Level.VILLAGE)
    return {pk: code[: frame.digits] for pk, code in villages.values_list("id", "code")}


# Survey coverage -------------------------------------------------------------------------


def coverage(frame) -> Chart:
    """Registered toilets in use (the summary's column 1), inspected in the round and verified
    by the township, by the cut-off."""
    # Grouped by village id (an integer, no text to cut and compare per toilet), then the
    # villages summed into the rows.
    child_of = _village_children(frame)
    registered = Counter()
    for village, n in (
        Toilet.objects.visible_to(frame.user)
        .filter(
            village__code__startswith=frame.prefix,
            status=ToiletStatus.ACTIVE,
            created_at__lte=frame.cutoff,
        )
        .values("village_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("village_id", "n")
    ):
        registered[child_of.get(village)] += n
    # The round's inspections per village, read without joining the toilets (the
    # inspection keeps its toilet's village), less those of toilets that don't count in
    # column 1: demolished, or registered after the cut-off (a few, found by index).
    inspections = Inspection.objects.visible_to(frame.user).filter(
        round=frame.survey_round,
        village__code__startswith=frame.prefix,
        inspected_at__lte=frame.cutoff,
    )
    verified = Q(status=InspectionStatus.VERIFIED, verified_at__lte=frame.cutoff)
    not_counted = ~Q(toilet__status=ToiletStatus.ACTIVE) | Q(toilet__created_at__gt=frame.cutoff)
    inspected: dict[str, Counter] = defaultdict(Counter)
    for query, sign in ((inspections, 1), (inspections.filter(not_counted), -1)):
        for village, n, done in (
            query.values("village_id")
            .annotate(n=Count("id"), verified=Count("id", filter=verified))
            .order_by()
            .values_list("village_id", "n", "verified")
        ):
            inspected[child_of.get(village)].update({"n": sign * n, "verified": sign * done})

    def values(child):
        done = inspected.get(child, {})
        return [registered.get(child, 0), done.get("n", 0), done.get("verified", 0)]

    rows = _child_rows(frame, values)
    return Chart(
        "coverage",
        "摸排覆盖情况",
        "bar",
        _row_header(frame),
        ["登记厕所数", "已摸排", "已核查"],
        rows,
        _sum(rows),
        "登记厕所数即汇总表第1列（在用厕所，截止时已登记）；已摸排、已核查为本轮截止时的记录。",
    )


# Problem toilets -------------------------------------------------------------------------


def categories(frame) -> Chart:
    """Problem toilets by category (columns 12–19): a toilet counts once in each category."""
    found = {}
    for row in (
        _entries(frame)
        .annotate(child=_child("toilet__village__code", frame))
        .values("child", "categories__code")
        .annotate(n=Count("id"))
        .order_by()
    ):
        found[(row["child"], row["categories__code"])] = row["n"]
    rows = _child_rows(
        frame, lambda child: [found.get((child, code), 0) for code, _, _ in PROBLEM_CATEGORIES]
    )
    return Chart(
        "categories",
        "问题厕所（按问题类型）",
        "stacked",
        _row_header(frame),
        [label for _, label, _ in PROBLEM_CATEGORIES],
        rows,
        _sum(rows),
        "与汇总表第12–19列一致；一个问题厕所有几类问题就计入几类。",
    )


def techniques(frame) -> Chart:
    """Problem toilets by technical type, split into flush and dry (columns 20–21)."""
    found = {}
    for row in (
        _entries(frame)
        .values("toilet__tech_type", "toilet__flush_kind")
        .annotate(n=Count("id"))
        .order_by()
    ):
        found[(row["toilet__tech_type"], row["toilet__flush_kind"])] = row["n"]
    kinds = [FlushKind.FLUSH, FlushKind.DRY]
    rows = [
        Row(label, [found.get((tech, kind), 0) for kind in kinds])
        for tech, label in TechType.choices
    ]
    known = set(TechType.values)
    unknown = [
        sum(n for (tech, k), n in found.items() if k == kind and tech not in known)
        for kind in kinds
    ]
    if any(unknown):
        rows.append(Row("未注明技术模式", unknown))
    rows = [row for row in rows if any(row.values)] or rows[:1]
    return Chart(
        "techniques",
        "问题厕所（按技术模式）",
        "hbar",
        "技术模式",
        [FlushKind.FLUSH.label, FlushKind.DRY.label],
        rows,
        _sum(rows),
        "合计的水冲厕所、旱厕即汇总表第20、21列。",
    )


def years(frame) -> Chart:
    """Problem toilets by build-year bucket of the round's template (columns 22–28)."""
    buckets = frame.survey_round.template.year_buckets
    aggregates = {f"b{i}": Count("id", filter=_year_q(b)) for i, b in enumerate(buckets)}
    found = {
        row["child"]: row
        for row in _entries(frame)
        .annotate(child=_child("toilet__village__code", frame))
        .values("child")
        .annotate(**aggregates)
        .order_by()
    }
    rows = _child_rows(
        frame, lambda child: [found.get(child, {}).get(f"b{i}", 0) for i in range(len(buckets))]
    )
    return Chart(
        "years",
        "问题厕所（按建造年份）",
        "stacked",
        _row_header(frame),
        [b["label"] for b in buckets],
        rows,
        _sum(rows),
        f"年份分段取自本轮报表模板“{frame.survey_round.template}”，与汇总表第22–28列一致。",
    )


# Rectification --------------------------------------------------------------------------


def _state_at_cutoff(entries, frame):
    """``entries`` annotated with ``state_then``: each entry's state at the cut-off, from its
    ledger log (the latest row at or before it). With no cut-off given, the state now."""
    if not frame.cutoff_param:
        return entries.annotate(state_then=F("state"))
    latest = (
        LedgerLog.objects.filter(entry_id=OuterRef("pk"), at__lte=frame.cutoff)
        .order_by("-at", "-id")
        .values("to_state")[:1]
    )
    return entries.annotate(state_then=Subquery(latest))


def funnel(frame) -> Chart:
    """The round's problem toilets by close-out state at the cut-off. 已销号 is closed by the
    cut-off (29+32); every other entry counts under its state at the cut-off (from its
    ledger log), so an entry closed after the cut-off is where it stood then."""
    closed = Q(state=LedgerState.CLOSED, closed_at__lte=frame.cutoff)
    found = Counter()
    for row in (
        _state_at_cutoff(_entries(frame), frame)
        .annotate(closed_then=Case(When(closed, then=True), default=False))
        .values("state_then", "closed_then")
        .annotate(n=Count("id"))
        .order_by()
    ):
        found[_funnel_state(row["state_then"], row["closed_then"])] += row["n"]
    rows = [Row(state.label, [found[state.value]]) for state in FUNNEL_STATES]
    return Chart(
        "funnel",
        "整改进度（按台账状态）",
        "hbar",
        "台账状态",
        ["问题厕所数"],
        rows,
        _sum(rows),
        "合计即汇总表第6+9列，已销号即第29+32列，其余各状态之和即第33列（未完成整改数）。"
        "状态为截止时间当时的台账状态（按台账日志）。",
    )


def _funnel_state(state: str | None, closed: bool) -> str:
    """Where an entry stands in the funnel: 已销号 only when closed by the cut-off (as the
    summary counts it); an entry without a log row by then, or one withdrawn then and found
    again later, at the first step; an entry whose log says closed but that is not closed
    by the cut-off (reopened and closed again later), one step before."""
    if closed:
        return LedgerState.CLOSED.value
    if state == LedgerState.CLOSED:
        return LedgerState.ACCEPTED.value
    if state not in LedgerState.values or state == LedgerState.WITHDRAWN:
        return LedgerState.REGISTERED.value
    return state


def trend(frame) -> Chart:
    """Open and closed-out ledger entries at the end of each day of the last TREND_DAYS
    days up to the cut-off: from the daily snapshots, else replayed from the ledger logs."""
    end = frame.today
    days = [end - datetime.timedelta(days=i) for i in range(TREND_DAYS - 1, -1, -1)]
    source = "每日记录"
    rows = []
    if not frame.region.is_village:
        snapshots = (
            LedgerSnapshot.objects.visible_to(frame.user)
            .filter(township__code__startswith=frame.prefix, day__gte=days[0], day__lte=end)
            .values("day")
            .annotate(open=Sum("open"), closed=Sum("closed"))
            .order_by("day")
        )
        rows = [Row(row["day"].isoformat(), [row["open"], row["closed"]]) for row in snapshots]
    if not rows:
        source = "台账日志"
        logs = LedgerLog.objects.visible_to(frame.user).filter(
            entry__toilet__village__code__startswith=frame.prefix, at__lte=frame.cutoff
        )
        states = replay(logs, days, digits=len(frame.prefix) or 1)
        for day in days:
            opened, closed = open_closed(sum(states[day].values(), Counter()))
            if opened or closed or rows:
                rows.append(Row(day.isoformat(), [opened, closed]))
    return Chart(
        "trend",
        "整改进度趋势（未销号 / 已销号）",
        "line",
        "日期",
        ["未销号", "已销号"],
        rows,
        None,
        f"最近 {TREND_DAYS} 天每天结束时全部台账（不分轮次）的未销号与已销号数；数据来源：{source}。"
        "每日记录由每晚的定时任务写入，之前的日子可用 backfill_ledger_snapshots 从台账日志补录；"
        "尚无每日记录时，本图直接按台账日志推算。",
        {"source": source},
    )


def overdue(frame) -> Chart:
    """The round's problem toilets past their deadline on the cut-off's day: in a state the
    rectification app calls overdue (``LedgerEntryQuerySet.overdue``) at the cut-off, with the deadline
    before that day."""
    found = dict(
        _state_at_cutoff(_entries(frame), frame)
        .overdue(frame.today, state="state_then")
        .annotate(child=_child("toilet__village__code", frame))
        .values("child")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("child", "n")
    )
    rows = _child_rows(frame, lambda child: [found.get(child, 0)])
    return Chart(
        "overdue",
        "逾期未整改",
        "bar",
        _row_header(frame),
        ["逾期数"],
        rows,
        _sum(rows),
        "截止时间当时已制定方案或整改中、整改时限已过的问题厕所（按截止日期计；整改时限取当前值）。",
    )


# Survey quality -------------------------------------------------------------------------


def activity(frame) -> Chart:
    """Inspections per surveyor per day, the last ACTIVITY_DAYS days up to the cut-off."""
    end = frame.today
    days = [end - datetime.timedelta(days=i) for i in range(ACTIVITY_DAYS - 1, -1, -1)]
    bounds = [
        timezone.make_aware(datetime.datetime.combine(day, datetime.time.min)) for day in days
    ]
    bounds.append(bounds[-1] + datetime.timedelta(days=1))
    # One conditional count per day (plain comparisons on inspected_at, which every
    # database runs fast), rather than truncating every inspection's time to its date.
    per_day = {
        f"d{i}": Count(
            "id",
            filter=Q(inspected_at__gte=bounds[i], inspected_at__lt=bounds[i + 1])
            & Q(inspected_at__lte=frame.cutoff),
        )
        for i in range(len(days))
    }
    found = (
        Inspection.objects.visible_to(frame.user)
        .filter(
            round=frame.survey_round,
            village__code__startswith=frame.prefix,
            inspected_at__gte=bounds[0],
            inspected_at__lte=frame.cutoff,
        )
        .values("surveyor_id")
        .annotate(**per_day)
        .order_by()
    )
    counts = {row["surveyor_id"]: [row[f"d{i}"] for i in range(len(days))] for row in found}
    # The names of the few surveyors, rather than grouping every inspection by them.
    users = get_user_model().objects.filter(pk__in=list(counts)) if counts else []
    people = [{"name": display_name(user), "values": counts[user.pk]} for user in users]
    rows = [
        Row(p["name"], p["values"])
        for p in sorted(people, key=lambda p: (-sum(p["values"]), p["name"]))
    ]
    return Chart(
        "activity",
        "摸排员每日录入",
        "activity",
        "摸排员",
        [day.strftime("%m-%d") for day in days],
        rows,
        _sum(rows) if rows else [0] * len(days),
        f"截止日前 {ACTIVITY_DAYS} 天内，本轮每位摸排员每天的摸排记录数（按摸排时间）。",
    )


def flags(frame) -> Chart:
    """Office-made flags (疑似办公室摸排) on the round's inspections, by kind."""
    found = {
        row["kind"]: row
        for row in InspectionFlag.objects.visible_to(frame.user)
        .filter(
            inspection__round=frame.survey_round,
            inspection__village__code__startswith=frame.prefix,
            inspection__inspected_at__lte=frame.cutoff,
        )
        .values("kind")
        .annotate(n=Count("id"), open=Count("id", filter=Q(cleared_by__isnull=True)))
        .order_by()
    }
    rows = []
    for kind, label in FlagKind.choices:
        row = found.get(kind, {})
        n, still = row.get("n", 0), row.get("open", 0)
        rows.append(Row(label, [still, n - still]))
    return Chart(
        "flags",
        "疑似办公室摸排提示",
        "hbar",
        "提示类型",
        ["未核实", "已核实"],
        rows,
        _sum(rows),
        "系统自动标记的疑似非现场录入（连续快速录入、照片重复、无照片、位置偏远等），"
        "核实后仍保留记录。",
    )


# The map --------------------------------------------------------------------------------


def problem_map(frame) -> Chart:
    """Problem toilets by village (open / closed out by the cut-off), placed at the mean
    position of the village's positioned problem toilets; with the problem toilets' own positions
    where they are recorded (names only for roles that may see identities)."""
    closed = Q(state=LedgerState.CLOSED, closed_at__lte=frame.cutoff)
    entries = _entries(frame)
    # One query: per village the count, the closed ones, and the mean position of its
    # positioned problem toilets (where the problems are).
    villages = list(
        entries.values("toilet__village_id", "toilet__village__code", "toilet__village__name")
        .annotate(
            n=Count("id"),
            closed=Count("id", filter=closed),
            placed=Count("id", filter=Q(toilet__latitude__isnull=False)),
            lat=Avg("toilet__latitude"),
            lon=Avg("toilet__longitude"),
        )
        .order_by("toilet__village__code")
    )
    positions = {
        v["toilet__village_id"]: (float(v["lat"]), float(v["lon"])) for v in villages if v["placed"]
    }
    rows, places = [], []
    for v in villages:
        where = positions.get(v["toilet__village_id"])
        n, done = v["n"], v["closed"]
        rows.append(
            Row(
                v["toilet__village__name"],
                [n, n - done, done, *(f"{c:.5f}" for c in where)]
                if where
                else [n, n - done, done, "—", "—"],
            )
        )
        if where:
            places.append(
                {"name": v["toilet__village__name"], "lat": where[0], "lon": where[1],
                 "total": n, "open": n - done, "closed": done}
            )  # fmt: skip
    identity = has_capability(frame.user, SEE_IDENTITY)
    fields = ["toilet__latitude", "toilet__longitude", "state", "closed_at", "toilet__kind"]
    if identity:
        fields += ["toilet__household__head_name", "toilet__name"]
    placed = sum(v["placed"] for v in villages)
    # The points only when there are few enough to draw (a second query then).
    found = (
        list(entries.filter(toilet__latitude__isnull=False).values(*fields))
        if 0 < placed <= MAP_POINT_LIMIT
        else []
    )
    points = []
    for p in found:
        done = p["state"] == LedgerState.CLOSED and p["closed_at"] <= frame.cutoff
        point = {
            "lat": float(p["toilet__latitude"]),
            "lon": float(p["toilet__longitude"]),
            "closed": done,
            "label": "公厕" if p["toilet__kind"] == "public" else "户厕",
        }
        if identity:
            point["label"] = (
                p["toilet__household__head_name"] or p["toilet__name"] or point["label"]
            )
        points.append(point)
    total = [sum(r.values[i] for r in rows) for i in range(3)] + ["", ""]
    return Chart(
        "map",
        "问题厕所分布",
        "map",
        "行政村",
        ["问题厕所", "未销号", "已销号", "纬度", "经度"],
        rows,
        total,
        "圆圈为各村问题厕所（位置取本村已定位问题厕所的平均位置，大小按数量，颜色按已销号比例）；"
        + (
            "小点为已定位的问题厕所。"
            if placed <= MAP_POINT_LIMIT
            else f"已定位的问题厕所超过 {MAP_POINT_LIMIT} 个，只按村显示。"
        ),
        {"villages": places, "points": points},
    )


CHARTS = {
    "coverage": coverage,
    "categories": categories,
    "techniques": techniques,
    "years": years,
    "funnel": funnel,
    "trend": trend,
    "overdue": overdue,
    "activity": activity,
    "flags": flags,
    "map": problem_map,
}

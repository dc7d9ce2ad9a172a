"""Build the 33-column summary for (round, region, cut-off) with grouped database aggregates:
one query over toilets, one over villages (has each an inspection in the round?), one over
ledger entries, one over their categories, whatever the number of toilets; the entries the
table could not place are counted by the same queries and listed by one more only when there
are any. Nothing loops over toilets in Python.

Definitions (DESIGN.md, "The 33-column summary"):
- Toilets (1–4): active toilets of the region registered by the cut-off.
- Villages (5): villages with at least one inspection in the round by the cut-off.
- Problem toilets (6–28): the round's ledger entries, i.e. those found in it plus those from
  earlier rounds still open when it opened, registered by the cut-off, withdrawn ones never;
  each counted with its latest finding (usability, categories).
- Closed out (29–32): those entries 已销号 by the cut-off. 33 = (6+9) − (29+32).
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    Value,
)
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone

from rectification.choices import LedgerState
from rectification.models import LedgerEntry
from regions.choices import Level
from regions.codes import LEVEL_DIGITS
from regions.models import Region
from surveys.choices import PROBLEM_CATEGORIES, PROBLEM_USABILITY, Usability
from surveys.models import Inspection
from toilets.choices import FlushKind, Funding, ToiletKind, ToiletStatus
from toilets.models import Toilet

from .columns import COLUMNS
from .rules import check_table
from .sheet import TITLE_SUFFIX, row_label, summary_workbook_bytes

GOVERNMENT_SINCE = 2013  # column 3: 财政支持改造 and built 2013 or later
YEAR_COLUMNS = 7  # the form has columns 22–28 for build-year buckets
TOTAL_LABEL = "合计"
CATEGORY_COLUMNS = {code: column for code, _, column in PROBLEM_CATEGORIES}


@dataclass
class Row:
    code: str
    name: str
    values: dict[int, int]


@dataclass
class DataError:
    """Something that would make the table wrong; listed (with a link) before it is built."""

    message: str
    url: str = ""


@dataclass
class Summary:
    survey_round: object
    region: Region
    cutoff: datetime.datetime
    rows: list[Row]
    total: dict[int, int]
    errors: list[DataError] = field(default_factory=list)

    @property
    def violations(self):
        return check_table([(row.name, row.values) for row in self.rows], (TOTAL_LABEL, self.total))

    def xlsx(self) -> bytes:
        """This table as a plain (unstamped) workbook in the official layout."""
        return summary_workbook_bytes(
            title=f"{self.region.name}{TITLE_SUFFIX}",
            unit=self.region.name,
            row_label=row_label(self.region.level),
            rows=[(row.name, row.values) for row in self.rows],
            total=self.total,
            bucket_labels=[b["label"] for b in self.survey_round.template.year_buckets],
        )

    def as_dict(self) -> dict:
        def values(v):
            return {str(c): v.get(c, 0) for c in COLUMNS}

        return {
            "round": self.survey_round.name,
            "region": {"code": self.region.code, "name": self.region.name},
            "cutoff": timezone.localtime(self.cutoff).isoformat(),
            "rows": [
                {"code": row.code, "name": row.name, "values": values(row.values)}
                for row in self.rows
            ],
            "total": values(self.total),
            "violations": [v.as_dict() for v in self.violations],
            "errors": [{"message": e.message, "url": e.url} for e in self.errors],
        }


def child_rows(region: Region) -> tuple[list[Region], int]:
    """The table's rows: the region's children (townships of a county, counties of a city,
    villages of a township); a village is its own single row."""
    if region.level == Level.VILLAGE:
        return [region], 12
    children = list(region.children.order_by("code"))
    digits = LEVEL_DIGITS[Level(children[0].level)] if children else len(region.prefix)
    return children, digits


def _base(model, user):
    """Everything a report reads goes through the scoping when it is built for a user."""
    return model.objects.visible_to(user) if user is not None else model.objects.all()


def round_entries(survey_round, cutoff, user=None):
    """The round's problem toilets as of the cut-off, as ledger entries: those found in the
    round plus those from the county's earlier rounds still open when it opened, registered by
    the cut-off, never withdrawn ones, on toilets still in use.

    One entry per toilet: a toilet closed out and then found broken again (later in the round,
    or in this round after an earlier round's entry was closed) has two entries, and only the
    latest stands for it, so that it is counted once in 6–33 as it is once in 1–4.
    """
    found_here = Q(found_in=survey_round)
    if survey_round.opened_at is not None:
        opened = survey_round.opened_at
        found_here |= Q(found_in__county_id=survey_round.county_id, created_at__lt=opened) & ~Q(
            state=LedgerState.CLOSED, closed_at__lt=opened
        )
    in_round = Q(found_here, created_at__lte=cutoff) & ~Q(state=LedgerState.WITHDRAWN)
    superseded = Exists(
        LedgerEntry.objects.filter(in_round, toilet_id=OuterRef("toilet_id"), pk__gt=OuterRef("pk"))
    )
    return (
        _base(LedgerEntry, user)
        .filter(in_round)
        .filter(~superseded)
        .filter(toilet__status=ToiletStatus.ACTIVE)
    )


def _government():
    return Q(toilet__funding=Funding.GOVERNMENT, toilet__build_year__gte=GOVERNMENT_SINCE)


def _in_some_bucket(buckets):
    """Build year within one of the template's buckets (None: a template without buckets)."""
    q = None
    for bucket in buckets:
        q = _year_q(bucket) if q is None else q | _year_q(bucket)
    return q


def _typed():
    return ~Q(toilet__tech_type="") & Q(toilet__flush_kind__in=FlushKind.values)


def _year_q(bucket, lookup="toilet__build_year"):
    q = Q()
    if bucket["from"] is not None:
        q &= Q(**{f"{lookup}__gte": bucket["from"]})
    if bucket["to"] is not None:
        q &= Q(**{f"{lookup}__lte": bucket["to"]})
    return q


def build_summary(survey_round, region: Region, cutoff=None, *, user=None) -> Summary:
    """The table for ``region``'s children; with ``user``, read through that user's scoping
    (the pages and tasks always pass it; the operator's commands read everything).

    This is the reference: the village rollups (reports/rollups.py) are checked against it."""
    cutoff = cutoff or timezone.now()
    children, digits = child_rows(region)
    per_child, suspicious = column_counts(survey_round, region.prefix, digits, cutoff, user)
    return assemble(survey_round, region, cutoff, children, digits, per_child, suspicious, user)


def column_counts(survey_round, prefix, digits, cutoff, user=None, village_ids=None):
    """Columns 1–32 of every area under ``prefix`` (areas keyed by the first ``digits`` digits
    of the village code), and per area the number of problem toilets the table could not place.

    ``village_ids`` restricts the counts to those villages (the rollups recompute the changed
    villages only); the queries are otherwise those of the full build."""
    buckets = survey_round.template.year_buckets
    per_child: dict[str, dict[int, int]] = {}
    suspicious: dict[str, int] = {}

    def add(child, column, n):
        per_child.setdefault(child, dict.fromkeys(COLUMNS, 0))[column] += n

    def only(queryset, lookup):
        return queryset if village_ids is None else queryset.filter(**{lookup: village_ids})

    # 1–4: the register.
    household = Q(kind=ToiletKind.HOUSEHOLD)
    government = Q(funding=Funding.GOVERNMENT, build_year__gte=GOVERNMENT_SINCE)
    toilets = (
        only(_base(Toilet, user), "village_id__in")
        .filter(
            village__code__startswith=prefix, status=ToiletStatus.ACTIVE, created_at__lte=cutoff
        )
        .annotate(child=Substr("village__code", 1, digits))
        .values("child")
        .annotate(
            c1=Count("id"),
            c2=Count("id", filter=Q(kind=ToiletKind.PUBLIC)),
            c3=Count("id", filter=household & government),
            c4=Count("id", filter=household & ~government),
        )
        .order_by()
    )
    for row in toilets:
        for column in (1, 2, 3, 4):
            add(row["child"], column, row[f"c{column}"])

    # 5: villages reached by the round. One index probe per village (does it have an
    # inspection?), rather than reading every inspection of the round to count villages.
    reached = Exists(
        _base(Inspection, user).filter(
            round=survey_round, toilet__village=OuterRef("pk"), inspected_at__lte=cutoff
        )
    )
    villages = (
        only(Region.objects.filter(code__startswith=prefix), "pk__in")
        .filter(reached)
        .annotate(child=Substr("code", 1, digits))
        .values("child")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in villages:
        add(row["child"], 5, row["n"])

    # 6–11, 20–33: the round's problem toilets.
    entries = only(
        round_entries(survey_round, cutoff, user).filter(toilet__village__code__startswith=prefix),
        "toilet__village_id__in",
    )
    hh = Q(toilet__kind=ToiletKind.HOUSEHOLD)
    public = Q(toilet__kind=ToiletKind.PUBLIC)
    closed = Q(state=LedgerState.CLOSED, closed_at__lte=cutoff)
    aggregates = {
        "c6": Count("id", filter=hh),
        "c7": Count("id", filter=hh & _government()),
        "c8": Count("id", filter=hh & ~_government()),
        "c9": Count("id", filter=public),
        "c10": Count("id", filter=Q(usability=Usability.UNUSABLE)),
        "c11": Count("id", filter=Q(usability=Usability.NOT_YEAR_ROUND)),
        "c20": Count("id", filter=Q(toilet__flush_kind=FlushKind.FLUSH)),
        "c21": Count("id", filter=Q(toilet__flush_kind=FlushKind.DRY)),
        "c29": Count("id", filter=hh & closed),
        "c30": Count("id", filter=hh & closed & _government()),
        "c31": Count("id", filter=hh & closed & ~_government()),
        "c32": Count("id", filter=public & closed),
    }
    for i, bucket in enumerate(buckets[:YEAR_COLUMNS]):
        aggregates[f"c{22 + i}"] = Count("id", filter=_year_q(bucket))
    # Entries the table could not place, counted on the way (listed below only if any).
    in_some_bucket = _in_some_bucket(buckets[:YEAR_COLUMNS])
    aggregates["no_year"] = (
        Count("id", filter=~in_some_bucket) if in_some_bucket is not None else Count("id")
    )
    aggregates["no_type"] = Count("id", filter=~_typed())
    aggregates["no_problem"] = Count("id", filter=~Q(usability__in=PROBLEM_USABILITY))
    problem_rows = (
        entries.annotate(child=Substr("toilet__village__code", 1, digits))
        .values("child")
        .annotate(**aggregates)
        .order_by()
    )
    for row in problem_rows:
        for key, n in row.items():
            if key.startswith("no_"):
                suspicious[row["child"]] = suspicious.get(row["child"], 0) + n
            elif key != "child":
                add(row["child"], int(key[1:]), n)

    # 12–19: categories (an entry counts once in each of its categories).
    categories = (
        entries.annotate(child=Substr("toilet__village__code", 1, digits))
        .values("child", "categories__code")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in categories:
        if row["categories__code"] in CATEGORY_COLUMNS:
            add(row["child"], CATEGORY_COLUMNS[row["categories__code"]], row["n"])
        else:  # an entry without a category (the join found none)
            suspicious[row["child"]] = suspicious.get(row["child"], 0) + row["n"]
    return per_child, suspicious


def assemble(survey_round, region, cutoff, children, digits, per_child, suspicious, user=None):
    """The table from the counts per child (column 33 derived), with its data errors; the
    listing of the problem toilets the table could not place runs only when there are any."""
    buckets = survey_round.template.year_buckets
    rows = []
    for child in children:
        values = dict(per_child.get(child.code[:digits]) or dict.fromkeys(COLUMNS, 0))
        values[33] = values[6] + values[9] - values[29] - values[32]
        rows.append(Row(child.code, child.name, values))
    total = {c: sum(row.values[c] for row in rows) for c in COLUMNS}
    errors = []
    if len(buckets) > YEAR_COLUMNS:
        errors.append(
            DataError(
                f"报表模板“{survey_round.template}”有 {len(buckets)} 个建造年份分段，"
                f"表中只有 {YEAR_COLUMNS} 列（第22–28列），多出的分段没有列可填。"
            )
        )
    if any(suspicious.values()):
        entries = round_entries(survey_round, cutoff, user).filter(
            toilet__village__code__startswith=region.prefix
        )
        errors += data_errors(entries, buckets[:YEAR_COLUMNS])
    return Summary(survey_round, region, cutoff, rows, total, errors)


DATA_ERROR_LIMIT = 50


def data_errors(entries, buckets) -> list[DataError]:
    """Problem toilets the table could not place: no category, a build year outside every
    bucket of the round's template, no technical type or flush/dry, a usability that is not a
    problem one. One query; past ``DATA_ERROR_LIMIT`` the rest are counted, never dropped."""
    has_category = Exists(
        LedgerEntry.categories.through.objects.filter(ledgerentry_id=OuterRef("pk"))
    )
    in_some_bucket = _in_some_bucket(buckets)
    wrong = (
        entries.annotate(
            has_category=has_category,
            in_bucket=ExpressionWrapper(in_some_bucket, output_field=BooleanField())
            if in_some_bucket is not None
            else Value(False),
            typed=ExpressionWrapper(_typed(), output_field=BooleanField()),
            problem_usability=ExpressionWrapper(
                Q(usability__in=PROBLEM_USABILITY), output_field=BooleanField()
            ),
        )
        .filter(
            Q(has_category=False) | Q(in_bucket=False) | Q(typed=False) | Q(problem_usability=False)
        )
        .select_related("toilet__household", "toilet__village")
        .order_by("toilet__village__code", "pk")
    )
    errors = []
    found = list(wrong[: DATA_ERROR_LIMIT + 1])
    for entry in found[:DATA_ERROR_LIMIT]:
        problems = [
            text
            for failed, text in [
                (not entry.has_category, "没有问题类型"),
                (not entry.in_bucket, "建造年份不在本轮模板的任何年份区间内"),
                (not entry.typed, "没有技术模式或未注明水冲/旱厕"),
                (not entry.problem_usability, "使用情况不是“不能使用”或“不能全年使用”"),
            ]
            if failed
        ]
        toilet = entry.toilet
        who = toilet.household.head_name if toilet.household_id else toilet.name or "公厕"
        errors.append(
            DataError(
                f"{toilet.village.name} {who}（{toilet.build_year} 年建）：{'；'.join(problems)}",
                reverse("rectification:entry", args=[entry.pk]),
            )
        )
    if len(found) > DATA_ERROR_LIMIT:
        more = wrong.count() - DATA_ERROR_LIMIT
        errors.append(
            DataError(f"另有 {more} 个问题厕所存在以上数据问题，请在问题台账中逐一更正。")
        )
    return errors

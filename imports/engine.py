"""Loading a county's Excel survey ledger (one row per toilet): see ``import_ledger``.

Three phases, each over all rows:

1. **check** every row on its own (``rows.clean_row``), streaming the sheet;
2. **resolve** what needs the database, with a few set-based queries: villages and the
   importer's region, the county and its round, households already registered (matched by
   ID number within the county), their toilets, the round's inspections and the ledger;
3. **write** — only when no row is bad — in one transaction with bulk inserts and updates,
   chunk by chunk. A dry run does the same writes and rolls them back, so its counts are
   exactly what the import would do.

Re-importing the same file matches every row to what the first import wrote and changes
nothing; a corrected file updates the rows that differ.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from rectification import findings
from rectification.choices import LedgerState
from rectification.findings import Act
from rectification.models import LedgerEntry, LedgerLog
from regions.choices import IMPORT_LEDGER, VERIFY, Level
from regions.guards import require, training_message
from regions.models import Region
from regions.scoping import awaits_training, scope_of
from surveys.choices import (
    PROBLEM_CATEGORIES,
    CheckMethod,
    InspectionStatus,
    RoundKind,
    RoundStatus,
    Usability,
)
from surveys.models import Inspection, ReportTemplate, SurveyRound
from toilets.choices import ToiletKind, ToiletStatus, default_lead_department
from toilets.models import Household, Toilet

from . import villages
from .aliases import county_vocabulary
from .bulk import Inserter, Pipeline
from .columns import COLUMN_BY_KEY, HEADERS
from .models import HeaderMapping, ValueAlias
from .preview import preview_rows
from .reader import read_ledger
from .results import ImportFileError, ImportResult, RowError
from .rows import LedgerRow, clean_row

logger = logging.getLogger(__name__)

CHUNK = 5000  # rows written per step: bounds memory and gives the progress bar steps
BATCH = 2000  # rows per INSERT/UPDATE statement
IN_CHUNK = 5000  # values per IN (...) lookup (SQLite's variable limit is 32766)
SYSTEM_USERNAME = "ledger-import"
HOUSEHOLD_COLUMNS = ["village_id", "county_code", "group_name", "head_name", "id_number", "phone"]
TOILET_COLUMNS = [
    "village_id", "household_id", "kind", "name", "tech_type", "flush_kind", "build_year",
    "funding", "lead_department",
]  # fmt: skip
INSPECTION_COLUMNS = [
    "round_id", "toilet_id", "surveyor_id", "partner_name", "inspected_at", "household_present",
    "check_method", "usability", "notes", "signed", "status", "verified_by_id", "verified_at",
    "village_id",
]  # fmt: skip
ENTRY_COLUMNS = [
    "toilet_id", "found_in_id", "opened_by_inspection_id", "last_inspection_id", "usability",
    "state", "state_changed_at", "closed_at",
]  # fmt: skip
LOG_COLUMNS = ["entry_id", "actor_id", "from_state", "to_state", "action", "note", "inspection_id"]
# What an update of an existing toilet writes.
TOILET_FIELDS = [*TOILET_COLUMNS, "version", "updated_at"]
ENTRY_FIELDS = [
    "usability", "last_inspection", "state", "state_changed_at", "closed_at", "version",
    "updated_at",
]  # fmt: skip
IMPORTED_NOTE = "由 Excel 台账导入"


class _Rollback(Exception):
    pass


def import_ledger(
    source,
    *,
    round_name: str,
    actor=None,
    dry_run: bool = False,
    progress=None,
    county: Region | None = None,
    header_mapping: dict[str, str] | None = None,
    remembered: bool = True,
) -> ImportResult:
    """Read ``source`` (a path or a binary file object of an .xlsx), check every row, and —
    unless ``dry_run`` or any row is bad — write all rows in one transaction.

    ``actor`` None means the command line (no region limit); a user must hold IMPORT_LEDGER
    and may only import villages inside its own region (PermissionDenied otherwise).
    ``county`` is the county imported into (the command's ``--region``); by default the
    actor's county. Its own value aliases apply, and villages given by name are looked up in
    it; rows of another county are errors.
    ``progress(done, total, message)`` is called now and then. Raises ImportFileError for a
    file that cannot be read at all; bad rows are returned in ``result.errors``.
    ``header_mapping`` (header → column key, "" = not imported) comes on top of the county's
    remembered one (``HeaderMapping``) unless ``remembered`` is False (a job's import reads
    its file with the mapping its check used, ``result.header_mapping``, whatever the county
    remembers by then); a dry run returns its first rows in ``result.preview``.
    """
    round_name = (round_name or "").strip()
    if not round_name:
        raise ImportFileError("请填写导入到哪个摸排轮次（轮次名称）。")
    if len(round_name) > 100:
        raise ImportFileError("轮次名称不能超过 100 个字。")
    if actor is not None:
        require(actor, IMPORT_LEDGER, "您没有导入台账的权限。")
        # An import writes verified inspections: a township reviewer verifies only once trained.
        if awaits_training(actor, VERIFY):
            raise PermissionDenied(training_message(VERIFY))
    explicit = county is not None
    county = importer_county(actor, county)
    report = progress or (lambda done, total, message: None)
    result = ImportResult(dry_run=dry_run, round_name=round_name)

    mapping = dict(HeaderMapping.objects.for_county(county)) if remembered else {}
    mapping.update(header_mapping or {})
    result.header_mapping = mapping
    rows = _check_rows(source, result, report, county_vocabulary(county), mapping)
    if not rows and not result.errors:
        raise ImportFileError("表格中没有数据行：请在表头下面每行填写一个厕所。")
    plan = _resolve(rows, actor, result, county, explicit=explicit)
    if result.errors:
        order = {name: i for i, name in enumerate(HEADERS)}
        result.errors.sort(key=lambda e: (e.row, order.get(e.column, -1)))
        report(0, 0, f"发现 {len(result.errors)} 处错误，未导入任何数据。")
        return result
    if dry_run:
        result.preview = preview_rows(rows, plan.villages, actor)

    try:
        with transaction.atomic():
            _Writer(plan, actor, result, report).write()
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    except IntegrityError as exc:
        logger.warning("ledger import collided with a concurrent change: %s", exc)
        raise ImportFileError(
            "导入期间有人同时修改了这些农户或厕所，未保存任何数据；请稍后重新导入。"
        ) from exc
    if not dry_run:
        logger.info(
            "ledger imported into round %r (county %s) by %s: %s",
            round_name,
            result.county_code,
            getattr(actor, "username", "command line"),
            result.counts,
        )
    report(len(rows), len(rows), "检查通过，可以导入。" if dry_run else "导入完成。")
    return result


def importer_county(actor, county: Region | None = None) -> Region | None:
    """The county an import goes into: ``county`` when given (a county the actor may see:
    its own or one inside its region), else the county of the actor's own region; None for
    the command line without ``--region`` and above the county level (the rows' county is
    then taken)."""
    if county is not None:
        if county.level != Level.COUNTY:
            raise ImportFileError(
                f"{county.name}（{county.code}）不是县（区），请指定县级区划代码。"
            )
        if actor is not None and not (
            ValueAlias.objects.counties_visible_to(actor).filter(pk=county.pk).exists()
        ):
            raise PermissionDenied(f"区划代码 {county.code} 不在您的管辖范围内。")
        return county
    scope = scope_of(actor) if actor is not None else None
    if scope is None or scope.region is None or len(scope.prefix) < 6:
        return None
    if scope.region.level == Level.COUNTY:
        return scope.region
    return Region.objects.filter(code=scope.prefix[:6].ljust(12, "0"), level=Level.COUNTY).first()


def system_user():
    """The account the command line imports as: it signs imported inspections and log rows.
    It cannot log in."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"first_name": "台账导入", "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


# 1. Every row on its own ---------------------------------------------------------------


def _check_rows(source, result: ImportResult, report, vocabulary, mapping=None) -> list[LedgerRow]:
    """Every row, bad ones too (``row.bad``): the database checks still look at what a bad
    row's good cells say, so that all of its errors come at once."""
    rows: list[LedgerRow] = []
    with read_ledger(source, mapping) as sheet:
        result.header_rows = sheet.header_rows
        result.unused_columns = list(sheet.unused_columns)
        total = sheet.estimated_rows
        report(0, total, "正在逐行检查…")
        count = 0
        for number, values in sheet.rows():
            count += 1
            row, errors = clean_row(number, values, vocabulary)
            result.errors.extend(errors)
            rows.append(row)
            if count % 5000 == 0:
                report(count, max(total, count), f"正在逐行检查…（已检查 {count} 行）")
    result.counts["rows"] = count
    return rows


# 2. What needs the database ------------------------------------------------------------


@dataclass
class _Plan:
    rows: list[LedgerRow]
    county: Region | None = None
    survey_round: SurveyRound | None = None
    villages: dict[str, Region] = field(default_factory=dict)
    households: dict[str, int] = field(default_factory=dict)  # ID number → pk
    toilets: list[int | None] = field(default_factory=list)  # per row: matched toilet pk


def _chunks(values, size=IN_CHUNK):
    """``values`` in lists for ``field__in=_among(chunk)``: one list on PostgreSQL (see
    ``_among``), else IN_CHUNK at a time."""
    values = list(values)
    if connection.vendor == "postgresql":
        size = max(len(values), 1)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _among(values):
    """``values`` (ints or strings) for a ``field__in=`` lookup. On PostgreSQL they go as
    one array parameter, ``IN (SELECT unnest(%s::bigint[]))``: a list would have Django
    and psycopg build, escape and parse one placeholder per value, which was most of the
    time of a big import's queries. Elsewhere the list itself."""
    values = list(values)
    if connection.vendor != "postgresql" or not values:
        return values
    if isinstance(values[0], int):
        return RawSQL("SELECT unnest(%s::bigint[])", [_array_literal(map(str, values))])
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return RawSQL("SELECT unnest(%s::text[])", [_array_literal(quoted)])


def _array_literal(texts) -> str:
    """``{1,2,3}``: an array as one text parameter. psycopg adapting a list of 100,000
    values itself (client-side binding, as Django uses it) took seconds of a re-import."""
    return "{" + ",".join(texts) + "}"


def _error(result, row: int, key: str, message: str):
    result.errors.append(RowError(row, COLUMN_BY_KEY[key].name if key else "", message))


def _resolve(
    rows: list[LedgerRow], actor, result: ImportResult, county: Region | None, *, explicit: bool
) -> _Plan:
    """Each row's village (by code, else by its names within the county), then what the
    rows say about households. Rows with errors of their own are checked too, as far as
    their good cells go."""
    plan = _Plan(rows=rows)
    codes = {row.code for row in rows if row.code}
    regions: dict[str, Region] = {}
    visible: set[str] = set()
    visible_regions = Region.objects.visible_to(actor) if actor is not None else Region.objects
    for chunk in _chunks(codes):
        regions.update({r.code: r for r in Region.objects.filter(code__in=chunk)})
        visible.update(visible_regions.filter(code__in=chunk).values_list("code", flat=True))
    county_codes = {code[:6].ljust(12, "0") for code in codes}
    counties = {r.code: r for r in Region.objects.filter(code__in=county_codes, level=Level.COUNTY)}
    named_codes = {row.code for row in rows if row.code and (row.township_name or row.village_name)}
    townships = {
        r.code[:9]: r
        for r in Region.objects.filter(
            code__in={code[:9].ljust(12, "0") for code in named_codes}, level=Level.TOWNSHIP
        )
    }

    first_county: tuple[int, Region] | None = None
    good: list[LedgerRow] = []
    for row in rows:
        if not row.code:
            continue  # unreadable or missing: already an error of the row
        region = regions.get(row.code)
        if region is None:
            _error(result, row.number, "code", f"区划代码 {row.code} 不存在，请核对")
            continue
        if row.code not in visible:
            # Only the code the row gave: nothing about what lies outside the scope.
            _error(result, row.number, "code", f"区划代码 {row.code} 不在您的管辖范围内")
            continue
        if region.level != Level.VILLAGE:
            _error(
                result,
                row.number,
                "code",
                f"{row.code} 是{region.name}（{region.get_level_display()}）的代码，"
                "请填写行政村的 12 位代码",
            )
            continue
        if region.abolished:
            _error(result, row.number, "code", f"{region.name}（{row.code}）已撤销，不能再登记")
            continue
        row_county = counties.get(row.code[:6].ljust(12, "0"))
        if row_county is None:
            _error(result, row.number, "code", f"找不到{region.name}所属的县（区）")
            continue
        if explicit and row_county.pk != county.pk:
            _error(
                result,
                row.number,
                "code",
                f"{region.name}属于{row_county.name}，不是本次导入的{county.name}；"
                "一个文件只能导入同一个县（区）的台账",
            )
            continue
        if first_county is None:
            first_county = (row.number, row_county)
        elif row_county.pk != first_county[1].pk:
            _error(
                result,
                row.number,
                "code",
                f"{region.name}属于{row_county.name}，而第 {first_county[0]} 行属于"
                f"{first_county[1].name}；一个文件只能导入同一个县（区）的台账",
            )
            continue
        if row.code in named_codes:  # the code decides; the names must agree with it
            wrong = villages.disagreement(
                region, townships.get(row.code[:9]), row.township_name, row.village_name
            )
            if wrong is not None:
                _error(result, row.number, *wrong)
                continue
        good.append(row)
    plan.villages = regions
    named = [row for row in rows if row.code == "" and row.village_name]
    if named:
        if county is None and first_county is not None:
            county = first_county[1]
        good.extend(_villages_by_name(named, county, actor, visible_regions, plan, result))
        good.sort(key=lambda row: row.number)
        if first_county is None and county is not None:
            first_county = (0, county)
    if first_county is None:
        return plan
    county = plan.county = first_county[1]
    result.county_code = county.code
    plan.survey_round = (
        SurveyRound.objects.filter(county=county, name=result.round_name)
        .select_related("template")
        .first()
    )
    result.round_created = plan.survey_round is None
    _check_duplicates(good, result)
    _match_households(plan, good, actor, result)
    if not result.errors:
        _match_toilets(plan)
    return plan


def _villages_by_name(rows, county, actor, visible_regions, plan: _Plan, result) -> list:
    """Rows that name their village instead of giving its code: looked up among the
    county's villages the importer may see; the found village's code becomes the row's."""
    if county is None:
        for row in rows:
            _error(
                result,
                row.number,
                "code",
                "按乡镇、行政村名称查找行政村时须知道是哪个县（区）：请填写区划代码，"
                "或在命令行用 --region 指定县级区划代码",
            )
        return []
    where = "您管辖的范围内" if actor is not None else county.name
    directory = villages.VillageDirectory(county, visible_regions, where=where)
    found = []
    for row in rows:
        village = directory.find(row.township_name or "", row.village_name)
        if isinstance(village, villages.Miss):
            _error(result, row.number, village.key, village.message)
            continue
        row.code = village.code
        plan.villages[village.code] = village
        found.append(row)
    return found


def _check_duplicates(rows: list[LedgerRow], result: ImportResult):
    """One household may have several toilets (rows), but must be the same household in each
    row; a public toilet appears once."""
    first_by_id: dict[str, LedgerRow] = {}
    first_public: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.kind is None:
            continue  # unreadable: which check applies is unknown
        if row.is_household:
            if not row.id_number:
                continue
            first = first_by_id.setdefault(row.id_number, row)
            if first is row:
                continue
            if first.code != row.code:
                _error(
                    result,
                    row.number,
                    "code",
                    f"与第 {first.number} 行是同一身份证号，但行政村不同（{first.code}）",
                )
            elif None not in (first.head_name, row.head_name) and first.head_name != row.head_name:
                _error(
                    result,
                    row.number,
                    "head_name",
                    f"与第 {first.number} 行是同一身份证号，但户主姓名不同"
                    f"（“{first.head_name}”与“{row.head_name}”）",
                )
        elif row.public_name:
            key = (row.code, row.public_name)
            if key in first_public:
                _error(
                    result,
                    row.number,
                    "public_name",
                    f"与第 {first_public[key]} 行是同一座公厕（同村同名），一座公厕只填一行",
                )
            else:
                first_public[key] = row.number


def _match_households(plan: _Plan, rows: list[LedgerRow], actor, result: ImportResult):
    """Households already registered in the county, by ID number. One registered in a
    village outside the importer's region cannot be moved by this import."""
    county_code = plan.county.code[:6]
    ids = {row.id_number for row in rows if row.is_household and row.id_number}
    visible_pks: set[int] = set()
    found: dict[str, int] = {}
    scoped = Household.objects.visible_to(actor) if actor is not None else Household.objects
    for chunk in _chunks(ids):
        in_county = Household.objects.filter(
            county_code=county_code, id_number__in=_among(chunk)
        ).order_by()  # into a dict: the register's order would be a sort of every row
        found.update((number, pk) for pk, number in in_county.values_list("pk", "id_number"))
        if actor is None:  # the command line sees every household
            visible_pks.update(found.values())
            continue
        visible_pks.update(
            scoped.filter(county_code=county_code, id_number__in=_among(chunk))
            .order_by()
            .values_list("pk", flat=True)
        )
    reported: set[str] = set()
    for row in rows:
        if not row.is_household or not row.id_number or row.id_number not in found:
            continue
        pk = found[row.id_number]
        if pk not in visible_pks and row.id_number not in reported:
            reported.add(row.id_number)
            _error(
                result,
                row.number,
                "id_number",
                # Which village holds it lies outside the scope: not named.
                "该身份证号已在其他村登记，不在您的管辖范围内，请联系县级管理员核实",
            )
        plan.households[row.id_number] = pk


def _match_toilets(plan: _Plan):
    """Each row's toilet: a household's toilets are matched by technical type and build
    year, then by type alone, then — one row, one toilet left — to that toilet; a public
    toilet by village and name. Unmatched rows become new toilets."""
    rows = plan.rows
    existing: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for chunk in _chunks(set(plan.households.values())):
        for pk, household_id, tech, year in (
            Toilet.objects.filter(household_id__in=_among(chunk), status=ToiletStatus.ACTIVE)
            .order_by("id")
            .values_list("pk", "household_id", "tech_type", "build_year")
        ):
            existing[household_id].append((pk, tech, year))
    public: dict[tuple[int, str], int] = {}
    village_ids = {plan.villages[row.code].pk for row in rows if not row.is_household}
    for chunk in _chunks(village_ids):
        for pk, village_id, name in (
            Toilet.objects.filter(
                kind=ToiletKind.PUBLIC, village_id__in=chunk, status=ToiletStatus.ACTIVE
            )
            .order_by("-id")  # the oldest wins below
            .values_list("pk", "village_id", "name")
        ):
            public[(village_id, name)] = pk

    matched: list[int | None] = [None] * len(rows)
    by_household: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row.is_household:
            household_pk = plan.households.get(row.id_number)
            if household_pk is not None:
                by_household[household_pk].append(index)
        else:
            matched[index] = public.get((plan.villages[row.code].pk, row.public_name))
    for household_pk, indexes in by_household.items():
        left = existing.get(household_pk)
        if not left:
            continue
        if len(indexes) == 1 and len(left) == 1:
            matched[indexes[0]] = left[0][0]  # what the three rules below come to
            continue
        left = list(left)
        for same in (
            lambda row, t: t[1] == row.tech_type and t[2] == row.build_year,
            lambda row, t: t[1] == row.tech_type,
        ):
            for index in indexes:
                if matched[index] is None:
                    hit = next((t for t in left if same(rows[index], t)), None)
                    if hit is not None:
                        matched[index] = hit[0]
                        left.remove(hit)
        unmatched = [i for i in indexes if matched[i] is None]
        if len(unmatched) == 1 and len(left) == 1:
            matched[unmatched[0]] = left[0][0]
    plan.toilets = matched


# 3. Writing ----------------------------------------------------------------------------


class _Writer:
    def __init__(self, plan: _Plan, actor, result: ImportResult, report):
        self.plan = plan
        self.result = result
        self.report = report
        self.user = actor if actor is not None else system_user()
        self.now = timezone.now()
        self.counts = result.counts
        self.created_households: dict[str, int] = {}
        self.touched_households: set[int] = set()
        self.touched_toilets: set[int] = set()
        self._noon: dict[datetime.date, datetime.datetime] = {}
        now, user = self.now, self.user
        # PostgreSQL: the COPYs run in a thread while the next chunk is prepared (bulk.Pipeline).
        self.pipeline = Pipeline() if connection.vendor == "postgresql" else None
        pipe = {"now": now, "pipeline": self.pipeline}
        self.insert_household = Inserter(Household, HOUSEHOLD_COLUMNS, history_user=user, **pipe)
        self.insert_toilet = Inserter(Toilet, TOILET_COLUMNS, history_user=user, **pipe)
        self.insert_inspection = Inserter(Inspection, INSPECTION_COLUMNS, history_user=user, **pipe)
        self.insert_inspection_category = Inserter(
            Inspection.categories.through,
            ["inspection_id", "problemcategory_id"],
            ids=False,
            **pipe,
        )
        self.insert_entry = Inserter(LedgerEntry, ENTRY_COLUMNS, **pipe)
        self.insert_entry_category = Inserter(
            LedgerEntry.categories.through,
            ["ledgerentry_id", "problemcategory_id"],
            ids=False,
            **pipe,
        )
        self.insert_log = Inserter(LedgerLog, LOG_COLUMNS, ids=False, **pipe)

    def write(self):
        rows = self.plan.rows
        self.survey_round = self.plan.survey_round or self._create_round()
        self._read_registered()
        total = len(rows)
        if self.pipeline is None:
            for start in range(0, total, CHUNK):
                self.report(start, total, f"正在写入…（{start}/{total} 行）")
                self._write_chunk(start, rows[start : start + CHUNK])
            return
        self._reserve_ids()
        with connection.cursor() as cursor:
            # Foreign keys are checked as each COPY ends, in the pipeline's thread, rather than
            # all at the commit, when nothing else can go on. Every row is written after the
            # rows it refers to, so this refuses exactly what the commit would.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        try:
            for start in range(0, total, CHUNK):
                # What the bar says is written is: the server catches up with each chunk (it
                # is the slower side; the COPYs of a chunk still overlap its preparation).
                self._sync()
                self.report(start, total, f"正在写入…（{start}/{total} 行）")
                self._write_chunk(start, rows[start : start + CHUNK])
            self._sync()
        finally:
            self.pipeline.close()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys' default

    def _sync(self):
        """Wait for the pipeline's COPYs: before this thread uses the connection itself."""
        if self.pipeline is not None:
            self.pipeline.drain()

    def _reserve_ids(self):
        """The ids of the rows the plan already says are new, drawn in one query per table
        (more are drawn as the writing finds them)."""
        plan = self.plan
        known = plan.households
        new_households = {
            row.id_number for row in plan.rows if row.is_household and row.id_number not in known
        }
        self.insert_household.reserve(len(new_households))
        new_toilets = [row for row, pk in zip(plan.rows, plan.toilets, strict=True) if pk is None]
        self.insert_toilet.reserve(len(new_toilets))
        self.insert_inspection.reserve(len(new_toilets))
        self.insert_entry.reserve(sum(1 for row in new_toilets if row.is_problem))

    def _noon_of(self, day: datetime.date) -> datetime.datetime:
        if day not in self._noon:
            self._noon[day] = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
        return self._noon[day]

    def _create_round(self) -> SurveyRound:
        days = [row.inspected_on for row in self.plan.rows]
        template = ReportTemplate.objects.filter(is_default=True).first()
        if template is None:
            raise ImportFileError("系统中没有默认的汇总表模板，请联系系统管理员。")
        survey_round = SurveyRound.objects.create(
            name=self.result.round_name,
            kind=RoundKind.SURVEY,
            county=self.plan.county,
            start_date=min(days),
            end_date=max(days),
            template=template,
            status=RoundStatus.CLOSED,
            created_by=self.user,
            opened_at=self.now,
            closed_at=self.now,
        )
        logger.info("round %s created for the ledger import", survey_round.pk)
        return survey_round

    def _write_chunk(self, start: int, rows: list[LedgerRow]):
        household_pks = self._households(rows)
        toilet_pks = self._toilets(start, rows, household_pks)
        inspections, changed = self._inspections(rows, toilet_pks)
        self._ledger(rows, toilet_pks, inspections, changed)

    def _read_registered(self):
        """The round's inspections and the ledger's entries of the toilets registered before
        the import, read once for all chunks: a toilet is one row's, so no chunk's writes
        change what another chunk reads here. A toilet the import creates has neither."""
        # toilet → (pk, usability, partner name, local day inspected, category codes)
        self.found_inspections: dict[int, tuple] = {}
        self.found_entries: dict[int, list[LedgerEntry]] = defaultdict(list)
        self.entry_categories: dict[int, set[str]] = defaultdict(set)
        self.moved_entries: set[int] = set()
        registered = [pk for pk in self.plan.toilets if pk is not None]
        if not registered:
            return
        none: frozenset[str] = frozenset()
        for chunk in _chunks(registered) if self.plan.survey_round is not None else ():
            found = Inspection.objects.filter(
                round=self.plan.survey_round, toilet_id__in=_among(chunk)
            )
            categories = defaultdict(set)
            for inspection_id, code in Inspection.categories.through.objects.filter(
                inspection__in=found
            ).values_list("inspection_id", "problemcategory_id"):
                categories[inspection_id].add(code)
            # The day in the current time zone, as timezone.localdate() tells it, worked out
            # by the database: loading 100,000 aware datetimes is slow.
            for pk, toilet_id, usability, partner, day in found.annotate(
                day=TruncDate("inspected_at")
            ).values_list("pk", "toilet_id", "usability", "partner_name", "day"):
                self.found_inspections[toilet_id] = (
                    pk, usability, partner, day, categories.get(pk, none)
                )  # fmt: skip
        # Only the entries a row can touch: the toilet's open one, and the one this round
        # opened (closed or withdrawn by an earlier import of the same file).
        for chunk in _chunks(registered):
            own = [self.found_inspections[t][0] for t in chunk if t in self.found_inspections]
            for entry in findings.entries_concerned(_among(chunk), _among(own)):
                self.found_entries[entry.toilet_id].append(entry)
        # entry → its category codes, one query (a prefetch would send a placeholder per entry)
        entry_pks = [e.pk for group in self.found_entries.values() for e in group]
        for chunk in _chunks(entry_pks):
            for entry_id, code in LedgerEntry.categories.through.objects.filter(
                ledgerentry_id__in=_among(chunk)
            ).values_list("ledgerentry_id", "problemcategory_id"):
                self.entry_categories[entry_id].add(code)
            self.moved_entries |= findings.moved_entries(chunk)

    def _changed(self, model, wanted, names: list[str], target) -> list:
        """The rows among ``wanted`` (pks) whose ``names`` differ from ``target(pk, current
        values)`` (both lists in ``names`` order), as instances with the new values set and the version bumped. Unchanged rows
        are compared as tuples and never instantiated."""
        differing = {}
        if wanted:
            self._sync()
        for chunk in _chunks(wanted):
            current = model.objects.filter(pk__in=_among(chunk)).order_by()
            for pk, *values in current.values_list("pk", *names):
                new = target(pk, values)
                if new != values:
                    differing[pk] = dict(zip(names, new, strict=True))
        changed = []
        for chunk in _chunks(differing):
            for obj in model.objects.filter(pk__in=_among(chunk)):
                for key, value in differing[obj.pk].items():
                    setattr(obj, key, value)
                obj.version += 1
                obj.updated_at = self.now
                changed.append(obj)
        return changed

    # Households

    def _households(self, rows: list[LedgerRow]) -> dict[str, int]:
        """Create the new households and update the changed ones; ID number → pk."""
        villages = self.plan.villages
        known = self.plan.households
        new: dict[str, tuple] = {}
        wanted: dict[int, LedgerRow] = {}
        for row in rows:
            if not row.is_household:
                continue
            pk = known.get(row.id_number) or self.created_households.get(row.id_number)
            if pk is None:
                if row.id_number not in new:
                    village = villages[row.code]
                    new[row.id_number] = (
                        village.pk,
                        village.code[:6],
                        row.group,
                        row.head_name,
                        row.id_number,
                        row.phone,
                    )
            elif pk not in self.touched_households:
                wanted.setdefault(pk, row)
        if new:
            created = self.insert_household.insert(list(new.values()))
            self.created_households.update(zip(new, created, strict=True))
            self.counts["households_created"] += len(created)

        def target(pk, current):
            row = wanted[pk]
            _village, _head, group, phone = current
            # An empty cell keeps what is registered rather than erasing it.
            return [villages[row.code].pk, row.head_name, row.group or group, row.phone or phone]

        changed = self._changed(
            Household, wanted, ["village_id", "head_name", "group_name", "phone"], target
        )
        self.touched_households.update(wanted)
        if changed:
            bulk_update_with_history(
                changed,
                Household,
                ["village", "head_name", "group_name", "phone", "version", "updated_at"],
                batch_size=BATCH,
                default_user=self.user,
            )
            self.counts["households_updated"] += len(changed)
        return {**known, **self.created_households}

    # Toilets

    def _toilet_values(self, row: LedgerRow, household_pk: int | None) -> dict:
        return {
            "village_id": self.plan.villages[row.code].pk,
            "household_id": household_pk,
            "kind": row.kind,
            "name": "" if row.is_household else row.public_name,
            "tech_type": row.tech_type,
            "flush_kind": row.flush_kind,
            "build_year": row.build_year,
            "funding": row.funding,
        }

    def _toilets(self, start: int, rows: list[LedgerRow], households: dict) -> list[int]:
        matched = self.plan.toilets[start : start + len(rows)]
        new: list[tuple[int, tuple]] = []
        wanted: dict[int, tuple[LedgerRow, int | None]] = {}
        pks: list[int | None] = list(matched)
        for index, (row, pk) in enumerate(zip(rows, matched, strict=True)):
            household_pk = households.get(row.id_number) if row.is_household else None
            if pk is None:
                values = self._toilet_values(row, household_pk)
                values["lead_department"] = default_lead_department(row.build_year)
                new.append((index, tuple(values[name] for name in TOILET_COLUMNS)))
            else:
                wanted[pk] = (row, household_pk)
        if new:
            created = self.insert_toilet.insert([values for _, values in new])
            for (index, _), pk in zip(new, created, strict=True):
                pks[index] = pk
            self.counts["toilets_created"] += len(created)

        def target(pk, current):
            row, household_pk = wanted[pk]
            values = self._toilet_values(row, household_pk)
            build_year, lead_department = current[6], current[8]
            if build_year != row.build_year and lead_department == (
                default_lead_department(build_year)
            ):
                lead_department = default_lead_department(row.build_year)
            values["lead_department"] = lead_department
            return [values[name] for name in TOILET_COLUMNS]

        changed = self._changed(Toilet, wanted, TOILET_COLUMNS, target)
        if changed:
            bulk_update_with_history(
                changed,
                Toilet,
                TOILET_FIELDS,
                batch_size=BATCH,
                default_user=self.user,
            )
            self.counts["toilets_updated"] += len(changed)
        return pks

    # Inspections

    def _inspections(self, rows, toilet_pks) -> tuple[list[int], list[bool]]:
        """The round's inspection of each row's toilet (ids), created or brought in line
        with the row; ``changed`` says per row whether the finding is new or changed."""
        survey_round = self.survey_round
        existing = self.found_inspections
        ids: list[int | None] = [None] * len(rows)
        changed_flags = [False] * len(rows)
        new: list[tuple[int, tuple]] = []
        updated: dict[int, dict] = {}
        recategorised: list[int] = []
        user_id = self.user.pk
        for index, (row, toilet_pk) in enumerate(zip(rows, toilet_pks, strict=True)):
            when = self._noon_of(row.inspected_on)
            partner = row.surveyor_name or "（台账未填）"
            inspection = existing.get(toilet_pk)
            if inspection is None:
                new.append(
                    (
                        index,
                        (
                            survey_round.pk, toilet_pk, user_id, partner, when, True,
                            CheckMethod.ASK_AND_LOOK.value, row.usability, IMPORTED_NOTE, True,
                            InspectionStatus.VERIFIED.value, user_id, self.now,
                            self.plan.villages[row.code].pk,  # the toilet's, as written above
                        ),
                    )
                )  # fmt: skip
                changed_flags[index] = True
                continue
            pk, usability, old_partner, day, old_categories = inspection
            ids[index] = pk
            same_finding = usability == row.usability and old_categories == set(row.categories)
            same_record = old_partner == partner and day == row.inspected_on
            if not same_finding or not same_record:
                values = {"usability": row.usability, "partner_name": partner}
                if not same_record:
                    values["inspected_at"] = when
                updated[pk] = values
            if not same_finding:
                changed_flags[index] = True
                if old_categories != set(row.categories):
                    recategorised.append(index)
        if new:
            created = self.insert_inspection.insert([values for _, values in new])
            for (index, _), pk in zip(new, created, strict=True):
                ids[index] = pk
            self.counts["inspections_created"] += len(created)
            self.insert_inspection_category.insert(
                [(ids[index], code) for index, _ in new for code in rows[index].categories]
            )
        if updated:
            self._sync()
            instances = list(Inspection.objects.filter(pk__in=list(updated)))
            for inspection in instances:
                for key, value in updated[inspection.pk].items():
                    setattr(inspection, key, value)
                inspection.version += 1
                inspection.updated_at = self.now
            bulk_update_with_history(
                instances,
                Inspection,
                ["usability", "partner_name", "inspected_at", "version", "updated_at"],
                batch_size=BATCH,
                default_user=self.user,
            )
            self.counts["inspections_updated"] += len(updated)
        if recategorised:
            self._sync()
            through = Inspection.categories.through
            through.objects.filter(inspection_id__in=[ids[i] for i in recategorised]).delete()
            self.insert_inspection_category.insert(
                [(ids[index], code) for index in recategorised for code in rows[index].categories]
            )
        return ids, changed_flags

    # The ledger

    def _ledger(self, rows, toilet_pks, inspections, changed):
        """Open, update, close or withdraw each toilet's entry so that the ledger says what
        the row says, as ``findings.decide`` says. An entry that has been through the close-out
        workflow in the system keeps the state the workflow gave it: the import only updates
        its finding."""
        by_toilet = self.found_entries
        entry_categories = self.entry_categories
        moved = self.moved_entries
        new_entries: list[tuple[int, tuple]] = []
        new_logs: list[tuple[str, str]] = []  # (state, note) of each new entry's log row
        updates: dict[int, LedgerEntry] = {}
        recategorised: list[tuple[LedgerEntry, LedgerRow]] = []
        logs: list[tuple] = []
        user_id = self.user.pk

        def log(entry_id, from_state, to_state, note, inspection_id):
            logs.append(
                (entry_id, user_id, from_state, to_state, "import", note[:300], inspection_id)
            )

        for index, (row, toilet_pk) in enumerate(zip(rows, toilet_pks, strict=True)):
            if not changed[index] and not row.is_problem:
                continue  # findings.decide: an unchanged finding of a usable toilet does nothing
            inspection = inspections[index]
            own, current = findings.own_and_open(by_toilet.get(toilet_pk, ()), inspection)
            decision = findings.decide(
                is_problem=row.is_problem,
                closed=row.closed,
                changed=changed[index],
                own=findings.facts(own, moved),
                current=findings.facts(current, moved),
            )
            entry = decision.entry(own, current)
            finding = _finding(row)
            if decision.act == Act.OPEN:
                wanted = decision.state
                values = (
                    toilet_pk, self.survey_round.pk, inspection, inspection, row.usability,
                    wanted.value, self.now, self.now if wanted == LedgerState.CLOSED else None,
                )  # fmt: skip
                new_entries.append((index, values))
                note = f"台账导入（{self.survey_round.name}）：{finding}"
                if row.closed:
                    note += "；原台账记为已销号"
                new_logs.append((wanted.value, note))
            elif decision.act == Act.UPDATE:
                from_state = entry.state
                if changed[index] or entry.last_inspection_id != inspection:
                    entry.usability = row.usability
                    entry.last_inspection_id = inspection
                    if entry_categories[entry.pk] != set(row.categories):
                        recategorised.append((entry, row))
                    updates[entry.pk] = entry
                    self.counts["entries_updated"] += 1
                if decision.state is not None:
                    entry.state = decision.state
                    entry.state_changed_at = self.now
                    entry.closed_at = self.now if entry.state == LedgerState.CLOSED else None
                    updates[entry.pk] = entry
                    if entry.state == LedgerState.CLOSED:
                        self.counts["entries_closed"] += 1
                if entry.pk in updates:
                    entry.version += 1
                    entry.updated_at = self.now
                    note = f"台账导入更新（{self.survey_round.name}）：{finding}"
                    if entry.state != from_state:
                        note += f"；整改情况：{'已销号' if row.closed else '未销号'}"
                    log(entry.pk, from_state, entry.state, note, inspection)
            elif decision.act in (Act.WITHDRAW, Act.RECHECK):
                # Found usable: an entry only this import stood behind is withdrawn; one the
                # workflow has touched stays, to be closed with evidence.
                from_state = entry.state
                if decision.act == Act.WITHDRAW:
                    entry.state = LedgerState.WITHDRAWN
                    entry.state_changed_at = self.now
                    note = f"台账导入更正为正常使用（{self.survey_round.name}），撤销该问题登记"
                else:
                    note = f"台账导入（{self.survey_round.name}）：使用正常，待按整改流程核实销号"
                entry.version += 1
                entry.updated_at = self.now
                entry.last_inspection_id = inspection
                updates[entry.pk] = entry
                self.counts["entries_updated"] += 1
                log(entry.pk, from_state, entry.state, note, inspection)

        if new_entries:
            created = self.insert_entry.insert([values for _, values in new_entries])
            self.insert_entry_category.insert(
                [
                    (pk, code)
                    for (index, _), pk in zip(new_entries, created, strict=True)
                    for code in rows[index].categories
                ]
            )
            for (_index, values), pk, (state, note) in zip(
                new_entries, created, new_logs, strict=True
            ):
                log(pk, "", state, note, values[2])
            self.counts["entries_opened"] += len(created)
            self.counts["entries_closed"] += sum(
                1 for _, values in new_entries if values[5] == LedgerState.CLOSED
            )
        if updates:
            self._sync()
            LedgerEntry.objects.bulk_update(list(updates.values()), ENTRY_FIELDS, batch_size=BATCH)
        if recategorised:
            self._sync()
            through = LedgerEntry.categories.through
            through.objects.filter(ledgerentry_id__in=[e.pk for e, _ in recategorised]).delete()
            self.insert_entry_category.insert(
                [(entry.pk, code) for entry, row in recategorised for code in row.categories]
            )
        self.insert_log.insert(logs)


_CATEGORY_NAMES = {code: name for code, name, _ in PROBLEM_CATEGORIES}


def _finding(row: LedgerRow) -> str:
    """`不能使用：厕具问题、粪池问题`"""
    key = (row.usability, row.categories)
    text = _FINDINGS.get(key)
    if text is None:
        label = Usability(row.usability).label
        names = "、".join(_CATEGORY_NAMES[c] for c in row.categories)
        text = _FINDINGS[key] = f"{label}：{names}" if names else label
    return text


_FINDINGS: dict[tuple, str] = {}  # (usability, categories) → text: a few dozen at most

"""The weekly progress table of the 整村推进 programme (seed 003, 整村推进每周进展情况汇总表):
per township, its programme villages, the year's targets and what has been completed.

Definitions (shown in the page's notes as well):
- 整村推进村: villages with a ProgressTarget row for the year.
- 目标任务 新建 / 整改: the sums of those rows' targets.
- 完成情况 新建: household toilets in use in the programme villages, built in the year
  (build_year == year) and registered (created_at) within the year.
- 完成情况 整改: ledger entries of household toilets in the programme villages closed out
  (已销号, closed_at) within the year.

Three grouped queries (targets, toilets, ledger entries), each grouped by village, all read
through ``visible_to(user)``; nothing loops over toilets. Writes of the targets are
``save_targets`` (all rows or none).
"""

import datetime
import io
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from core.xlsx import escape_cell
from rectification.choices import LedgerState
from rectification.models import LedgerEntry
from regions.choices import MANAGE_ROUNDS, PLAN_ACCEPT, Level
from regions.models import Region
from regions.scoping import has_capability
from toilets.choices import ToiletKind, ToiletStatus
from toilets.models import Toilet

from .models import ProgressTarget

TITLE_SUFFIX = "年度农村户厕改造整村推进每周进展情况汇总表"
TOTAL_LABEL = "合计"
PROGRESS_LEVELS = (Level.COUNTY, Level.TOWNSHIP)
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_TARGET = 100_000

DEFINITIONS = [
    "整村推进村：本年度列入整村推进的行政村（在“目标任务”页面勾选的村）。",
    "目标任务：各整村推进村本年度新建、整改目标之和。",
    "完成情况·新建：整村推进村中本年度登记、建造年份为本年度且在用的户厕数。",
    "完成情况·整改：整村推进村中本年度已销号（验收并经农户签字）的户厕问题数。",
]


@dataclass
class VillageProgress:
    village: Region
    target_new: int = 0
    target_rect: int = 0
    done_new: int = 0
    done_rect: int = 0
    note: str = ""


@dataclass
class ProgressRow:
    region: Region | None  # None for the 合计 row
    label: str
    villages: list[VillageProgress] = field(default_factory=list)
    target_new: int = 0
    target_rect: int = 0
    done_new: int = 0
    done_rect: int = 0

    @property
    def village_names(self) -> str:
        return "、".join(v.village.name for v in self.villages)

    @property
    def note(self) -> str:
        return "；".join(f"{v.village.name}：{v.note}" for v in self.villages if v.note)

    def add(self, village: VillageProgress):
        self.villages.append(village)
        self.target_new += village.target_new
        self.target_rect += village.target_rect
        self.done_new += village.done_new
        self.done_rect += village.done_rect


@dataclass
class ProgressTable:
    region: Region
    year: int
    as_of: datetime.datetime
    rows: list[ProgressRow]
    total: ProgressRow

    @property
    def title(self) -> str:
        return f"{self.year}{TITLE_SUFFIX}"

    @property
    def villages(self) -> list[VillageProgress]:
        return [v for row in self.rows for v in row.villages]


def year_range(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    """[1 January, next 1 January) in the county's time zone."""
    tz = timezone.get_current_timezone()
    return (
        datetime.datetime(year, 1, 1, tzinfo=tz),
        datetime.datetime(year + 1, 1, 1, tzinfo=tz),
    )


def progress_regions(user):
    """The counties and townships whose table ``user`` may see."""
    return Region.objects.visible_to(user).filter(level__in=PROGRESS_LEVELS)


def can_see_progress(user, scope) -> bool:
    """Whether the progress page opens for ``user`` (its own county or township, or a county
    it sees); a village's surveyor has none and is not shown the link."""
    region = scope.region if scope is not None else None
    if region is not None and region.level in PROGRESS_LEVELS:
        return True
    return progress_regions(user).filter(level=Level.COUNTY).exists()


def _townships(region: Region, user) -> list[Region]:
    if region.level == Level.TOWNSHIP:
        return [region]
    return list(
        Region.objects.visible_to(user).filter(parent=region, level=Level.TOWNSHIP).order_by("code")
    )


def build_progress(region: Region, year: int, *, user) -> ProgressTable:
    """The table for a county (a row per township) or a township (its own row)."""
    start, end = year_range(year)
    prefix = region.prefix
    targets = list(
        ProgressTarget.objects.visible_to(user)
        .filter(year=year, village__code__startswith=prefix)
        .select_related("village")
        .order_by("village__code")
    )
    codes = [t.village.code for t in targets]
    built = dict(
        Toilet.objects.visible_to(user)
        .filter(
            village__code__in=codes,
            kind=ToiletKind.HOUSEHOLD,
            status=ToiletStatus.ACTIVE,
            build_year=year,
            created_at__gte=start,
            created_at__lt=end,
        )
        .values_list("village__code")
        .annotate(n=Count("id"))
        .order_by()
    )
    closed = dict(
        LedgerEntry.objects.visible_to(user)
        .filter(
            toilet__village__code__in=codes,
            toilet__kind=ToiletKind.HOUSEHOLD,
            state=LedgerState.CLOSED,
            closed_at__gte=start,
            closed_at__lt=end,
        )
        .values_list("toilet__village__code")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = [ProgressRow(t, t.name) for t in _townships(region, user)]
    by_prefix = {row.region.prefix: row for row in rows}
    for target in targets:
        row = by_prefix.get(target.village.code[:9])
        if row is None:  # a township the user cannot see (cannot happen with a scoped user)
            continue
        row.add(
            VillageProgress(
                village=target.village,
                target_new=target.new_builds,
                target_rect=target.rectifications,
                done_new=built.get(target.village.code, 0),
                done_rect=closed.get(target.village.code, 0),
                note=target.note,
            )
        )
    total = ProgressRow(None, TOTAL_LABEL)
    for row in rows:
        total.villages += row.villages
        total.target_new += row.target_new
        total.target_rect += row.target_rect
        total.done_new += row.done_new
        total.done_rect += row.done_rect
    return ProgressTable(region, year, timezone.now(), rows, total)


# The spreadsheet ----------------------------------------------------------------------------

_thin = Side(style="thin")
_BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="center", wrap_text=True)
HEADER_TOP = 3


def progress_workbook_bytes(table: ProgressTable) -> bytes:
    """The table laid out like seed 003: the title, two header rows (目标任务 / 完成情况
    merged over 新建 / 整改), a row per township, 合计, then the definitions."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "整村推进进展"
    sheet.merge_cells("A1:G1")
    sheet["A1"] = table.title
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    as_of = timezone.localtime(table.as_of)
    sheet["A2"] = escape_cell(f"填报单位：{table.region.name}")
    sheet["E2"] = f"数据截至：{as_of:%Y-%m-%d %H:%M}"
    sheet.merge_cells("E2:G2")
    sheet["E2"].alignment = Alignment(horizontal="right")

    top, second = HEADER_TOP, HEADER_TOP + 1
    for column, title in ((1, "区镇"), (2, "整村推进村"), (7, "备注")):
        sheet.cell(row=top, column=column, value=title)
        sheet.merge_cells(start_row=top, start_column=column, end_row=second, end_column=column)
    for column, title in ((3, "目标任务"), (5, "完成情况")):
        sheet.cell(row=top, column=column, value=title)
        sheet.merge_cells(start_row=top, start_column=column, end_row=top, end_column=column + 1)
    for column, title in ((3, "新建"), (4, "整改"), (5, "新建"), (6, "整改")):
        sheet.cell(row=second, column=column, value=title)
    for r in (top, second):
        for c in range(1, 8):
            sheet.cell(row=r, column=c).alignment = _CENTER
            sheet.cell(row=r, column=c).font = Font(bold=True)

    r = second
    for row in [*table.rows, table.total]:
        r += 1
        villages = f"共 {len(row.villages)} 个村" if row.region is None else row.village_names
        values = [
            row.label,
            villages,
            row.target_new,
            row.target_rect,
            row.done_new,
            row.done_rect,
            "" if row.region is None else row.note,
        ]
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=c, value=escape_cell(value))
            cell.alignment = _WRAP if c in (2, 7) else _CENTER
        if row.region is None:
            for c in range(1, 8):
                sheet.cell(row=r, column=c).font = Font(bold=True)
    for row_cells in sheet.iter_rows(min_row=top, max_row=r, max_col=7):
        for cell in row_cells:
            cell.border = _BORDER
    for i, text in enumerate(["说明：", *DEFINITIONS], start=r + 2):
        sheet.cell(row=i, column=1, value=text)
    for column, width in zip(range(1, 8), (14, 36, 9, 9, 9, 9, 30), strict=True):
        sheet.column_dimensions[get_column_letter(column)].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def progress_filename(table: ProgressTable) -> str:
    stamp = timezone.localtime(table.as_of).strftime("%Y%m%d-%H%M")
    return f"{table.region.name}-{table.year}年整村推进进展-{stamp}.xlsx"


# Targets ----------------------------------------------------------------------------------


def can_edit_targets(user) -> bool:
    """The county (MANAGE_ROUNDS) or the township (PLAN_ACCEPT) sets the year's targets."""
    return has_capability(user, MANAGE_ROUNDS) or has_capability(user, PLAN_ACCEPT)


@dataclass
class TargetInput:
    village: Region
    in_programme: bool
    new_builds: int = 0
    rectifications: int = 0
    note: str = ""


def save_targets(*, actor, year: int, rows: list[TargetInput]) -> int:
    """Write the year's targets of the given villages: a row for each village in the
    programme, none for the others. All of them or none; returns how many rows changed."""
    if not can_edit_targets(actor):
        raise PermissionDenied("只有县级管理员或乡镇审核员可以填写整村推进目标。")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(f"年度应在 {MIN_YEAR}—{MAX_YEAR} 之间。")
    codes = [row.village.code for row in rows]
    visible = set(
        Region.objects.visible_to(actor)
        .villages()
        .filter(code__in=codes)
        .values_list("code", flat=True)
    )
    outside = [row.village.name for row in rows if row.village.code not in visible]
    if outside:
        raise ValidationError(f"{'、'.join(outside)}不在您的管辖范围内。")
    changed = 0
    try:
        with transaction.atomic():
            existing = {
                t.village_id: t
                for t in ProgressTarget.objects.visible_to(actor)
                .select_for_update()
                .filter(year=year, village__code__in=codes)
            }
            for row in rows:
                current = existing.get(row.village.pk)
                if not row.in_programme:
                    if current is not None:
                        current.delete()
                        changed += 1
                    continue
                values = (row.new_builds, row.rectifications, row.note)
                if current is None:
                    ProgressTarget.objects.create(
                        year=year,
                        village=row.village,
                        new_builds=row.new_builds,
                        rectifications=row.rectifications,
                        note=row.note,
                        updated_by=actor,
                    )
                    changed += 1
                elif (current.new_builds, current.rectifications, current.note) != values:
                    current.new_builds, current.rectifications, current.note = values
                    current.updated_by = actor
                    current.save()
                    changed += 1
    except IntegrityError as exc:
        # Somebody else added the same village for the year at the same moment.
        raise ValidationError(
            "其他人刚刚修改了这些目标，未保存任何修改，请刷新后重新填写。"
        ) from exc
    return changed

"""Spreadsheet exports of the list pages, and of the register's two lists.

Every list page's 导出 Excel goes through ``Export``: a builder takes the user and the page's
query parameters, reads the same filtered rows as the page through ``visible_to(user)`` and
says how to write them. ``write_xlsx`` is the one writer: every text cell is escaped against
formula injection and every datetime is written as local naive time. Small exports are sent at
once; big ones run as report jobs (``reports.jobs``), which call the same builders.
"""

import datetime
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from django.db.models import Count
from django.http import QueryDict
from django.utils import timezone
from openpyxl import Workbook

from regions.choices import SEE_IDENTITY
from regions.scoping import has_capability, scope_of

from .filters import HouseholdFilter, ToiletFilter, build_filterset, valid_rows
from .identity import mask_id_number, mask_phone
from .models import Household, Toilet

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000
PROGRESS_EVERY = 500


def escape_cell(value):
    """Text that a spreadsheet would run as a formula is prefixed with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def local_naive(value):
    """openpyxl refuses aware datetimes: local time (the county's), without tzinfo."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
    return value


def cell(value):
    return escape_cell(local_naive(value))


def quote_filename(name: str) -> str:
    return quote(name, safe="")


def write_xlsx(title: str, headers: list[str], rows, progress=None) -> bytes:
    """One sheet, headers on row 1; ``progress(done)`` is called every few hundred rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    done = 0
    for row in rows:
        sheet.append([cell(value) for value in row])
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Query parameters -------------------------------------------------------------------------


def params_of(query) -> dict:
    """A page's query string (a QueryDict, or a job's stored params) as a JSON-able dict: the
    page number and empty values dropped, a repeated key kept as a list."""
    query = as_query(query)
    params = {}
    for key in sorted(query.keys()):
        values = [v for v in query.getlist(key) if v != ""]
        if key != "page" and values:
            params[key] = values[0] if len(values) == 1 else values
    return params


def as_query(params) -> QueryDict:
    if isinstance(params, QueryDict):
        return params
    query = QueryDict(mutable=True)
    for key, value in (params or {}).items():
        query.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return query


# The export -------------------------------------------------------------------------------


def place_of(user) -> str:
    """The user's own region, which names the file (nothing for a global superuser)."""
    scope = scope_of(user)
    return scope.region.name if scope is not None and scope.region is not None else ""


@dataclass
class Export:
    """What one list page's download holds for one user and one set of filters."""

    title: str  # the sheet's name and the file's: 厕所台账
    headers: list[str]
    count: Callable[[], int]  # how many data rows (one query)
    rows: Callable[[], Iterable[list]]  # the data rows, read lazily in chunks
    place: str = ""  # the user's region, first in the file name
    qualifiers: list[str] = field(default_factory=list)  # e.g. the round's name

    def xlsx(self, progress=None) -> bytes:
        return write_xlsx(self.title, self.headers, self.rows(), progress=progress)

    def filename(self) -> str:
        """``钦南区-厕所台账-20261123.xlsx``"""
        stamp = timezone.localdate().strftime("%Y%m%d")
        parts = [p for p in (self.place, *self.qualifiers, self.title, stamp) if p]
        return "-".join(parts).replace("/", "_") + ".xlsx"


def queryset_export(user, title, headers, queryset, row, qualifiers=()) -> Export:
    """An export of one ordered queryset, one row per object (``row(obj)``)."""
    return Export(
        title=title,
        headers=headers,
        count=lambda: queryset.order_by().count(),
        rows=lambda: (row(obj) for obj in queryset.iterator(chunk_size=CHUNK_SIZE)),
        place=place_of(user),
        qualifiers=list(qualifiers),
    )


def identity_masks(user):
    """(id_number, phone) formatters: full numbers only for the roles that may see them."""
    if has_capability(user, SEE_IDENTITY):
        return (lambda v: v or ""), (lambda v: v or "")
    return (lambda v: mask_id_number(v or "")), (lambda v: mask_phone(v or ""))


def township_name(village) -> str:
    return village.parent.name if village.parent_id else ""


# Households -------------------------------------------------------------------------------

HOUSEHOLD_TITLE = "农户台账"
HOUSEHOLD_HEADERS = [
    "乡镇", "行政村", "区划代码", "村民小组", "户主", "身份证号", "联系电话", "地址", "居住情况", "厕所数",
]  # fmt: skip
HOUSEHOLD_RELATED = ("village__parent",)


def household_queryset(user, params):
    """The household list's rows for ``params`` (the page's filters), scoped to ``user``;
    InvalidFilter when a filter value is not allowed."""
    return valid_rows(build_filterset(HouseholdFilter, user, as_query(params)))


def household_export(user, params) -> Export:
    households = (
        household_queryset(user, params)
        .select_related(*HOUSEHOLD_RELATED)
        .annotate(toilet_count=Count("toilets"))
        .order_by(*Household._meta.ordering)
    )
    id_number, phone = identity_masks(user)

    def row(h):
        return [
            township_name(h.village),
            h.village.name,
            h.village.code,
            h.group_name,
            h.head_name,
            id_number(h.id_number),
            phone(h.phone),
            h.address,
            h.get_occupancy_display(),
            h.toilet_count,
        ]

    return queryset_export(user, HOUSEHOLD_TITLE, HOUSEHOLD_HEADERS, households, row)


# Toilets ----------------------------------------------------------------------------------

TOILET_TITLE = "厕所台账"
TOILET_HEADERS = [
    "编号", "乡镇", "行政村", "区划代码", "厕所类别", "户主", "身份证号", "联系电话", "村民小组",
    "公厕名称", "技术模式", "水冲/旱厕", "室内/室外", "建造年份", "资金来源", "牵头部门", "纬度",
    "经度", "状态", "登记时间",
]  # fmt: skip
TOILET_RELATED = ("village__parent", "household")


def toilet_queryset(user, params):
    return valid_rows(build_filterset(ToiletFilter, user, as_query(params)))


def toilet_export(user, params) -> Export:
    toilets = (
        toilet_queryset(user, params)
        .select_related(*TOILET_RELATED)
        .order_by(*Toilet._meta.ordering)
    )
    id_number, phone = identity_masks(user)

    def row(t):
        household = t.household
        return [
            t.pk,
            township_name(t.village),
            t.village.name,
            t.village.code,
            t.get_kind_display(),
            household.head_name if household else "",
            id_number(household.id_number) if household else "",
            phone(household.phone) if household else "",
            household.group_name if household else "",
            t.name,
            t.get_tech_type_display(),
            t.get_flush_kind_display(),
            t.get_placement_display(),
            t.build_year,
            t.get_funding_display(),
            t.get_lead_department_display(),
            t.latitude,
            t.longitude,
            t.get_status_display(),
            t.created_at,
        ]

    return queryset_export(user, TOILET_TITLE, TOILET_HEADERS, toilets, row)

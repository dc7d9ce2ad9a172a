"""Spreadsheet exports of the register's two lists (households, toilets), and the pieces
other apps' exports share: identity masking and the township column. Each builder reads the
same filtered rows as its page through ``visible_to(user)`` and returns a ``core.exports.Export``;
the app registers them in ``ToiletsConfig.ready()``.
"""

from django.db.models import Count

from core.exports import Export, queryset_export
from core.querystring import as_query
from core.web.filters import build_filterset, valid_rows
from regions.choices import SEE_IDENTITY
from regions.scoping import has_capability, place_of

from .filters import HouseholdFilter, ToiletFilter
from .identity import mask_id_number, mask_phone
from .models import Household, Toilet


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

    return queryset_export(
        HOUSEHOLD_TITLE, HOUSEHOLD_HEADERS, households, row, place=place_of(user)
    )


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

    return queryset_export(TOILET_TITLE, TOILET_HEADERS, toilets, row, place=place_of(user))

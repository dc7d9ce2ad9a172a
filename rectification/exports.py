"""Spreadsheet exports of the problem ledger and its log (same rows as the list pages)."""

from django.utils import timezone

from core.exports import queryset_export
from core.querystring import as_query
from core.users import display_name
from core.web.filters import build_filterset, valid_rows
from regions.scoping import place_of
from toilets.exports import identity_masks

from .filters import LedgerFilter, LedgerLogFilter
from .models import LedgerEntry
from .workflow import action_label

LEDGER_RELATED = ("toilet__household", "toilet__village__parent", "found_in")
LOG_RELATED = ("actor", "entry__toilet__household", "entry__toilet__village__parent")


def _stamp(value) -> str:
    # openpyxl refuses aware datetimes; the county reads local time anyway.
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value) -> str:
    return value.isoformat() if value else ""


LEDGER_HEADERS = [
    "乡镇", "行政村", "区划代码", "村民小组", "户主", "身份证号", "联系电话", "厕所类别", "公厕名称",
    "技术模式", "建造年份", "使用情况", "问题类型", "整改类别", "问题原因", "整改措施", "资金来源",
    "整改时限", "计划完成年度", "责任人", "责任人电话", "状态", "是否逾期", "发现轮次", "登记时间",
    "销号时间",
]  # fmt: skip


def ledger_queryset(user, params):
    """The ledger list's rows for the page's ``params``, scoped to ``user``."""
    return valid_rows(build_filterset(LedgerFilter, user, as_query(params)))


def ledger_export(user, params, today=None):
    """The ledger page's rows, categories prefetched once per chunk of the iterator."""
    today = today or timezone.localdate()
    entries = (
        ledger_queryset(user, params)
        .select_related(*LEDGER_RELATED)
        .prefetch_related("categories")
        .order_by(*LedgerEntry._meta.ordering)
    )
    id_number, phone = identity_masks(user)

    def row(e):
        toilet, household, village = e.toilet, e.toilet.household, e.toilet.village
        return [
            village.parent.name if village.parent_id else "",
            village.name,
            village.code,
            household.group_name if household else "",
            household.head_name if household else "",
            id_number(household.id_number) if household else "",
            phone(household.phone) if household else "",
            toilet.get_kind_display(),
            toilet.name,
            toilet.get_tech_type_display(),
            toilet.build_year,
            e.get_usability_display(),
            "、".join(c.name for c in e.categories.all()),
            e.get_problem_class_display(),
            e.get_cause_display(),
            e.measures,
            e.get_funding_source_display(),
            _day(e.deadline),
            e.target_year or "",
            e.responsible_person,
            e.responsible_phone,
            e.get_state_display(),
            "是" if e.is_overdue(today) else "否",
            e.found_in.name,
            _stamp(e.created_at),
            _stamp(e.closed_at),
        ]

    return queryset_export("问题台账", LEDGER_HEADERS, entries, row, place=place_of(user))


LOG_HEADERS = [
    "时间", "乡镇", "行政村", "户主", "身份证号", "操作", "原状态", "新状态", "操作人", "说明",
]  # fmt: skip


def log_queryset(user, params):
    """The log page's rows for its ``params``, scoped to ``user``, newest first."""
    return valid_rows(build_filterset(LedgerLogFilter, user, as_query(params))).order_by(
        "-at", "-id"
    )


def log_export(user, params):
    logs = log_queryset(user, params).select_related(*LOG_RELATED)
    id_number, _ = identity_masks(user)

    def row(log):
        toilet = log.entry.toilet
        household, village = toilet.household, toilet.village
        return [
            _stamp(log.at),
            village.parent.name if village.parent_id else "",
            village.name,
            household.head_name if household else toilet.name,
            id_number(household.id_number) if household else "",
            action_label(log.action),
            log.get_from_state_display() if log.from_state else "",
            log.get_to_state_display(),
            display_name(log.actor),
            log.note,
        ]

    return queryset_export("整改日志", LOG_HEADERS, logs, row, place=place_of(user))

"""Spreadsheet exports of the round pages: the township's review queue (the list of
inspections), the coverage table per village and the list of toilets not yet inspected. Each
builds its rows with the page's own query function (``surveys.queries``), for the user and the
page's parameters."""

from core.exports import Export, queryset_export
from core.querystring import as_query
from core.users import display_name
from core.web.filters import InvalidFilter
from regions.scoping import place_of
from toilets.exports import identity_masks, township_name

from .models import SurveyRound
from .queries import missing_toilets, review_queue, round_villages, sum_rows, village_counts


def round_of(user, params) -> SurveyRound:
    """The round named in ``params``, if the user may see it."""
    raw = as_query(params).get("round", "")
    survey_round = (
        SurveyRound.objects.visible_to(user).select_related("county").filter(pk=raw).first()
        if raw.isdigit()
        else None
    )
    if survey_round is None:
        raise InvalidFilter("摸排轮次不存在或不在您的管辖范围内。")
    return survey_round


def _village_code(params) -> str:
    return as_query(params).get("village", "")


# The review queue -------------------------------------------------------------------------

INSPECTION_HEADERS = [
    "乡镇", "行政村", "区划代码", "厕所", "户主", "身份证号", "联系电话", "使用情况", "问题类型",
    "立行立改", "照片数", "摸排人", "同组摸排人", "摸排时间", "农户在家", "核查方式", "核查状态",
    "疑似问题", "备注",
]  # fmt: skip


def inspection_export(user, params) -> Export:
    survey_round = round_of(user, params)
    queue = review_queue(user, survey_round, _village_code(params))
    id_number, phone = identity_masks(user)

    def row(i):
        toilet, household = i.toilet, i.toilet.household
        return [
            township_name(toilet.village),
            toilet.village.name,
            toilet.village.code,
            str(toilet),
            household.head_name if household else "",
            id_number(household.id_number) if household else "",
            phone(household.phone) if household else "",
            i.get_usability_display(),
            "、".join(c.name for c in i.categories.all()),
            i.minor_fixes,
            i.photo_count,
            display_name(i.surveyor),
            i.partner_name,
            i.inspected_at,
            "是" if i.household_present else "否",
            i.get_check_method_display(),
            i.get_status_display(),
            "；".join(
                f"{f.get_kind_display()}：{f.detail}" for f in i.flags.all() if not f.cleared_by_id
            ),
            i.notes,
        ]

    return queryset_export(
        "待核查摸排记录",
        INSPECTION_HEADERS,
        queue,
        row,
        place=place_of(user),
        qualifiers=[survey_round.name],
    )


# Coverage ---------------------------------------------------------------------------------

COVERAGE_HEADERS = [
    "乡镇", "行政村", "区划代码", "应摸排", "已摸排", "已核查", "已退回", "未摸排", "覆盖率（%）",
]  # fmt: skip


def coverage_export(user, params) -> Export:
    """The coverage page's table: one row per village, then 合计."""
    survey_round = round_of(user, params)

    def rows():
        counted = village_counts(user, survey_round)
        for r in counted:
            village = r["village"]
            yield [
                township_name(village),
                village.name,
                village.code,
                r["registered"],
                r["inspected"],
                r["verified"],
                r["returned"],
                r["missing"],
                r["percent"],
            ]
        total = sum_rows(counted)
        yield [
            "合计", "", "", total["registered"], total["inspected"], total["verified"],
            total["returned"], total["missing"], total["percent"],
        ]  # fmt: skip

    return Export(
        title="全覆盖情况",
        headers=COVERAGE_HEADERS,
        count=lambda: round_villages(user, survey_round).count(),
        rows=rows,
        place=place_of(user),
        qualifiers=[survey_round.name],
    )


# Toilets not yet inspected ----------------------------------------------------------------

MISSING_HEADERS = [
    "乡镇", "行政村", "区划代码", "村民小组", "厕所", "厕所类别", "户主", "联系电话", "技术模式",
    "建造年份",
]  # fmt: skip


def missing_export(user, params) -> Export:
    survey_round = round_of(user, params)
    toilets = missing_toilets(user, survey_round, _village_code(params))
    _, phone = identity_masks(user)

    def row(t):
        household = t.household
        return [
            township_name(t.village),
            t.village.name,
            t.village.code,
            household.group_name if household else "",
            household.head_name if household else f"{t.name}（公厕）",
            t.get_kind_display(),
            household.head_name if household else "",
            phone(household.phone) if household else "",
            t.get_tech_type_display(),
            t.build_year,
        ]

    return queryset_export(
        "未摸排厕所",
        MISSING_HEADERS,
        toilets,
        row,
        place=place_of(user),
        qualifiers=[survey_round.name],
    )

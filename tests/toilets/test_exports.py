"""Every list page's 导出 Excel: the page's rows (same filters, same scoping), masked identity
numbers for the roles that may not see them, text escaped against formula injection, local
times, the file name, the button carrying the page's query string, pinned query counts."""

import datetime
import io
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.xlsx import write_xlsx
from surveys.exports import COVERAGE_HEADERS, INSPECTION_HEADERS, MISSING_HEADERS
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
)
from toilets.exports import HOUSEHOLD_HEADERS, TOILET_HEADERS

pytestmark = pytest.mark.django_db

HOUSEHOLDS = reverse("toilets:household-list")
HOUSEHOLD_EXPORT = reverse("toilets:household-export")
TOILETS = reverse("toilets:toilet-list")
TOILET_EXPORT = reverse("toilets:toilet-export")
EVIL = "=cmd|' /C calc'!A0"


def url(name, survey_round):
    return reverse(f"surveys:{name}", args=[survey_round.pk])


def sheet_rows(response) -> list[list]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    try:
        return [list(row) for row in workbook.active.iter_rows(values_only=True)]
    finally:
        workbook.close()


def as_dicts(rows) -> list[dict]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def export(client, path, params=None) -> list[dict]:
    return as_dicts(sheet_rows(client.get(path, params or {})))


@pytest.fixture
def survey(tree, register):
    return SurveyRoundFactory(county=tree.county, name="2022年摸排")


@pytest.fixture
def inspections(users, tree, register, survey):
    """Submitted inspections of 王建国 (V1) and 李秀英 (V3); county B's round has its own."""
    survey_b = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    return {
        "v1": InspectionFactory(round=survey, toilet=register.t1, surveyor=users.surveyor),
        "v3": InspectionFactory(round=survey, toilet=register.t3, surveyor=users.surveyor),
        "v4": InspectionFactory(round=survey_b, toilet=register.t4, surveyor=users.outsider),
    }


# Households ---------------------------------------------------------------------------------


def test_the_household_export_holds_the_pages_rows(as_user, users, tree, register):
    HouseholdFactory(village=tree.v2, head_name="赵六", occupancy="away")
    client = as_user(users.county)
    for params in ({}, {"village": tree.v2.code}, {"occupancy": "away"}, {"q": "王"}):
        page = {h.head_name for h in client.get(HOUSEHOLDS, params).context["object_list"]}
        rows = export(client, HOUSEHOLD_EXPORT, params)
        assert {row["户主"] for row in rows} == page, params
    assert "张志强" not in {row["户主"] for row in export(client, HOUSEHOLD_EXPORT)}
    assert sheet_rows(client.get(HOUSEHOLD_EXPORT))[0] == HOUSEHOLD_HEADERS


# Toilets ------------------------------------------------------------------------------------


def test_the_toilet_export_holds_the_pages_rows(as_user, users, tree, register):
    PublicToiletFactory(village=tree.v2, name="东风村公厕", tech_type="sewer")
    ToiletFactory(household=HouseholdFactory(village=tree.v1), build_year=2012)
    client = as_user(users.township)
    for params in (
        {},
        {"village": tree.v2.code},
        {"kind": "public"},
        {"built_to": "2015"},
        {"q": "王建国"},
    ):
        page = {t.pk for t in client.get(TOILETS, params).context["object_list"]}
        rows = export(client, TOILET_EXPORT, params)
        assert {row["编号"] for row in rows} == page, params
    everything = export(client, TOILET_EXPORT)
    assert register.t3.pk not in {row["编号"] for row in everything}  # township T2
    assert register.t4.pk not in {row["编号"] for row in everything}  # county B


def test_the_toilet_export_writes_labels_and_local_times(as_user, users, tree, register):
    rows = sheet_rows(as_user(users.township).get(TOILET_EXPORT, {"q": "王建国"}))
    assert rows[0] == TOILET_HEADERS
    row = as_dicts(rows)[0]
    assert row["乡镇"] == "沙埠镇" and row["行政村"] == "沙埠村"
    assert row["区划代码"] == tree.v1.code
    assert row["户主"] == "王建国" and row["厕所类别"] == "户厕"
    assert row["技术模式"] == "三格化粪池式" and row["水冲/旱厕"] == "水冲厕所"
    assert row["资金来源"] == "财政支持改造" and row["状态"] == "在用"
    assert row["建造年份"] == 2018
    created = timezone.localtime(register.t1.created_at).replace(tzinfo=None, microsecond=0)
    assert row["登记时间"] == created


def test_the_toilet_export_is_named_after_the_users_region(as_user, users, register):
    response = as_user(users.county).get(TOILET_EXPORT)
    stamp = timezone.localdate().strftime("%Y%m%d")
    assert quote(f"钦南区-厕所台账-{stamp}.xlsx") in response["Content-Disposition"]


def test_the_toilet_list_links_its_export_with_the_filters(as_user, users, tree, register):
    page = as_user(users.township).get(TOILETS, {"village": tree.v1.code, "page": "1"})
    html = page.content.decode()
    assert f"{TOILET_EXPORT}?village={tree.v1.code}" in html
    assert "导出 Excel" in html


def test_another_regions_village_is_a_404(as_user, users, tree, register, survey):
    client = as_user(users.township)
    assert client.get(TOILET_EXPORT, {"village": tree.v3.code}).status_code == 404
    assert client.get(HOUSEHOLD_EXPORT, {"township": tree.t3.code}).status_code == 404
    assert client.get(url("review-export", survey), {"village": tree.v4.code}).status_code == 404
    missing = url("coverage-missing-export", survey)
    assert client.get(missing, {"village": tree.v3.code}).status_code == 404


def test_another_countys_round_is_a_404(as_user, users, tree, register):
    survey_b = SurveyRoundFactory(county=tree.county_b)
    client = as_user(users.county)
    for name in ("review-export", "coverage-export", "coverage-missing-export"):
        assert client.get(url(name, survey_b)).status_code == 404


def test_anonymous_users_are_sent_to_login(client, survey):
    for path in (
        TOILET_EXPORT,
        url("review-export", survey),
        url("coverage-export", survey),
        url("coverage-missing-export", survey),
    ):
        response = client.get(path)
        assert response.status_code == 302 and reverse("login") in response["Location"]


# Inspections (the township's review queue) ----------------------------------------------------


def test_the_inspection_export_holds_the_review_queue(as_user, users, tree, survey, inspections):
    InspectionFactory(round=survey, toilet=ToiletFactory(household=HouseholdFactory(village=tree.v1)),
                      surveyor=users.surveyor, status="verified")  # fmt: skip
    review = url("review", survey)
    client = as_user(users.county)
    for params, expected in (({}, ["王建国", "李秀英"]), ({"village": tree.v1.code}, ["王建国"])):
        page = [i.toilet.household.head_name for i in client.get(review, params).context["queue"]]
        rows = export(client, url("review-export", survey), params)
        assert [row["户主"] for row in rows] == page == expected
    rows = sheet_rows(client.get(url("review-export", survey)))
    assert rows[0] == INSPECTION_HEADERS
    row = as_dicts(rows)[0]
    assert row["乡镇"] == "沙埠镇" and row["厕所"] == "王建国家户厕"
    assert row["使用情况"] == "正常使用" and row["核查状态"] == "待核查"
    assert row["摸排人"] == "surveyor" and row["同组摸排人"] == "李四"
    local = timezone.localtime(inspections["v1"].inspected_at)
    assert row["摸排时间"] == local.replace(tzinfo=None, microsecond=0)
    assert isinstance(row["摸排时间"], datetime.datetime)


def test_the_township_exports_only_its_villages_inspections(as_user, users, survey, inspections):
    rows = export(as_user(users.township), url("review-export", survey))
    assert [row["户主"] for row in rows] == ["王建国"]


def test_the_review_page_links_its_export(as_user, users, tree, survey, inspections):
    html = as_user(users.township).get(url("review", survey), {"village": tree.v1.code})
    assert f"{url('review-export', survey)}?village={tree.v1.code}" in html.content.decode()


# Coverage -------------------------------------------------------------------------------------


def test_the_coverage_export_holds_the_pages_table(as_user, users, tree, survey, inspections):
    client = as_user(users.county)
    response = client.get(url("coverage", survey))
    page_rows = [r for _, villages, _ in response.context["townships"] for r in villages]
    rows = sheet_rows(client.get(url("coverage-export", survey)))
    assert rows[0] == COVERAGE_HEADERS
    data = as_dicts(rows)
    assert [row["区划代码"] for row in data[:-1]] == [r["village"].code for r in page_rows]
    assert [(row["应摸排"], row["已摸排"], row["未摸排"]) for row in data[:-1]] == [
        (r["registered"], r["inspected"], r["missing"]) for r in page_rows
    ]
    total = response.context["total"]
    assert data[-1]["乡镇"] == "合计"
    assert (data[-1]["应摸排"], data[-1]["已摸排"], data[-1]["覆盖率（%）"]) == (
        total["registered"],
        total["inspected"],
        total["percent"],
    )
    assert tree.v4.code not in {row["区划代码"] for row in data}
    assert url("coverage-export", survey) in response.content.decode()


def test_the_missing_export_holds_the_pages_rows(as_user, users, tree, survey, inspections):
    ToiletFactory(household=HouseholdFactory(village=tree.v2, head_name="赵六"))
    PublicToiletFactory(village=tree.v1, name="沙埠村公厕")
    client = as_user(users.county)
    missing = url("coverage-missing", survey)
    for params in ({}, {"village": tree.v2.code}):
        page = [t.pk for t in client.get(missing, params).context["object_list"]]
        rows = export(client, url("coverage-missing-export", survey), params)
        assert len(rows) == len(page) and len(page) > 0
    rows = sheet_rows(client.get(url("coverage-missing-export", survey)))
    assert rows[0] == MISSING_HEADERS
    assert {row["厕所"] for row in as_dicts(rows)} == {"赵六", "沙埠村公厕（公厕）"}
    html = client.get(missing, {"village": tree.v2.code}).content.decode()
    assert f"{url('coverage-missing-export', survey)}?village={tree.v2.code}" in html


# Masking and escaping, every export -------------------------------------------------------------


def masked(value):
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def identity_cells(client, survey) -> list[dict]:
    return [
        *export(client, HOUSEHOLD_EXPORT),
        *export(client, TOILET_EXPORT),
        *export(client, url("review-export", survey)),
    ]


@pytest.mark.parametrize("who", ["county", "inspector"])
def test_masked_roles_get_masked_numbers(as_user, users, register, survey, inspections, who):
    client = as_user(getattr(users, who))
    rows = [r for r in identity_cells(client, survey) if r["户主"] == "王建国"]
    assert len(rows) == 3
    for row in rows:
        assert row["身份证号"] == masked(register.h1.id_number)
        assert row["联系电话"] == "138****5678"
    missing = export(client, url("coverage-missing-export", survey))
    assert missing == [] or all("*" in row["联系电话"] for row in missing if row["联系电话"])


@pytest.mark.parametrize("who", ["surveyor", "township"])
def test_own_surveyor_and_township_get_full_numbers(
    as_user, users, register, survey, inspections, who
):
    client = as_user(getattr(users, who))
    rows = [r for r in identity_cells(client, survey) if r["户主"] == "王建国"]
    assert len(rows) == 3
    for row in rows:
        assert row["身份证号"] == register.h1.id_number
        assert row["联系电话"] == "13812345678"


def test_the_missing_export_masks_phones_for_the_county(as_user, users, tree, survey):
    ToiletFactory(household=HouseholdFactory(village=tree.v2, phone="13900001111"))
    county = export(as_user(users.county), url("coverage-missing-export", survey))
    assert "139****1111" in {row["联系电话"] for row in county}
    township = export(as_user(users.township), url("coverage-missing-export", survey))
    assert "13900001111" in {row["联系电话"] for row in township}


def test_every_export_escapes_formulas(as_user, users, tree, survey):
    household = HouseholdFactory(village=tree.v1, head_name=EVIL, address="@SUM(1)")
    toilet = ToiletFactory(household=household)
    ToiletFactory(household=HouseholdFactory(village=tree.v1, head_name="-2+3"))
    InspectionFactory(round=survey, toilet=toilet, surveyor=users.surveyor, notes="+1")
    client = as_user(users.township)
    escaped = "'" + EVIL
    households = export(client, HOUSEHOLD_EXPORT)
    assert escaped in {row["户主"] for row in households}
    assert "'@SUM(1)" in {row["地址"] for row in households}
    assert "'-2+3" in {row["户主"] for row in households}
    assert escaped in {row["户主"] for row in export(client, TOILET_EXPORT)}
    inspection = export(client, url("review-export", survey))[0]
    assert inspection["户主"] == escaped and inspection["备注"] == "'+1"
    assert "'-2+3" in {
        row["户主"] for row in export(client, url("coverage-missing-export", survey))
    }
    for rows in (households, export(client, TOILET_EXPORT)):
        assert EVIL not in {row["户主"] for row in rows}


def test_the_writer_escapes_and_localises_everything():
    aware = datetime.datetime(2024, 1, 1, 0, 30, tzinfo=datetime.UTC)
    content = write_xlsx("t", ["a", "b", "c"], [["=1+1", aware, "\tx"]])
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    row = list(workbook.active.iter_rows(values_only=True))[1]
    workbook.close()
    assert row == ("'=1+1", datetime.datetime(2024, 1, 1, 8, 30), "'\tx")


# Query counts -----------------------------------------------------------------------------------

# session, user, role assignment; the row count (sent at once or as a job); rows.
HOUSEHOLD_EXPORT_QUERIES = 5
TOILET_EXPORT_QUERIES = 5
# session, user, role assignment; the round; the row count; rows, categories, flags.
INSPECTION_EXPORT_QUERIES = 8
# session, user, role assignment; the round; the village count; villages, registered
# toilets per village, inspections per village.
COVERAGE_EXPORT_QUERIES = 8
# session, user, role assignment; the round; the row count; rows.
MISSING_EXPORT_QUERIES = 6


@pytest.fixture
def filled(users, tree, survey):
    def fill(n):
        for _ in range(n):
            toilet = ToiletFactory(household=HouseholdFactory(village=tree.v1))
            ToiletFactory(household=HouseholdFactory(village=tree.v2))  # not yet inspected
            inspection = InspectionFactory(
                round=survey,
                toilet=toilet,
                surveyor=users.surveyor,
                usability="unusable",
                categories=["tank", "water"],
            )
            inspection.flags.create(kind="no_photo", detail="问题厕所没有照片")

    return fill


@pytest.mark.parametrize("rows", [3, 15])
def test_the_export_query_counts_are_pinned(
    as_user, users, survey, filled, django_assert_num_queries, rows
):
    filled(rows)
    client = as_user(users.township)
    with django_assert_num_queries(HOUSEHOLD_EXPORT_QUERIES):
        assert len(sheet_rows(client.get(HOUSEHOLD_EXPORT))) == 2 * rows + 2
    with django_assert_num_queries(TOILET_EXPORT_QUERIES):
        assert len(sheet_rows(client.get(TOILET_EXPORT))) == 2 * rows + 2
    with django_assert_num_queries(INSPECTION_EXPORT_QUERIES):
        data = as_dicts(sheet_rows(client.get(url("review-export", survey))))
    assert len(data) == rows
    assert data[0]["问题类型"] == "粪池问题、用水问题"
    assert data[0]["疑似问题"] == "问题厕所没有照片：问题厕所没有照片"
    with django_assert_num_queries(COVERAGE_EXPORT_QUERIES):
        assert len(sheet_rows(client.get(url("coverage-export", survey)))) == 2 + 2
    with django_assert_num_queries(MISSING_EXPORT_QUERIES):
        # the register fixture's 王建国 was not inspected in this round either
        assert len(sheet_rows(client.get(url("coverage-missing-export", survey)))) == rows + 2

"""The weekly progress table of the 整村推进 programme (seed 003): what it counts, who sees
which rows, its export in the printed layout, and the all-or-nothing targets form."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from rectification.models import LedgerEntry
from regions.choices import Role
from regions.scoping import scope_of
from reports.models import ProgressTarget
from reports.progress import TargetInput, build_progress, save_targets
from tests.factories import (
    HouseholdFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)
from tests.ledger import drive, open_entry
from toilets.choices import ToiletStatus
from toilets.models import Toilet

pytestmark = pytest.mark.django_db

PROGRESS = reverse("reports:progress")
EXPORT = reverse("reports:progress-export")
TARGETS = reverse("reports:progress-targets")
YEAR = timezone.localdate().year


def target(village, user, new=0, rect=0, note="", year=YEAR):
    return ProgressTarget.objects.create(
        year=year, village=village, new_builds=new, rectifications=rect, note=note, updated_by=user
    )


def new_toilet(village, year=YEAR, **kwargs):
    return ToiletFactory(household=HouseholdFactory(village=village), build_year=year, **kwargs)


@pytest.fixture
def programme(tree, users, register):
    """V1 (T1) and V3 (T2) are in this year's programme; V2 (T1) and county B's V4 are not.

    Completed in V1: 2 new household toilets of this year, 1 closed-out entry. Not counted: a
    toilet built last year, a public toilet, a demolished toilet, one registered last year,
    V2's new toilet, an accepted (not closed) entry, an entry closed last year, V4's."""
    target(tree.v1, users.county, new=5, rect=3, note="省级示范村")
    target(tree.v3, users.county, new=2, rect=1)
    for _ in range(2):
        new_toilet(tree.v1)
    new_toilet(tree.v1, year=YEAR - 1)
    PublicToiletFactory(village=tree.v1, build_year=YEAR)
    new_toilet(tree.v1, status=ToiletStatus.DEMOLISHED)
    late = new_toilet(tree.v1)
    Toilet.objects.filter(pk=late.pk).update(
        created_at=datetime.datetime(
            YEAR - 1, 12, 31, 23, 30, tzinfo=timezone.get_current_timezone()
        )
    )
    new_toilet(tree.v2)
    new_toilet(tree.v4)

    survey = SurveyRoundFactory(county=tree.county, name="整村推进摸排")
    closed = open_entry(users.surveyor, survey, register.t1)
    drive(closed, township=users.township, surveyor=users.surveyor, to="closed")
    accepted = open_entry(users.surveyor, survey, new_toilet(tree.v1, year=2016))
    drive(accepted, township=users.township, surveyor=users.surveyor, to="accepted")
    last_year = open_entry(users.surveyor, survey, new_toilet(tree.v1, year=2016))
    drive(last_year, township=users.township, surveyor=users.surveyor, to="closed")
    LedgerEntry.objects.filter(pk=last_year.pk).update(
        closed_at=datetime.datetime(YEAR - 1, 6, 1, tzinfo=timezone.get_current_timezone())
    )
    surveyor_v4 = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, tree.v4))
    survey_b = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    outside = open_entry(surveyor_v4, survey_b, register.t4)
    LedgerEntry.objects.filter(pk=outside.pk).update(state="closed", closed_at=timezone.now())
    target(tree.v4, users.outsider, new=9, rect=9)
    return tree


def numbers(row):
    return (row.target_new, row.target_rect, row.done_new, row.done_rect)


# The table --------------------------------------------------------------------------------


def test_it_sends_anonymous_users_to_login(client):
    for url in (PROGRESS, EXPORT, TARGETS):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response.url


def test_it_counts_targets_and_completions_per_township(as_user, users, programme):
    response = as_user(users.county).get(PROGRESS)
    assert response.status_code == 200
    table = response.context["table"]
    assert [row.label for row in table.rows] == ["沙埠镇", "康熙岭镇"]
    t1, t2 = table.rows
    assert t1.village_names == "沙埠村"
    assert numbers(t1) == (5, 3, 2, 1)
    assert t1.note == "沙埠村：省级示范村"
    assert t2.village_names == "坪山村"
    assert numbers(t2) == (2, 1, 0, 0)
    assert numbers(table.total) == (7, 4, 2, 1)
    page = response.content.decode()
    assert f"{YEAR}年度农村户厕改造整村推进每周进展情况汇总表" in page
    assert "共 2 个村" in page
    assert "大垌" not in page


def test_it_writes_the_definitions_in_the_notes(as_user, users, programme):
    page = as_user(users.inspector).get(PROGRESS).content.decode()
    notes = page.split('id="progress-notes"')[1]
    assert "建造年份为本年度" in notes
    assert "已销号" in notes


def test_a_township_sees_its_own_row(as_user, users, programme):
    response = as_user(users.township).get(PROGRESS)
    table = response.context["table"]
    assert [row.label for row in table.rows] == ["沙埠镇"]
    assert numbers(table.total) == (5, 3, 2, 1)
    assert "坪山村" not in response.content.decode()


def test_a_county_can_narrow_to_a_township(as_user, users, programme):
    response = as_user(users.county).get(PROGRESS, {"region": programme.t2.code})
    assert [row.label for row in response.context["table"].rows] == ["康熙岭镇"]


def test_another_year_has_its_own_targets(as_user, users, programme):
    target(programme.v2, users.county, new=4, year=YEAR - 1)
    Toilet.objects.filter(village=programme.v2).update(
        build_year=YEAR - 1,
        created_at=datetime.datetime(YEAR - 1, 5, 1, tzinfo=timezone.get_current_timezone()),
    )
    response = as_user(users.county).get(PROGRESS, {"year": YEAR - 1})
    t1 = response.context["table"].rows[0]
    assert t1.village_names == "东风村"
    assert numbers(t1) == (4, 0, 1, 0)


@pytest.mark.parametrize(
    ("who", "region"),
    [("outsider", "t1"), ("outsider", "county"), ("township", "county"), ("township_t2", "t1")],
)
def test_another_regions_table_is_not_found(as_user, users, programme, who, region):
    code = getattr(programme, region).code
    client = as_user(getattr(users, who))
    for url in (PROGRESS, EXPORT, TARGETS):
        assert client.get(url, {"region": code}).status_code == 404


def test_a_village_or_a_bad_year_is_not_found(as_user, users, programme):
    client = as_user(users.county)
    assert client.get(PROGRESS, {"region": programme.v1.code}).status_code == 404
    assert client.get(PROGRESS, {"year": "20x4"}).status_code == 404
    assert client.get(PROGRESS, {"year": "1899"}).status_code == 404
    assert client.get(PROGRESS, {"year": "²⁰²⁴"}).status_code == 404


def test_a_surveyor_is_told_to_use_a_township_account(as_user, users, programme):
    response = as_user(users.surveyor).get(PROGRESS)
    assert response.status_code == 403
    assert "请使用乡镇或县级账号" in response.content.decode()


def test_the_outsider_sees_only_its_county(as_user, users, programme):
    table = as_user(users.outsider).get(PROGRESS).context["table"]
    assert [row.label for row in table.rows] == ["大垌镇"]
    assert numbers(table.total) == (9, 9, 1, 1)


def test_it_builds_in_a_pinned_number_of_queries(users, programme, django_assert_num_queries):
    scope_of(users.county)  # the user's scope is looked up once per request
    # targets, townships, toilets, ledger entries — whatever the number of toilets
    with django_assert_num_queries(4):
        table = build_progress(programme.county, YEAR, user=users.county)
    assert numbers(table.total) == (7, 4, 2, 1)


def test_the_export_has_the_printed_layout(as_user, users, programme):
    target(programme.v2, users.county, note='=HYPERLINK("http://x")')
    response = as_user(users.county).get(EXPORT)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == f"{YEAR}年度农村户厕改造整村推进每周进展情况汇总表"
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:G1", "A3:A4", "B3:B4", "C3:D3", "E3:F3", "G3:G4"} <= merged
    assert [sheet.cell(3, c).value for c in (1, 2, 3, 5, 7)] == [
        "区镇", "整村推进村", "目标任务", "完成情况", "备注",
    ]  # fmt: skip
    assert [sheet.cell(4, c).value for c in range(3, 7)] == ["新建", "整改", "新建", "整改"]
    rows = [[sheet.cell(r, c).value for c in range(1, 8)] for r in range(5, 8)]
    # 东风村 joined the programme with its new toilet.
    assert rows[0] == [
        "沙埠镇", "沙埠村、东风村", 5, 3, 3, 1, '沙埠村：省级示范村；东风村：=HYPERLINK("http://x")',
    ]  # fmt: skip
    assert rows[1] == ["康熙岭镇", "坪山村", 2, 1, 0, 0, None]
    assert rows[2][:6] == ["合计", "共 3 个村", 7, 4, 3, 1]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_the_export_escapes_text_a_spreadsheet_would_run(as_user, users, programme):
    programme.v3.name = "=1+2"
    programme.v3.save()
    response = as_user(users.county).get(EXPORT)
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["B6"].value == "'=1+2"
    assert sheet["B6"].data_type == "s"


# Targets ----------------------------------------------------------------------------------


def form_data(villages: dict, **values) -> dict:
    """POST data of the targets form: ``villages`` maps a village to (in, new, rect, note)."""
    data = {
        "t-TOTAL_FORMS": str(len(villages)),
        "t-INITIAL_FORMS": str(len(villages)),
        "t-MIN_NUM_FORMS": "0",
        "t-MAX_NUM_FORMS": "1000",
    }
    for village, (checked, new, rect, note) in villages.items():
        prefix = f"t-{village.code}"
        if checked:
            data[f"{prefix}-in_programme"] = "on"
        data[f"{prefix}-new_builds"] = str(new)
        data[f"{prefix}-rectifications"] = str(rect)
        data[f"{prefix}-note"] = note
    data.update(values)
    return data


def saved() -> dict:
    return {
        t.village.name: (t.new_builds, t.rectifications, t.note)
        for t in ProgressTarget.objects.filter(year=YEAR).select_related("village")
    }


@pytest.mark.parametrize("who", ["surveyor", "inspector"])
def test_only_the_county_and_township_enter_targets(as_user, users, tree, who):
    response = as_user(getattr(users, who)).get(TARGETS)
    assert response.status_code == 403
    assert "只有县级管理员或乡镇审核员" in response.content.decode()


def test_the_form_lists_the_villages_of_the_scope(as_user, users, tree, client):
    forms = as_user(users.county).get(TARGETS).context["formset"].forms
    assert [f.village.name for f in forms] == ["沙埠村", "东风村", "坪山村"]
    client.logout()
    forms = as_user(users.township).get(TARGETS).context["formset"].forms
    assert [f.village.name for f in forms] == ["沙埠村", "东风村"]


def test_the_county_saves_targets(as_user, users, tree):
    data = form_data(
        {tree.v1: (True, 5, 3, "省级"), tree.v2: (False, "", "", ""), tree.v3: (True, 2, "", "")}
    )
    response = as_user(users.county).post(TARGETS, data)
    assert response.status_code == 302
    assert response.url.startswith(PROGRESS)
    assert saved() == {"沙埠村": (5, 3, "省级"), "坪山村": (2, 0, "")}
    assert {t.updated_by for t in ProgressTarget.objects.all()} == {users.county}


def test_the_form_shows_what_was_saved(as_user, users, tree):
    target(tree.v1, users.county, new=5, rect=3, note="省级")
    forms = as_user(users.township).get(TARGETS).context["formset"].forms
    assert forms[0].initial == {
        "in_programme": True,
        "new_builds": 5,
        "rectifications": 3,
        "note": "省级",
    }
    assert forms[1].initial["in_programme"] is False


def test_unticking_takes_a_village_out(as_user, users, tree):
    target(tree.v1, users.county, new=5, rect=3)
    target(tree.v2, users.county, new=1)
    data = form_data({tree.v1: (False, "", "", ""), tree.v2: (True, 1, 0, "")})
    assert as_user(users.township).post(TARGETS, data).status_code == 302
    assert saved() == {"东风村": (1, 0, "")}


@pytest.mark.parametrize(
    ("v2_row", "message"),
    [
        ((True, -1, 0, ""), "东风村：新建目标，不能小于 0"),
        ((True, "三户", 0, ""), "东风村：新建目标，请填写整数"),
        ((True, 0, 100001, ""), "东风村：整改目标，不能大于 100000"),
        ((True, 0, 0, "长" * 201), "东风村：备注，不能超过 200 字"),
        ((False, 4, 0, ""), "东风村：填写了目标任务，但没有勾选“列入整村推进”"),
    ],
)
def test_a_bad_row_saves_nothing_and_names_its_village(as_user, users, tree, v2_row, message):
    target(tree.v1, users.county, new=1)
    data = form_data({tree.v1: (True, 5, 3, "改了"), tree.v2: v2_row})
    response = as_user(users.township).post(TARGETS, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "没有保存任何修改" in page
    assert message in page
    assert saved() == {"沙埠村": (1, 0, "")}


def test_a_township_cannot_set_another_townships_village(as_user, users, tree):
    # Rows for a village outside the township's scope are not part of its form: ignored.
    data = form_data(
        {tree.v1: (True, 1, 1, ""), tree.v2: (False, "", "", ""), tree.v3: (True, 9, 9, "")}
    )
    assert as_user(users.township).post(TARGETS, data).status_code == 302
    assert saved() == {"沙埠村": (1, 1, "")}
    assert (
        as_user(users.township).post(f"{TARGETS}?region={tree.county.code}", data).status_code
        == 404
    )


def test_the_service_refuses_a_village_outside_the_scope_and_saves_nothing(users, tree):
    rows = [
        TargetInput(village=tree.v1, in_programme=True, new_builds=2),
        TargetInput(village=tree.v3, in_programme=True, new_builds=2),
    ]
    with pytest.raises(ValidationError, match="坪山村不在您的管辖范围内"):
        save_targets(actor=users.township, year=YEAR, rows=rows)
    with pytest.raises(PermissionDenied):
        save_targets(actor=users.inspector, year=YEAR, rows=rows[:1])
    assert not ProgressTarget.objects.exists()


def test_a_missing_management_form_saves_nothing(as_user, users, tree):
    data = form_data({tree.v1: (True, 1, 1, ""), tree.v2: (False, "", "", "")})
    del data["t-TOTAL_FORMS"]
    response = as_user(users.township).post(TARGETS, data)
    assert response.status_code == 400
    assert not ProgressTarget.objects.exists()


def test_a_big_county_enters_its_targets_township_by_township(as_user, users, tree, settings):
    # Room for the fields of two villages only (4 a village, and 10 spare).
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 18
    target(tree.v1, users.county, new=1)
    client = as_user(users.county)
    response = client.get(TARGETS)
    page = response.content.decode()
    assert "请按乡镇分别填写" in page
    assert 'id="targets-form"' not in page
    rows = page.split('id="townships"')[1].split("</table>")[0]
    assert '沙埠镇</td><td data-label="行政村" class="num">2</td>' in rows
    assert f"?region={tree.t1.code}" in rows
    response = client.post(TARGETS, form_data({tree.v1: (True, 9, 9, "")}))
    assert response.status_code == 400
    assert saved() == {"沙埠村": (1, 0, "")}
    # Township by township the form fits.
    forms = client.get(TARGETS, {"region": tree.t1.code}).context["formset"].forms
    assert [f.village.name for f in forms] == ["沙埠村", "东风村"]
    data = form_data({tree.v1: (True, 9, 9, ""), tree.v2: (False, "", "", "")})
    assert client.post(f"{TARGETS}?region={tree.t1.code}", data).status_code == 302
    assert saved() == {"沙埠村": (9, 9, "")}

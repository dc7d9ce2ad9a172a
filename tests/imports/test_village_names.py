"""Villages by name: a ledger with 乡镇（街道） and 行政村（社区） columns instead of 区划代码,
resolved within the importer's county and region; the code wins where both are given and the
names must agree with it."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from imports.columns import HEADERS
from imports.engine import import_ledger
from imports.models import ImportJob, ImportStatus
from imports.results import ImportFileError
from regions.models import Region
from tests.factories import region
from tests.ledger_files import id_number, ledger_row, ledger_xlsx
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db

ROUND = "2022年摸排"
BY_NAME = [h for h in HEADERS if h != "区划代码"]  # a ledger without the code column
OLD_TEMPLATE = [h for h in HEADERS if h not in ("乡镇", "行政村")]


def named(village, township="", **changes):
    return ledger_row(乡镇=township, 行政村=village, **changes)


def run(rows, actor=None, headers=BY_NAME, dry_run=False, county=None):
    return import_ledger(
        io.BytesIO(ledger_xlsx(rows, headers=headers)),
        round_name=ROUND,
        actor=actor,
        dry_run=dry_run,
        county=county,
    )


def errors(result):
    return [(e.row, e.column) for e in result.errors]


@pytest.fixture
def second_dongfeng(tree):
    """康熙岭镇 has a 东风村 too (沙埠镇's is V2)."""
    return region("450702101202", "东风村", tree.t2)


# Found by name ---------------------------------------------------------------------------


def test_it_finds_villages_by_name_and_writes_them(tree, users):
    rows = [
        named("沙埠村", "沙埠镇"),
        named("东风村", 身份证号=id_number(2)),  # unique in the county: no township needed
        named("坪山村村民委员会", "康熙岭镇人民政府", 身份证号=id_number(3)),  # endings
    ]
    # 康熙岭镇人民政府 is not a township name: a name that finds nothing.
    result = run(rows, actor=users.county)
    assert errors(result) == [(4, "乡镇")]
    rows[2]["乡镇"] = "康熙岭"
    result = run(rows, actor=users.county)
    assert result.saved, result.errors
    villages = dict(Household.objects.values_list("id_number", "village__code"))
    assert villages == {
        rows[0]["身份证号"]: tree.v1.code,
        id_number(2): tree.v2.code,
        id_number(3): tree.v3.code,
    }


def test_a_reimport_by_name_changes_nothing(tree, users):
    rows = [named("沙埠村", "沙埠镇"), named("坪山村", 身份证号=id_number(3))]
    assert run(rows, actor=users.county).saved
    history = (Household.history.count(), Toilet.history.count())
    again = run(rows, actor=users.county)
    assert again.saved
    assert {k: v for k, v in again.counts.items() if k != "rows" and v} == {}
    assert (Household.history.count(), Toilet.history.count()) == history
    # The same rows with codes instead of names are the same rows.
    coded = [ledger_row(), ledger_row(区划代码=tree.v3.code, 身份证号=id_number(3))]
    result = run(coded, actor=users.county, headers=OLD_TEMPLATE)
    assert result.saved and result.counts["toilets_created"] == 0
    assert result.counts["households_updated"] == 0


def test_an_old_template_without_the_name_columns_still_imports(tree, users):
    result = run([ledger_row()], actor=users.county, headers=OLD_TEMPLATE)
    assert result.saved, result.errors


def test_a_sheet_without_code_and_village_columns_is_refused(tree, users):
    headers = [h for h in HEADERS if h not in ("区划代码", "行政村")]
    with pytest.raises(ImportFileError) as refused:
        run([ledger_row()], actor=users.county, headers=headers)
    assert "缺少列：区划代码" in refused.value.message


def test_a_row_without_code_or_village_name_is_an_error(tree, users):
    rows = [named("", 区划代码=""), named("", "沙埠镇", 区划代码="", 身份证号=id_number(3))]
    result = run(rows, actor=users.county, headers=HEADERS)
    assert [(e.row, e.column) for e in result.errors] == [(2, "区划代码"), (3, "行政村")]
    assert "或填写乡镇、行政村名称" in result.errors[0].message


def test_headers_with_their_brackets_are_the_name_columns(tree, users):
    headers = [
        "乡镇（街道）" if h == "乡镇" else "行政村（社区）" if h == "行政村" else h for h in BY_NAME
    ]
    data = ledger_xlsx(
        [{**named("沙埠村", "沙埠镇"), "乡镇（街道）": "沙埠镇", "行政村（社区）": "沙埠村"}],
        headers,
    )
    result = import_ledger(io.BytesIO(data), round_name=ROUND, actor=users.county)
    assert result.saved, result.errors


# Ambiguous and unknown names -------------------------------------------------------------


def test_an_ambiguous_name_lists_the_villages_and_asks_for_the_township(
    tree, users, second_dongfeng
):
    result = run([named("东风村")], actor=users.county)
    (error,) = result.errors
    assert error.column == "行政村"
    assert error.message == (
        "“东风村”对应多个行政村：沙埠镇东风村（450702100202）、康熙岭镇东风村（450702101202）；"
        "请填写乡镇（街道）或区划代码"
    )
    result = run([named("东风村", "康熙岭镇")], actor=users.county)
    assert result.saved, result.errors
    assert Household.objects.get().village == second_dongfeng


def test_an_unknown_name_names_the_closest_villages(tree, users):
    (error,) = run([named("东峰村")], actor=users.county).errors
    assert error.column == "行政村"
    assert error.message.startswith(
        "在您管辖的范围内找不到行政村“东峰村”；相近的有：东风村（沙埠镇）"
    )


def test_an_unknown_township_names_the_closest_townships(tree, users):
    (error,) = run([named("沙埠村", "沙浦镇")], actor=users.county).errors
    assert error.column == "乡镇"
    assert error.message == "在您管辖的范围内找不到乡镇（街道）“沙浦镇”；相近的有：沙埠镇"


def test_a_village_not_in_the_named_township_says_where_it_is(tree, users):
    (error,) = run([named("坪山村", "沙埠镇")], actor=users.county).errors
    assert error.column == "行政村"
    assert error.message.startswith("沙埠镇没有行政村“坪山村”")
    assert "康熙岭镇坪山村（450702101201）有这个名称" in error.message


def test_suggestions_never_name_another_countys_villages(tree, users):
    region("450703100202", "东峰村", tree.t3)  # county B has exactly this name
    (error,) = run([named("东峰村")], actor=users.county).errors
    assert "大垌" not in error.message and "450703" not in error.message
    assert "相近的有：东风村（沙埠镇）" in error.message
    # County B's own staff find it.
    row = named("东峰村", 身份证号=id_number(1, area="450703"))
    assert run([row], actor=users.outsider).saved


def test_a_township_resolves_names_only_in_its_own_township(tree, users):
    (error,) = run([named("坪山村")], actor=users.township).errors  # T2's village
    assert error.column == "行政村"
    assert "康熙岭" not in error.message and "坪山村（" not in error.message
    assert error.message.startswith("在您管辖的范围内找不到行政村“坪山村”")
    (error,) = run([named("坪山村", "康熙岭镇")], actor=users.township).errors
    assert error.column == "乡镇" and "康熙岭镇" in error.message  # only what was written
    assert run([named("东风村")], actor=users.township).saved


def test_an_abolished_village_takes_no_new_records(tree, users):
    Region.objects.filter(pk=tree.v2.pk).update(abolished=True)
    (error,) = run([named("东风村")], actor=users.county).errors
    assert error.column == "行政村"
    assert error.message == "沙埠镇东风村（450702100202）已撤销，不能再登记"


def test_a_current_village_wins_over_an_abolished_one_of_the_same_name(
    tree, users, second_dongfeng
):
    Region.objects.filter(pk=tree.v2.pk).update(abolished=True)
    result = run([named("东风村")], actor=users.county)
    assert result.saved, result.errors
    assert Household.objects.get().village == second_dongfeng


# Codes and names together ----------------------------------------------------------------


def test_the_code_wins_when_the_names_agree(tree, users):
    rows = [
        ledger_row(区划代码=tree.v1.code, 乡镇="沙埠镇", 行政村="沙埠村"),
        ledger_row(
            区划代码=tree.v3.code, 乡镇="康熙岭", 行政村="坪山村委会", 身份证号=id_number(3)
        ),
    ]
    result = run(rows, actor=users.county, headers=HEADERS)
    assert result.saved, result.errors


def test_codes_and_names_that_disagree_are_an_error(tree, users):
    rows = [
        ledger_row(区划代码=tree.v1.code, 行政村="东风村"),
        ledger_row(区划代码=tree.v1.code, 乡镇="康熙岭镇", 身份证号=id_number(3)),
    ]
    result = run(rows, actor=users.county, headers=HEADERS)
    assert errors(result) == [(2, "行政村"), (3, "乡镇")]
    assert result.errors[0].message == (
        "“东风村”与区划代码不一致：区划代码 450702100201 是沙埠镇沙埠村"
    )
    assert not Household.objects.exists()


def test_every_bad_cell_of_a_named_row_is_reported(tree, users):
    result = run([named("东峰村", 技术模式="沼气式", 摸排日期="明天")], actor=users.county)
    assert errors(result) == [(2, "技术模式"), (2, "摸排日期"), (2, "行政村")]


def test_nothing_is_written_when_one_named_row_is_bad(tree, users):
    rows = [named("沙埠村"), named("东峰村", 身份证号=id_number(3))]
    result = run(rows, actor=users.county)
    assert errors(result) == [(3, "行政村")]
    assert not Household.objects.exists() and not Toilet.objects.exists()


# The command line and the page -----------------------------------------------------------


def command(path, *args):
    out = io.StringIO()
    try:
        call_command(
            "import_ledger", str(path), "--round", ROUND, "--format", "json", *args, stdout=out
        )
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, json.loads(out.getvalue())


def test_the_command_line_resolves_names_in_its_region(tree, users, tmp_path):
    path = tmp_path / "台账.xlsx"
    ledger_xlsx([named("沙埠村", "沙埠镇")], headers=BY_NAME, path=path)
    code, payload = command(path, "--dry-run")
    assert code == 1 and "--region" in payload["errors"][0]["message"]
    code, payload = command(path, "--region", "450702")
    assert code == 0 and payload["saved"], payload
    assert Household.objects.get().village == tree.v1


def test_the_command_lines_region_limits_the_rows(tree, users, tmp_path):
    path = tmp_path / "台账.xlsx"
    ledger_xlsx(
        [ledger_row(区划代码=tree.v4.code, 身份证号=id_number(1, area="450703"))], path=path
    )
    code, payload = command(path, "--region", tree.county.code)
    assert code == 1
    assert "不是本次导入的钦南区" in payload["errors"][0]["message"]


def test_the_command_lines_region_must_be_a_county_the_user_sees(tree, users, tmp_path):
    path = tmp_path / "台账.xlsx"
    ledger_xlsx([named("沙埠村")], headers=BY_NAME, path=path)
    code, payload = command(path, "--region", tree.t1.code)
    assert code == 2 and "不是县（区）" in payload["file_error"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="不在您的管辖范围内"):
        command(path, "--region", tree.county_b.code, "--user", users.county.username)
    with pytest.raises(CommandError, match="不存在"):
        command(path, "--region", "459999")
    code, payload = command(path, "--region", tree.county.code, "--user", users.township.username)
    assert code == 0, payload


def test_the_page_resolves_names_in_the_users_county(
    client, tree, users, django_capture_on_commit_callbacks
):
    client.force_login(users.township)
    data = ledger_xlsx([named("沙埠村"), named("东峰村", 身份证号=id_number(3))], headers=BY_NAME)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("imports:upload"),
            {"file": SimpleUploadedFile("台账.xlsx", data), "round_name": ROUND},
        )
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    (error,) = job.errors
    assert (error["row"], error["column"]) == (3, "行政村")
    assert "相近的有：东风村（沙埠镇）" in error["message"]
    body = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "东峰村" in body

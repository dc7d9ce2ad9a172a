"""The ledger import engine and the `import_ledger` command: rows become households, toilets,
inspections and ledger entries; any bad row saves nothing; re-importing changes nothing."""

import io
import json
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from imports import reader
from imports.engine import SYSTEM_USERNAME, import_ledger
from imports.results import ImportFileError
from rectification.choices import LedgerState
from rectification.models import LedgerEntry, LedgerLog
from rectification.services import available_actions
from reports.build import build_summary
from surveys.choices import InspectionStatus, RoundStatus
from surveys.models import Inspection, SurveyRound
from tests.factories import HouseholdFactory, ToiletFactory
from tests.ledger_files import id_number, ledger_row, ledger_xlsx
from toilets.models import Household, Toilet

ROUND = "2022年摸排"


def household_rows(n=3, **changes):
    return [
        ledger_row(
            户主姓名=f"户主{i}",
            身份证号=id_number(i, born=f"1980010{i + 1}"),
            联系电话=f"1381234{i:04d}",
            **changes,
        )
        for i in range(n)
    ]


def run(rows, actor=None, dry_run=False, round_name=ROUND):
    return import_ledger(
        io.BytesIO(ledger_xlsx(rows)), round_name=round_name, actor=actor, dry_run=dry_run
    )


def snapshot():
    """How many rows each table the import writes holds."""
    return {
        "households": Household.objects.count(),
        "household_history": Household.history.count(),
        "toilets": Toilet.objects.count(),
        "toilet_history": Toilet.history.count(),
        "inspections": Inspection.objects.count(),
        "inspection_history": Inspection.history.count(),
        "entries": LedgerEntry.objects.count(),
        "log": LedgerLog.objects.count(),
        "rounds": SurveyRound.objects.count(),
    }


# A good file ------------------------------------------------------------------------


def test_rows_become_households_toilets_inspections_and_entries(tree, users):
    rows = household_rows(2)
    rows.append(ledger_row(身份证号=id_number(7), 户主姓名="赵六", 整改情况="已销号"))
    rows.append(
        ledger_row(
            区划代码=tree.v3.code,
            厕所类别="公厕",
            公厕名称="村委会公厕",
            户主姓名="",
            身份证号="",
            使用情况="正常使用",
            问题类型="",
            整改情况="",
            技术模式="完整下水道水冲式",
            厕所类型="",
            资金来源="自建",
        )
    )
    result = run(rows, actor=users.county)

    assert result.ok and result.saved and result.round_created
    survey_round = SurveyRound.objects.get(name=ROUND)
    assert survey_round.county == tree.county and survey_round.template.is_default
    assert survey_round.status == RoundStatus.CLOSED
    assert result.counts == {
        "rows": 4,
        "households_created": 3,
        "households_updated": 0,
        "toilets_created": 4,
        "toilets_updated": 0,
        "inspections_created": 4,
        "inspections_updated": 0,
        "entries_opened": 3,
        "entries_updated": 0,
        "entries_closed": 1,
    }
    household = Household.objects.get(id_number=id_number(0, born="19800101"))
    assert (household.head_name, household.village, household.county_code) == (
        "户主0",
        tree.v1,
        "450702",
    )
    assert household.phone == "13812340000" and household.group_name == "一组"
    toilet = household.toilets.get()
    assert (toilet.tech_type, toilet.flush_kind, toilet.build_year, toilet.funding) == (
        "three_compartment",
        "flush",
        2019,
        "government",
    )
    assert toilet.lead_department == "agriculture"  # derived from the build year
    inspection = toilet.inspections.get(round=survey_round)
    assert inspection.usability == "unusable" and inspection.status == InspectionStatus.VERIFIED
    assert sorted(inspection.categories.values_list("code", flat=True)) == ["fixture", "tank"]
    assert inspection.partner_name == "李明" and inspection.surveyor == users.county
    assert str(inspection.inspected_at.date()) == "2022-05-10"

    entry = toilet.ledger_entries.get()
    assert entry.state == LedgerState.REGISTERED and entry.found_in == survey_round
    assert entry.opened_by_inspection == inspection
    assert sorted(entry.categories.values_list("code", flat=True)) == ["fixture", "tank"]

    closed = LedgerEntry.objects.get(toilet__household__head_name="赵六")
    assert closed.state == LedgerState.CLOSED and closed.closed_at is not None
    (log,) = closed.log.all()
    assert (log.action, log.from_state, log.to_state, log.actor) == (
        "import",
        "",
        LedgerState.CLOSED,
        users.county,
    )
    assert "原台账记为已销号" in log.note

    public = Toilet.objects.get(kind="public")
    assert (public.name, public.village, public.household) == ("村委会公厕", tree.v3, None)
    assert public.flush_kind == "flush" and public.funding == "self_built"
    assert not public.ledger_entries.exists()
    # Imported records have a history like ones saved on the pages.
    assert household.history.count() == 1 and toilet.history.count() == 1


def test_an_imported_open_entry_enters_the_close_out_workflow(tree, users):
    run(household_rows(1), actor=users.county)
    entry = LedgerEntry.objects.get()
    assert "plan" in {move.action for move in available_actions(users.township, entry)}


def test_the_summary_counts_the_imported_ledger(tree, users):
    rows = household_rows(3)
    rows[2]["整改情况"] = "已销号"
    run(rows, actor=users.county)
    summary = build_summary(SurveyRound.objects.get(name=ROUND), tree.county)
    assert summary.errors == [] and summary.violations == []
    column = summary.total
    assert column[1] == 3 and column[3] == 3  # toilets, government-funded since 2013
    assert column[6] == 3 and column[10] == 3  # problem household toilets, unusable
    assert column[13] == 3 and column[14] == 3  # 厕具问题, 粪池问题
    assert column[29] == 1 and column[33] == 2  # closed out, still to do


def test_the_round_is_reused_when_it_exists(tree, users):
    existing = SurveyRound.objects.create(
        name=ROUND,
        kind="survey",
        county=tree.county,
        start_date="2022-01-01",
        end_date="2022-12-31",
        template_id=1,
    )
    result = run(household_rows(1), actor=users.county)
    assert result.saved and not result.round_created
    assert Inspection.objects.get().round == existing


def test_the_command_line_imports_as_the_system_account(tree):
    result = run(household_rows(1))
    assert result.saved
    inspection = Inspection.objects.get()
    assert inspection.surveyor.username == SYSTEM_USERNAME
    assert not inspection.surveyor.is_active and not inspection.surveyor.has_usable_password()


def test_a_dry_run_reports_the_same_counts_and_saves_nothing(tree, users):
    rows = household_rows(3)
    before = snapshot()
    preview = run(rows, actor=users.county, dry_run=True)
    assert preview.ok and not preview.saved and preview.round_created
    assert snapshot() == before
    real = run(rows, actor=users.county)
    assert real.counts == preview.counts


def test_columns_may_come_in_any_order_with_hints_in_the_headers(tree, users):
    from imports.columns import HEADERS

    shuffled = list(reversed(HEADERS))
    rows = household_rows(1)
    data = ledger_xlsx(rows, headers=shuffled)
    # Headers as people write them: a required marker, a hint in brackets, a line break.
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.active
    for cell in sheet[1]:
        if cell.value == "身份证号":
            cell.value = "* 身份证号\n（18位）"
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    result = import_ledger(buffer, round_name=ROUND, actor=users.county)
    assert result.saved and Household.objects.get().head_name == "户主0"


def test_cells_in_the_shapes_excel_gives_them(tree, users):
    import datetime

    row = ledger_row(
        身份证号=id_number(3).lower(),  # a lower-case x
        区划代码=int(tree.v1.code),  # a code typed as a number
        建造年份="2018年",
        摸排日期=datetime.datetime(2022, 6, 1, 9, 30),
        问题类型="厕具，粪池",  # short names, a full-width comma
        联系电话=13812345678,
    )
    result = run([row], actor=users.county)
    assert result.saved, result.errors
    inspection = Inspection.objects.get()
    assert sorted(inspection.categories.values_list("code", flat=True)) == ["fixture", "tank"]
    assert inspection.toilet.build_year == 2018
    assert Household.objects.get().phone == "13812345678"


# Re-import ----------------------------------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing(tree, users):
    rows = household_rows(3)
    rows[1]["整改情况"] = "已销号"
    run(rows, actor=users.county)
    after_first = snapshot()
    again = run(rows, actor=users.county)
    assert again.saved and not again.round_created
    assert snapshot() == after_first
    assert {k: v for k, v in again.counts.items() if k != "rows"} == dict.fromkeys(
        [k for k in again.counts if k != "rows"], 0
    )


def test_a_corrected_file_updates_what_changed(tree, users):
    rows = household_rows(3)
    run(rows, actor=users.county)
    entries_before = LedgerEntry.objects.count()

    rows[0]["联系电话"] = "13900000000"  # a corrected phone number
    rows[1]["使用情况"] = "正常使用"  # the problem was a mistake
    rows[1]["问题类型"] = ""
    rows[1]["整改情况"] = ""
    rows[2]["整改情况"] = "已销号"  # closed out since
    rows[2]["问题类型"] = "粪池问题"
    result = run(rows, actor=users.county)

    assert result.counts["households_created"] == 0 and result.counts["households_updated"] == 1
    assert result.counts["toilets_created"] == 0 and result.counts["inspections_created"] == 0
    assert result.counts["inspections_updated"] == 2
    assert LedgerEntry.objects.count() == entries_before
    assert Household.objects.get(head_name="户主0").phone == "13900000000"
    assert Household.objects.get(head_name="户主0").version == 2
    withdrawn = LedgerEntry.objects.get(toilet__household__head_name="户主1")
    assert withdrawn.state == LedgerState.WITHDRAWN
    closed = LedgerEntry.objects.get(toilet__household__head_name="户主2")
    assert closed.state == LedgerState.CLOSED
    assert list(closed.categories.values_list("code", flat=True)) == ["tank"]
    assert closed.log.count() == 2


def test_an_entry_moved_on_in_the_workflow_keeps_its_state(tree, users):
    from tests.ledger import move, plan_data

    rows = household_rows(1)
    run(rows, actor=users.county)
    entry = LedgerEntry.objects.get()
    move(entry, "plan", users.township, plan=plan_data())
    rows[0]["整改情况"] = "已销号"
    run(rows, actor=users.county)
    entry.refresh_from_db()
    assert entry.state == LedgerState.PLANNED  # closing needs evidence in the system


def test_a_household_registered_on_the_pages_is_matched_not_duplicated(tree, users, register):
    h1 = register.h1
    row = ledger_row(
        身份证号=h1.id_number,
        户主姓名=h1.head_name,
        技术模式=register.t1.get_tech_type_display(),
        建造年份=register.t1.build_year,
    )
    result = run([row], actor=users.township)
    assert result.saved, result.errors
    assert result.counts["households_created"] == 0 and result.counts["toilets_created"] == 0
    assert Inspection.objects.get().toilet == register.t1
    assert Toilet.objects.filter(household=h1).count() == 1


def test_a_second_toilet_of_a_household_is_a_second_row(tree, users):
    number = id_number(5)
    rows = [
        ledger_row(身份证号=number, 户主姓名="周七"),
        ledger_row(身份证号=number, 户主姓名="周七", 技术模式="双瓮漏斗式", 建造年份=2015),
    ]
    run(rows, actor=users.county)
    run(rows, actor=users.county)
    household = Household.objects.get()
    assert household.toilets.count() == 2 and household.toilets.filter(build_year=2015).exists()


# Bad rows -----------------------------------------------------------------------------

BAD_ROWS = [
    ({"身份证号": "450702198001011234"}, "身份证号", "校验位错误"),
    ({"身份证号": 450702198001011230}, "身份证号", "存成了数字"),
    ({"身份证号": ""}, "身份证号", "户厕必须填写户主身份证号"),
    ({"户主姓名": ""}, "户主姓名", "户厕必须填写户主姓名"),
    ({"区划代码": "450702100299"}, "区划代码", "不存在"),
    ({"区划代码": "450702100000"}, "区划代码", "请填写行政村的 12 位代码"),
    ({"区划代码": "4507021002"}, "区划代码", "不是 12 位数字"),
    ({"建造年份": 2099}, "建造年份", "不可能"),
    ({"建造年份": 1900}, "建造年份", "不可能"),
    ({"建造年份": "去年"}, "建造年份", "不是年份"),
    ({"厕所类别": "楼房厕所"}, "厕所类别", "不在可选值中"),
    ({"技术模式": "化粪池"}, "技术模式", "不在可选值中"),
    ({"资金来源": "捐赠"}, "资金来源", "不在可选值中"),
    ({"使用情况": "坏了"}, "使用情况", "不在可选值中"),
    ({"整改情况": "整改中"}, "整改情况", "不在可选值中"),
    ({"问题类型": ""}, "问题类型", "必须填写问题类型"),
    ({"问题类型": "漏水问题"}, "问题类型", "没有“漏水问题”这一问题类型"),
    ({"使用情况": "正常使用", "整改情况": ""}, "问题类型", "不应填写问题类型"),
    ({"使用情况": "正常使用", "问题类型": ""}, "整改情况", "整改情况应留空"),
    ({"摸排日期": "2022年13月1日"}, "摸排日期", "不是日期"),
    ({"摸排日期": "2099-01-01"}, "摸排日期", "晚于今天"),
    ({"摸排日期": ""}, "摸排日期", "必须填写摸排日期"),
    ({"联系电话": "12345"}, "联系电话", "11 位手机号"),
    ({"厕所类型": "旱厕", "技术模式": "完整下水道水冲式"}, "厕所类型", "只能是水冲厕所"),
    ({"厕所类型": "", "技术模式": "其他类型卫生厕所"}, "厕所类型", "须注明"),
    ({"厕所类别": "公厕", "公厕名称": ""}, "公厕名称", "公厕必须填写公厕名称"),
    ({"户主姓名": "王" * 51}, "户主姓名", "不能超过 50 个字"),
]


@pytest.mark.parametrize(("changes", "column", "message"), BAD_ROWS)
def test_each_kind_of_bad_row_is_named_and_nothing_is_saved(tree, users, changes, column, message):
    rows = household_rows(2)
    rows.append(ledger_row(**{"身份证号": id_number(9), "户主姓名": "坏行", **changes}))
    before = snapshot()
    result = run(rows, actor=users.county)
    assert not result.ok and not result.saved
    assert [(e.row, e.column) for e in result.errors] == [(4, column)], result.errors
    assert message in result.errors[0].message
    assert snapshot() == before


def test_every_bad_row_is_reported_in_row_order(tree, users):
    rows = household_rows(4)
    rows[0]["建造年份"] = 3000
    rows[2]["身份证号"] = "123"
    rows[2]["使用情况"] = "?"
    rows[3]["区划代码"] = tree.v4.code  # another county
    result = run(rows, actor=users.county)
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "建造年份"),
        (4, "身份证号"),
        (4, "使用情况"),
        (5, "区划代码"),
    ]
    assert str(result.errors[0]).startswith("第 2 行“建造年份”：")


def test_one_file_holds_one_county(tree, users):
    """A city-wide importer still imports one county per file (a round belongs to a county)."""
    rows = household_rows(2)
    rows[1]["区划代码"] = tree.v4.code
    result = run(rows)  # the command line sees every county
    (error,) = result.errors
    assert error.row == 3 and "一个文件只能导入同一个县（区）的台账" in error.message


def test_a_township_cannot_import_into_another_townships_villages(tree, users):
    rows = household_rows(2)
    rows[1]["区划代码"] = tree.v3.code  # township T2
    before = snapshot()
    result = run(rows, actor=users.township)
    (error,) = result.errors
    assert (error.row, error.column) == (3, "区划代码")
    assert error.message == f"区划代码 {tree.v3.code} 不在您的管辖范围内"
    assert tree.v3.name not in error.message
    assert snapshot() == before


def test_a_household_registered_in_another_township_is_not_taken_over(tree, users):
    other = HouseholdFactory(village=tree.v3, head_name="李秀英")
    ToiletFactory(household=other)
    row = ledger_row(身份证号=other.id_number, 户主姓名="李秀英")
    result = run([row], actor=users.township)
    (error,) = result.errors
    assert error.column == "身份证号" and "不在您的管辖范围内" in error.message
    assert tree.v3.name not in error.message and tree.v3.code not in error.message
    other.refresh_from_db()
    assert other.village == tree.v3
    # The county may move it.
    assert run([row], actor=users.county).saved
    other.refresh_from_db()
    assert other.village == tree.v1


def test_rows_that_contradict_each_other(tree, users):
    number = id_number(4)
    rows = [
        ledger_row(身份证号=number, 户主姓名="甲"),
        ledger_row(身份证号=number, 户主姓名="乙"),
        ledger_row(身份证号=number, 户主姓名="甲", 区划代码=tree.v2.code),
        ledger_row(厕所类别="公厕", 公厕名称="站前公厕", 身份证号="", 户主姓名=""),
        ledger_row(厕所类别="公厕", 公厕名称="站前公厕", 身份证号="", 户主姓名=""),
    ]
    result = run(rows, actor=users.county)
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "户主姓名"),
        (4, "区划代码"),
        (6, "公厕名称"),
    ]


@pytest.mark.parametrize("role", ["surveyor", "inspector"])
def test_roles_without_the_import_capability_are_refused(tree, users, role):
    with pytest.raises(PermissionDenied):
        run(household_rows(1), actor=getattr(users, role))
    assert Household.objects.count() == 0


# Bad files ----------------------------------------------------------------------------


def refused(data: bytes) -> str:
    with pytest.raises(ImportFileError) as caught:
        import_ledger(io.BytesIO(data), round_name=ROUND)
    return caught.value.message


def test_a_file_that_is_not_an_xlsx(tree):
    assert "不是 Excel（.xlsx）文件" in refused(b"%PDF-1.4 not a spreadsheet")
    assert "不是 Excel（.xlsx）文件" in refused("区划代码,村民小组\n".encode())


def test_an_empty_file(tree):
    assert "文件是空的" in refused(b"")


def test_a_file_over_50_mb_is_refused_before_it_is_read(tree, tmp_path):
    big = tmp_path / "big.xlsx"
    with open(big, "wb") as handle:
        handle.truncate(reader.MAX_FILE_BYTES + 1)  # sparse: no 50 MB written to disk
    with pytest.raises(ImportFileError) as caught:
        import_ledger(str(big), round_name=ROUND)
    assert "超过 50 MB" in caught.value.message


def test_an_xlsx_bomb_is_refused(tree):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 1024 * 1024))
    assert len(buffer.getvalue()) < 200_000
    assert "解压后异常巨大" in refused(buffer.getvalue())


def test_a_damaged_workbook(tree):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<not-xml")
    assert "无法读取" in refused(buffer.getvalue()) or "损坏" in refused(buffer.getvalue())


def test_wrong_headers(tree):
    assert "不是台账模板的表头" in refused(ledger_xlsx([{}], headers=["姓名", "地址", "电话"]))
    from imports.columns import HEADERS

    missing = [h for h in HEADERS if h not in ("建造年份", "摸排人")]
    message = refused(ledger_xlsx([ledger_row()], headers=missing))
    assert message == "表头缺少列：建造年份、摸排人。请使用导入模板的表头。"
    twice = [*HEADERS, "身份证号"]
    assert "表头“身份证号”出现了两次" in refused(ledger_xlsx([ledger_row()], headers=twice))


def test_headers_without_rows(tree):
    assert "没有数据行" in refused(ledger_xlsx([]))


def test_a_missing_round_name(tree):
    with pytest.raises(ImportFileError, match="轮次"):
        import_ledger(io.BytesIO(ledger_xlsx(household_rows(1))), round_name="  ")


# The command --------------------------------------------------------------------------


def command(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_ledger", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_the_command_dry_run_then_import(tree, tmp_path):
    path = tmp_path / "ledger.xlsx"
    ledger_xlsx(household_rows(2), path=path)

    code, out, _ = command(str(path), "--round", ROUND, "--dry-run")
    assert code == 0 and "检查通过（试运行，未保存）" in out and "新增农户：2" in out
    assert Household.objects.count() == 0 and not SurveyRound.objects.exists()

    code, out, _ = command(str(path), "--round", ROUND)
    assert code == 0 and "导入完成" in out and "（新建）" in out
    assert Household.objects.count() == 2

    code, out, _ = command(str(path), "--round", ROUND, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["saved"] and data["counts"]["households_created"] == 0


def test_the_command_reports_bad_rows_and_exits_1(tree, tmp_path):
    path = tmp_path / "ledger.xlsx"
    rows = household_rows(2)
    rows[1]["建造年份"] = 2099
    ledger_xlsx(rows, path=path)
    code, _, err = command(str(path), "--round", ROUND)
    assert code == 1 and "第 3 行“建造年份”：建造年份 2099 不可能" in err
    assert Household.objects.count() == 0
    code, out, _ = command(str(path), "--round", ROUND, "--format", "json")
    assert code == 1 and json.loads(out)["errors"][0]["row"] == 3


def test_the_command_exits_2_on_an_unreadable_file(tree, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(b"junk")
    code, _, err = command(str(path), "--round", ROUND)
    assert code == 2 and "不是 Excel（.xlsx）文件" in err


def test_the_command_imports_as_a_user_within_their_region(tree, users, tmp_path):
    path = tmp_path / "ledger.xlsx"
    rows = household_rows(1)
    rows[0]["区划代码"] = tree.v3.code
    ledger_xlsx(rows, path=path)
    code, _, err = command(str(path), "--round", ROUND, "--user", "township")
    assert code == 1 and "不在您的管辖范围内" in err
    code, _, _ = command(str(path), "--round", ROUND, "--user", "township_t2")
    assert code == 0 and Household.objects.get().village == tree.v3

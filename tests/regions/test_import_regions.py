"""``manage.py import_regions``: the official code list, all-or-nothing."""

import pytest
from django.core.management import CommandError, call_command

from regions.choices import Level
from regions.models import Region

pytestmark = pytest.mark.django_db

GOOD = """区划代码,名称
450000000000,广西壮族自治区
450700000000,钦州市
450702000000,钦南区
450702100000,沙埠镇
450702100201,沙埠村
450702100202,东风村
450702101000,康熙岭镇
450702101201,坪山村
"""


def write(tmp_path, text, encoding="utf-8", name="regions.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(path):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("import_regions", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(path):
    from io import StringIO

    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_regions", str(path), stdout=StringIO(), stderr=err)
    return str(exc.value), err.getvalue()


def test_it_loads_the_tree_with_levels_and_parents(tmp_path):
    out, _ = run(write(tmp_path, GOOD))
    assert "新增 8 个" in out
    village = Region.objects.get(code="450702100201")
    assert village.level == Level.VILLAGE
    assert village.parent.code == "450702100000"
    assert village.parent.level == Level.TOWNSHIP
    assert village.parent.parent.code == "450702000000"
    assert Region.objects.get(code="450702000000").level == Level.COUNTY
    assert Region.objects.get(code="450700000000").parent.code == "450000000000"
    assert Region.objects.get(code="450000000000").parent is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_it_reads_utf8_with_or_without_bom_and_gbk(tmp_path, encoding):
    run(write(tmp_path, GOOD, encoding=encoding))
    assert Region.objects.get(code="450702100202").name == "东风村"


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = write(tmp_path, GOOD)
    run(path)
    before = list(Region.objects.values_list("id", "code", "name", "level", "parent_id"))
    out, _ = run(path)
    assert "新增 0 个，更新 0 个，未变 8 个" in out
    assert list(Region.objects.values_list("id", "code", "name", "level", "parent_id")) == before


def test_a_later_file_renames_and_adds_but_never_deletes(tmp_path):
    run(write(tmp_path, GOOD))
    later = "区划代码,名称\n450702100201,沙埠社区\n450702100203,新村\n"
    out, _ = run(write(tmp_path, later, name="later.csv"))
    assert "新增 1 个，更新 1 个" in out
    assert Region.objects.get(code="450702100201").name == "沙埠社区"
    assert Region.objects.get(code="450702100203").parent.code == "450702100000"
    assert Region.objects.filter(code="450702100202").exists()


def test_a_city_without_counties_links_townships_to_the_city(tmp_path):
    text = "区划代码,名称\n440000000000,广东省\n441900000000,东莞市\n441900003000,东城街道\n"
    run(write(tmp_path, text))
    assert Region.objects.get(code="441900003000").parent.code == "441900000000"


def assert_nothing_saved():
    assert Region.objects.count() == 0


def test_a_bad_code_refuses_the_whole_file_naming_every_line(tmp_path):
    text = GOOD + "45070210020,短代码村\n4507021002AB,字母村\n"
    message, err = run_failing(write(tmp_path, text))
    assert "2 处错误" in message
    assert "第 10 行" in err and "45070210020" in err
    assert "第 11 行" in err and "4507021002AB" in err
    assert_nothing_saved()


def test_an_orphan_code_is_refused(tmp_path):
    text = GOOD + "450702199201,孤儿村\n"
    _, err = run_failing(write(tmp_path, text))
    assert "第 10 行" in err and "450702199000" in err and "孤儿村" in err
    assert_nothing_saved()


def test_a_code_repeated_with_another_name_is_refused(tmp_path):
    text = GOOD + "450702100201,另一个名字\n"
    _, err = run_failing(write(tmp_path, text))
    assert "第 10 行" in err and "第 6 行" in err and "另一个名字" in err
    assert_nothing_saved()


def test_a_code_repeated_with_the_same_name_is_harmless(tmp_path):
    run(write(tmp_path, GOOD + "450702100201,沙埠村\n"))
    assert Region.objects.count() == 8


def test_a_missing_header_is_refused(tmp_path):
    _, err = run_failing(write(tmp_path, "编号,地名\n450000000000,广西\n"))
    assert "第 1 行" in err and "区划代码" in err
    assert_nothing_saved()


def test_a_missing_name_is_refused(tmp_path):
    _, err = run_failing(write(tmp_path, GOOD + "450702100203,\n"))
    assert "第 10 行" in err and "缺少名称" in err
    assert_nothing_saved()


def test_a_bad_file_leaves_an_existing_tree_untouched(tmp_path):
    run(write(tmp_path, GOOD))
    before = list(Region.objects.values_list("code", "name"))
    run_failing(write(tmp_path, "区划代码,名称\n450702100201,改名村\n999,坏\n", name="bad.csv"))
    assert list(Region.objects.values_list("code", "name")) == before


def test_an_orphan_is_accepted_when_its_parent_is_already_loaded(tmp_path):
    run(write(tmp_path, GOOD))
    run(write(tmp_path, "区划代码,名称\n450702101202,团和村\n", name="more.csv"))
    assert Region.objects.get(code="450702101202").parent.code == "450702101000"


def test_a_missing_file_is_a_clear_error(tmp_path):
    message, _ = run_failing(tmp_path / "nope.csv")
    assert "无法读取文件" in message

"""Values as people write them: aliases (built-in and a county's own), dates, problem category
separators, ID numbers; every bad cell of a row reported at once; all-or-nothing."""

import datetime
import io

import pytest
from django.utils import timezone

from imports.aliases import BUILT_IN, AliasColumn, add_alias
from imports.engine import import_ledger
from rectification.models import LedgerEntry
from surveys.models import Inspection
from tests.ledger_files import id_number, ledger_row, ledger_xlsx
from toilets.choices import Funding, TechType, ToiletKind
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db

ROUND = "2022年摸排"


def run(rows, actor=None, dry_run=False, county=None):
    return import_ledger(
        io.BytesIO(ledger_xlsx(rows)), round_name=ROUND, actor=actor, dry_run=dry_run, county=county
    )


def check_one(users, **changes):
    """The example row with ``changes``, checked (dry run) by the county."""
    return run([ledger_row(**changes)], actor=users.county, dry_run=True)


def imported_toilet(users, **changes) -> Toilet:
    result = run([ledger_row(**changes)], actor=users.county)
    assert result.saved, result.errors
    return Toilet.objects.get()


# Aliases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("三格式", TechType.THREE_COMPARTMENT),
        ("三格化粪池", TechType.THREE_COMPARTMENT),
        ("双瓮式", TechType.DOUBLE_URN),
        ("沼气池式", TechType.BIOGAS),
        ("三联沼气池式", TechType.BIOGAS),  # WS/T 598.3's name
        ("三格化粪池式", TechType.THREE_COMPARTMENT),  # the official value itself
        ("三 格 式", TechType.THREE_COMPARTMENT),  # spaces are ignored
    ],
)
def test_it_takes_built_in_technical_type_aliases(tree, users, written, stored):
    assert imported_toilet(users, 技术模式=written).tech_type == stored


@pytest.mark.parametrize(
    ("written", "stored"),
    [("户用厕所", ToiletKind.HOUSEHOLD), ("户厕", ToiletKind.HOUSEHOLD)],
)
def test_it_takes_built_in_kind_aliases(tree, users, written, stored):
    assert imported_toilet(users, 厕所类别=written).kind == stored


def test_it_takes_public_toilet_as_a_public_toilet(tree, users):
    toilet = imported_toilet(
        users, 厕所类别="公共厕所", 公厕名称="村委会公厕", 户主姓名="", 身份证号=""
    )
    assert toilet.kind == ToiletKind.PUBLIC and toilet.household is None


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("财政补助", Funding.GOVERNMENT),
        ("财政奖补", Funding.GOVERNMENT),
        ("财政支持改造", Funding.GOVERNMENT),
        ("农户自建", Funding.SELF_BUILT),
        ("自建", Funding.SELF_BUILT),
    ],
)
def test_it_takes_built_in_funding_aliases(tree, users, written, stored):
    assert imported_toilet(users, 资金来源=written).funding == stored


def test_every_built_in_alias_is_accepted(tree, users):
    """The whole built-in table, as one file: nothing in it is refused."""
    rows = []
    for n, (column, table) in enumerate(
        (c, t) for c, t in BUILT_IN.items() if c in (AliasColumn.TECH_TYPE, AliasColumn.FUNDING)
    ):
        header = AliasColumn(column).label
        for m, alias in enumerate(table):
            rows.append(
                ledger_row(**{header: alias, "身份证号": id_number(n * 50 + m), "厕所类型": ""})
            )
    result = run(rows, actor=users.county, dry_run=True)
    assert result.ok, result.errors


def test_an_unknown_value_lists_the_values_and_the_aliases(tree, users):
    result = check_one(users, 技术模式="沼气式")
    (error,) = result.errors
    assert error.column == "技术模式"
    assert str(error).startswith("第 2 行“技术模式”：“沼气式”不在可选值中。可填：三格化粪池式、")
    assert "；也可写：" in error.message
    for text in ("三联通沼气池式", "三格式", "三联沼气池式", "沼气池式"):
        assert text in error.message


def test_full_width_letters_are_read_as_half_width(tree, users):
    result = check_one(users, 身份证号="４５０７０２１９８００１０１１２３Ｘ")
    assert result.ok, result.errors


def test_full_width_digits_are_stored_as_half_width(tree, users):
    toilet = imported_toilet(users, 身份证号="４５０７０２１９８００１０１１２３X")
    assert toilet.household.id_number == "45070219800101123X"


def test_a_countys_own_alias_applies_to_its_imports_only(tree, users):
    add_alias(
        actor=users.county,
        county=tree.county,
        column=AliasColumn.TECH_TYPE,
        alias="三格池",
        value=TechType.THREE_COMPARTMENT,
    )
    # County A: accepted, and named among the accepted spellings of a bad cell.
    assert imported_toilet(users, 技术模式="三格池").tech_type == TechType.THREE_COMPARTMENT
    error = check_one(users, 技术模式="三格").errors[0]
    assert "三格池" in error.message
    # County B: unknown, and never offered.
    row = ledger_row(区划代码=tree.v4.code, 身份证号=id_number(3, area="450703"), 技术模式="三格池")
    result = run([row], actor=users.outsider, dry_run=True)
    (error,) = result.errors
    assert error.column == "技术模式" and "不在可选值中" in error.message
    assert "三格池" not in error.message.split("。", 1)[1]


def test_a_countys_alias_applies_to_the_townships_imports(tree, users):
    add_alias(
        actor=users.county,
        county=tree.county,
        column=AliasColumn.USABILITY,
        alias="坏了",
        value="unusable",
    )
    result = run([ledger_row(使用情况="坏了")], actor=users.township)
    assert result.saved, result.errors
    assert Inspection.objects.get().usability == "unusable"


def test_the_command_line_takes_the_aliases_of_its_region(tree, users):
    add_alias(
        actor=users.county,
        county=tree.county,
        column=AliasColumn.FUNDING,
        alias="奖补",
        value=Funding.GOVERNMENT,
    )
    assert not run([ledger_row(资金来源="奖补")], dry_run=True).ok  # no county given
    assert run([ledger_row(资金来源="奖补")], dry_run=True, county=tree.county).ok


def test_a_countys_category_alias(tree, users):
    add_alias(
        actor=users.county,
        county=tree.county,
        column=AliasColumn.CATEGORIES,
        alias="漏水",
        value="tank",
    )
    result = run([ledger_row(问题类型="漏水、厕具")], actor=users.county)
    assert result.saved, result.errors
    codes = set(LedgerEntry.objects.get().categories.values_list("pk", flat=True))
    assert codes == {"tank", "fixture"}


# Dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        datetime.date(2022, 4, 15),
        datetime.datetime(2022, 4, 15, 9, 30),
        "2022.4.15",
        "2022/4/15",
        "2022-04-15",
        "2022-4-15",
        "2022年4月15日",
        "2022年04月15号",
        "20220415",
        20220415,
        "２０２２－０４－１５",  # full width
        "2022-04-15 00:00:00",  # a date cell turned into text
        44666,  # the Excel serial number of 2022-04-15
    ],
)
def test_it_reads_each_form_of_date(tree, users, written):
    result = run([ledger_row(摸排日期=written)], actor=users.county)
    assert result.saved, result.errors
    assert timezone.localdate(Inspection.objects.get().inspected_at) == datetime.date(2022, 4, 15)


@pytest.mark.parametrize("written", ["2022.13.1", "2022/2/30", "15/4/2022", "2022415", "四月"])
def test_a_date_it_cannot_read_is_an_error(tree, users, written):
    (error,) = check_one(users, 摸排日期=written).errors
    assert error.column == "摸排日期" and "不是日期" in error.message


# Problem categories ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "厕具问题、粪池问题",
        "厕具问题，粪池问题",
        "厕具问题,粪池问题",
        "厕具问题;粪池问题",
        "厕具问题；粪池问题",
        "厕具问题/粪池问题",
        "厕具问题／粪池问题",
        "厕具问题 粪池问题",
        "厕具问题\u3000粪池问题",  # the full-width space
        "厕具问题\n粪池问题",  # Alt+Enter in a cell
        "厕具 、 粪池",  # short names, spaces around a separator
        "厕具问题、粪池问题、厕具问题",  # a repeat counts once
    ],
)
def test_it_splits_categories_on_every_separator(tree, users, written):
    result = run([ledger_row(问题类型=written)], actor=users.county)
    assert result.saved, result.errors
    codes = set(Inspection.objects.get().categories.values_list("pk", flat=True))
    assert codes == {"fixture", "tank"}


def test_unknown_categories_are_named_together(tree, users):
    (error,) = check_one(users, 问题类型="漏水、厕具、太臭").errors
    assert error.message.startswith("没有“漏水”“太臭”这些问题类型。可填：厕屋问题、")
    assert "也可写：厕屋、" in error.message


# ID numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["45070219800101123x", "450702 19800101 123X", " 45070219800101123x ", "'45070219800101123X"],
)
def test_it_reads_id_numbers_as_people_write_them(tree, users, written):
    result = run([ledger_row(身份证号=written)], actor=users.county)
    assert result.saved, result.errors
    assert Household.objects.get().id_number == "45070219800101123X"


# Every error of a row, all or nothing ----------------------------------------------------


def test_every_bad_cell_of_a_row_is_reported_at_once(tree, users):
    row = ledger_row(
        区划代码="450702100299",  # no such village
        技术模式="沼气式",
        摸排日期="2022.13.1",
        资金来源="捐赠",
    )
    result = run([ledger_row(), row], actor=users.county)
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "区划代码"),
        (3, "技术模式"),
        (3, "资金来源"),
        (3, "摸排日期"),
    ]
    assert not Household.objects.exists() and not Toilet.objects.exists()


def test_a_bad_row_still_gets_its_region_and_household_checks(tree, users, register):
    """A row with a bad cell is still checked against the database: its village outside the
    importer's region and an ID number registered elsewhere are reported with it."""
    rows = [
        ledger_row(区划代码=tree.v3.code, 技术模式="沼气式"),  # T2's village
        ledger_row(身份证号=register.h3.id_number, 户主姓名=register.h3.head_name, 建造年份="去年"),
    ]
    result = run(rows, actor=users.township)
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "区划代码"),
        (2, "技术模式"),
        (3, "身份证号"),
        (3, "建造年份"),
    ]
    assert "不在您的管辖范围内" in result.errors[0].message
    assert "不在您的管辖范围内" in result.errors[2].message


def test_a_bad_row_still_gets_its_duplicate_checks(tree, users):
    number = id_number(4)
    rows = [
        ledger_row(身份证号=number, 户主姓名="甲"),
        ledger_row(身份证号=number, 户主姓名="乙", 使用情况="坏了"),
    ]
    result = run(rows, actor=users.county)
    assert [(e.row, e.column) for e in result.errors] == [(3, "户主姓名"), (3, "使用情况")]


def test_nothing_is_written_when_any_row_is_bad_and_reimport_changes_nothing(tree, users):
    rows = [
        ledger_row(
            技术模式="三格式", 资金来源="财政补助", 问题类型="厕具；粪池", 摸排日期="2022.4.15"
        ),
        ledger_row(身份证号=id_number(8), 户主姓名="赵六", 技术模式="双瓮式", 摸排日期=20220416),
    ]
    bad = [*rows, ledger_row(身份证号=id_number(9), 技术模式="沼气式")]
    assert not run(bad, actor=users.county).ok
    assert not Household.objects.exists() and not Inspection.objects.exists()

    first = run(rows, actor=users.county)
    assert first.saved and first.counts["toilets_created"] == 2
    history = (Household.history.count(), Toilet.history.count(), Inspection.history.count())
    again = run(rows, actor=users.county)
    assert again.saved
    changed = {k: v for k, v in again.counts.items() if k != "rows" and v}
    assert changed == {}
    assert (Household.history.count(), Toilet.history.count(), Inspection.history.count()) == (
        history
    )

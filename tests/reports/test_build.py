"""The 33-column summary built from the ledger (DESIGN.md, "The 33-column summary"): every
column moved by exactly the toilets and ledger entries it defines, made the real way
(register → inspection → ledger entry → close-out transitions)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rectification.choices import LedgerState
from rectification.models import LedgerEntry
from regions.choices import Role
from reports.build import TOTAL_LABEL, build_summary, round_entries
from reports.columns import COLUMNS
from surveys.models import Inspection, ProblemCategory, ReportTemplate, SurveyRound
from surveys.services import close_round, open_round, save_inspection
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)
from tests.ledger import consent, drive, move, open_entry
from toilets.choices import Funding, TechType, ToiletStatus
from toilets.services import save_toilet

pytestmark = pytest.mark.django_db

T1, T2 = "沙埠镇", "康熙岭镇"
CATEGORY_COLUMN = {
    "room": 12,
    "fixture": 13,
    "tank": 14,
    "water": 15,
    "frost": 16,
    "waste": 17,
    "maintenance": 18,
    "other": 19,
}
# The 2022 template: 2013以前, 2013至2016, 2017, 2018, 2019, 2020, 2021 → columns 22–28.
YEAR_COLUMN = [(2010, 22), (2013, 23), (2016, 23), (2017, 24), (2018, 25), (2019, 26)]
YEAR_COLUMN += [(2020, 27), (2021, 28)]
# What the build reads: the child regions, the register, the villages reached, the problem
# entries (with counts of data errors), their categories; the round's template when not loaded.
BUILD_QUERIES = 6


@pytest.fixture
def survey(tree, users):
    survey_round = SurveyRoundFactory(
        county=tree.county, name="2022年农村户厕问题摸排", status="draft"
    )
    return open_round(actor=users.county, survey_round=survey_round)


@pytest.fixture
def surveyor_v3(tree):
    return UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))


@pytest.fixture
def reached(users, survey, register):
    """V1 already has an inspection in the round (of a second toilet of 王建国, usable), so
    column 5 stays put in most tests."""
    return inspect(users.surveyor, survey, ToiletFactory(household=register.h1, build_year=2015))


def inspect(surveyor, survey_round, toilet, usability="normal", cats=()):
    inspection = Inspection(
        round=survey_round,
        toilet=toilet,
        usability=usability,
        check_method="on_site",
        partner_name="李四",
        inspected_at=timezone.now(),
        signed=True,
    )
    return save_inspection(
        actor=surveyor,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code__in=cats)),
    )


def table(survey_round, region, **kwargs) -> dict[str, dict[int, int]]:
    summary = build_summary(survey_round, region, **kwargs)
    return {**{row.name: row.values for row in summary.rows}, TOTAL_LABEL: summary.total}


def moved(before, after) -> dict[str, dict[int, int]]:
    """The non-zero changes per row between two tables."""
    changes = {}
    for name, values in after.items():
        delta = {c: values[c] - before[name][c] for c in COLUMNS if values[c] != before[name][c]}
        if delta:
            changes[name] = delta
    return changes


def in_t1(delta):
    """The same change in 沙埠镇's row and in 合计."""
    return {T1: delta, TOTAL_LABEL: delta}


# Columns 1–4: the register --------------------------------------------------------------


@pytest.mark.parametrize(
    ("toilet", "delta"),
    [
        ({"funding": Funding.GOVERNMENT, "build_year": 2013}, {1: 1, 3: 1}),
        ({"funding": Funding.GOVERNMENT, "build_year": 2021}, {1: 1, 3: 1}),
        ({"funding": Funding.SELF_BUILT, "build_year": 2018}, {1: 1, 4: 1}),
        ({"funding": Funding.GOVERNMENT, "build_year": 2012}, {1: 1, 4: 1}),
        ({"funding": Funding.SELF_BUILT, "build_year": 2005}, {1: 1, 4: 1}),
    ],
    ids=["gov-2013", "gov-2021", "self-built", "gov-before-2013", "self-built-old"],
)
def test_a_household_toilet_counts_in_1_and_in_3_or_4(tree, survey, toilet, delta):
    before = table(survey, tree.county)
    ToiletFactory(household=HouseholdFactory(village=tree.v2), **toilet)
    assert moved(before, table(survey, tree.county)) == in_t1(delta)


def test_a_public_toilet_counts_in_1_and_2(tree, survey):
    before = table(survey, tree.county)
    PublicToiletFactory(village=tree.v1, funding=Funding.GOVERNMENT, build_year=2018)
    assert moved(before, table(survey, tree.county)) == in_t1({1: 1, 2: 1})


def test_a_demolished_toilet_counts_nowhere(tree, users, survey, register, reached):
    entry = open_entry(users.surveyor, survey, ToiletFactory(household=register.h1))
    before = table(survey, tree.county)
    toilet = entry.toilet
    toilet.status = ToiletStatus.DEMOLISHED
    save_toilet(actor=users.surveyor, toilet=toilet)
    assert moved(before, table(survey, tree.county)) == in_t1(
        {1: -1, 3: -1, 6: -1, 7: -1, 10: -1, 14: -1, 20: -1, 25: -1, 33: -1}
    )


# Column 5: villages reached ------------------------------------------------------------


def test_a_village_counts_in_5_once_whatever_its_inspections(
    tree, users, survey, register, surveyor_v3
):
    before = table(survey, tree.county)
    inspect(users.surveyor, survey, register.t1)
    assert moved(before, table(survey, tree.county)) == in_t1({5: 1})

    second = ToiletFactory(household=register.h1)
    in_v2 = ToiletFactory(household=HouseholdFactory(village=tree.v2))
    before = table(survey, tree.county)
    inspect(users.surveyor, survey, second)
    assert moved(before, table(survey, tree.county)) == {}

    before = table(survey, tree.county)
    inspect(users.surveyor_v2, survey, in_v2)
    inspect(surveyor_v3, survey, register.t3)
    assert moved(before, table(survey, tree.county)) == {
        T1: {5: 1},
        T2: {5: 1},
        TOTAL_LABEL: {5: 2},
    }


# Columns 6–28: problem toilets ----------------------------------------------------------

PROBLEM = {6: 1, 7: 1, 10: 1, 14: 1, 20: 1, 25: 1, 33: 1}  # gov 2018 flush, unusable, 粪池


@pytest.mark.parametrize(
    ("toilet", "delta"),
    [
        ({}, PROBLEM),
        ({"funding": Funding.SELF_BUILT}, {**PROBLEM, 7: 0, 8: 1}),
        ({"build_year": 2012}, {**PROBLEM, 7: 0, 8: 1, 25: 0, 22: 1}),
        ({"public": True}, {**PROBLEM, 6: 0, 7: 0, 9: 1}),
        ({"tech_type": TechType.DOUBLE_PIT, "flush_kind": "dry"}, {**PROBLEM, 20: 0, 21: 1}),
        ({"tech_type": TechType.THREE_COMPARTMENT, "flush_kind": "dry"}, {**PROBLEM, 20: 0, 21: 1}),
    ],
    ids=["gov-since-2013", "self-built", "gov-before-2013", "public", "dry-type", "dry-recorded"],
)
def test_a_problem_toilet_counts_in_its_class_and_type(
    tree, users, register, survey, reached, toilet, delta
):
    if toilet.pop("public", False):
        target = PublicToiletFactory(village=tree.v1)
    else:
        target = ToiletFactory(household=register.h1, **toilet)
    before = table(survey, tree.county)
    open_entry(users.surveyor, survey, target)
    assert moved(before, table(survey, tree.county)) == in_t1({c: n for c, n in delta.items() if n})


@pytest.mark.parametrize(("usability", "column"), [("unusable", 10), ("not_year_round", 11)])
def test_a_problem_toilet_counts_in_its_usability(
    tree, users, register, survey, reached, usability, column
):
    before = table(survey, tree.county)
    open_entry(users.surveyor, survey, register.t1, usability=usability)
    delta = {**PROBLEM, 10: 0, column: 1}
    assert moved(before, table(survey, tree.county)) == in_t1({c: n for c, n in delta.items() if n})


@pytest.mark.parametrize(("code", "column"), list(CATEGORY_COLUMN.items()))
def test_a_problem_toilet_counts_in_its_category(
    tree, users, register, survey, reached, code, column
):
    before = table(survey, tree.county)
    open_entry(users.surveyor, survey, register.t1, cats=(code,))
    delta = {**PROBLEM, 14: 0}
    delta[column] = 1
    assert moved(before, table(survey, tree.county)) == in_t1({c: n for c, n in delta.items() if n})


def test_a_toilet_with_several_categories_counts_once_in_each(
    tree, users, register, survey, reached
):
    before = table(survey, tree.county)
    open_entry(users.surveyor, survey, register.t1, cats=("room", "tank", "frost", "other"))
    delta = {**PROBLEM, 12: 1, 14: 1, 16: 1, 19: 1}
    after = table(survey, tree.county)
    assert moved(before, after) == in_t1(delta)
    assert after[T1][6] == 1 and sum(after[T1][c] for c in range(12, 20)) == 4


@pytest.mark.parametrize(("year", "column"), YEAR_COLUMN)
def test_a_problem_toilet_counts_in_its_build_year_bucket(
    tree, users, register, survey, reached, year, column
):
    target = ToiletFactory(household=register.h1, build_year=year, funding=Funding.SELF_BUILT)
    before = table(survey, tree.county)
    open_entry(users.surveyor, survey, target)
    delta = {**PROBLEM, 7: 0, 8: 1, 25: 0}
    delta[column] = 1
    assert moved(before, table(survey, tree.county)) == in_t1({c: n for c, n in delta.items() if n})


def test_a_later_finding_updates_the_same_problem_toilet(tree, users, register, survey, reached):
    open_entry(users.surveyor, survey, register.t1, usability="unusable", cats=("tank",))
    before = table(survey, tree.county)
    inspection = register.t1.inspections.get(round=survey, usability="unusable")
    inspection.usability = "not_year_round"
    save_inspection(
        actor=users.surveyor,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code__in=["water", "frost"])),
    )
    assert moved(before, table(survey, tree.county)) == in_t1({10: -1, 11: 1, 14: -1, 15: 1, 16: 1})


# Columns 29–33: close-out ---------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [LedgerState.PLANNED, LedgerState.IN_PROGRESS, LedgerState.RECTIFIED, LedgerState.ACCEPTED],
)
def test_an_entry_not_yet_closed_out_is_still_unfinished(
    tree, users, register, survey, reached, state
):
    before = table(survey, tree.county)
    entry = open_entry(users.surveyor, survey, register.t1)
    drive(entry, township=users.township, surveyor=users.surveyor, to=state)
    assert moved(before, table(survey, tree.county)) == in_t1(PROBLEM)


@pytest.mark.parametrize(
    ("toilet", "delta"),
    [
        ({}, {29: 1, 30: 1}),
        ({"funding": Funding.SELF_BUILT}, {7: 0, 8: 1, 29: 1, 31: 1}),
        ({"build_year": 2012}, {7: 0, 8: 1, 25: 0, 22: 1, 29: 1, 31: 1}),
        ({"public": True}, {6: 0, 7: 0, 9: 1, 32: 1}),
    ],
    ids=["gov-since-2013", "self-built", "gov-before-2013", "public"],
)
def test_a_closed_out_toilet_counts_in_29_to_32_and_not_in_33(
    tree, users, register, survey, reached, toilet, delta
):
    if toilet.pop("public", False):
        target = PublicToiletFactory(village=tree.v1)
    else:
        target = ToiletFactory(household=register.h1, **toilet)
    before = table(survey, tree.county)
    entry = open_entry(users.surveyor, survey, target)
    drive(entry, township=users.township, surveyor=users.surveyor, to=LedgerState.CLOSED)
    expected = {**PROBLEM, 33: 0, **delta}
    assert moved(before, table(survey, tree.county)) == in_t1(
        {c: n for c, n in expected.items() if n}
    )


def test_a_reopened_entry_is_unfinished_again(tree, users, register, survey, reached):
    entry = open_entry(users.surveyor, survey, register.t1)
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to=LedgerState.CLOSED)
    before = table(survey, tree.county)
    move(entry, "reopen", users.county, note="复核发现化粪池仍渗漏")
    assert moved(before, table(survey, tree.county)) == in_t1({29: -1, 30: -1, 33: 1})


# What counts nowhere --------------------------------------------------------------------


def test_a_withdrawn_entry_counts_nowhere(tree, users, register, survey, reached):
    before = table(survey, tree.county)
    entry = open_entry(users.surveyor, survey, register.t1)
    inspection = entry.opened_by_inspection
    inspection.usability = "normal"
    save_inspection(actor=users.surveyor, inspection=inspection, categories=[])
    entry.refresh_from_db()
    assert entry.state == LedgerState.WITHDRAWN
    assert moved(before, table(survey, tree.county)) == {}


def test_a_minor_fix_is_not_a_problem_toilet(tree, users, register, survey, reached):
    before = table(survey, tree.county)
    inspection = Inspection(
        round=survey,
        toilet=register.t1,
        usability="normal",
        minor_fixes="更换水龙头",
        check_method="on_site",
        partner_name="李四",
        inspected_at=timezone.now(),
        signed=True,
    )
    save_inspection(actor=users.surveyor, inspection=inspection, categories=[])
    assert moved(before, table(survey, tree.county)) == {}


def test_another_countys_data_is_never_counted(tree, users, register, survey):
    outsider_surveyor = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, tree.v4))
    other = SurveyRoundFactory(county=tree.county_b, name="2022年农村户厕问题摸排")
    before = table(survey, tree.county)
    entry = open_entry(outsider_surveyor, other, register.t4)
    PublicToiletFactory(village=tree.v4)
    assert moved(before, table(survey, tree.county)) == {}
    # Even read through county A's round, county B's rows hold only B's register.
    assert entry in round_entries(other, timezone.now())
    city = table(survey, tree.city)
    assert city["钦北区"] == {**dict.fromkeys(COLUMNS, 0), 1: 2, 2: 1, 3: 1}


def test_a_toilet_found_broken_again_after_close_out_counts_once(
    tree, users, register, survey, reached
):
    entry = open_entry(users.surveyor, survey, register.t1)
    drive(entry, township=users.township, surveyor=users.surveyor, to=LedgerState.CLOSED)
    before = table(survey, tree.county)
    # The same round's finding is corrected: broken again, so a second entry opens.
    inspection = entry.opened_by_inspection
    inspection.usability = "not_year_round"
    save_inspection(
        actor=users.surveyor,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code="frost")),
    )
    assert register.t1.ledger_entries.count() == 2
    after = table(survey, tree.county)
    assert moved(before, after) == in_t1({10: -1, 11: 1, 14: -1, 16: 1, 29: -1, 30: -1, 33: 1})
    assert after[T1][6] == 1 and after[T1][4] >= after[T1][8]


def test_a_carried_toilet_found_broken_again_in_the_new_round_counts_once(
    tree, users, register, survey, reached
):
    entry = open_entry(users.surveyor, survey, register.t1)
    close_round(actor=users.county, survey_round=survey)
    look_back = open_round(
        actor=users.county,
        survey_round=SurveyRoundFactory(
            county=tree.county, name="回头看", kind="look_back", previous=survey, status="draft"
        ),
    )
    drive(entry, township=users.township, surveyor=users.surveyor, to=LedgerState.CLOSED)
    assert table(look_back, tree.county)[T1][29] == 1
    inspect(users.surveyor, look_back, register.t1, "unusable", ("water",))
    values = table(look_back, tree.county)[T1]
    assert (values[6], values[15], values[14], values[29], values[33]) == (1, 1, 0, 0, 1)
    assert build_summary(look_back, tree.county).violations == []
    # The first round's own table keeps the close-out.
    assert table(survey, tree.county)[T1][29] == 1


# Rounds and cut-off ---------------------------------------------------------------------


def test_entries_still_open_from_an_earlier_round_count_closed_ones_do_not(
    tree, users, register, survey, reached
):
    keep_open = ToiletFactory(household=register.h1)
    close_before = ToiletFactory(household=register.h1, funding=Funding.SELF_BUILT)
    close_after = PublicToiletFactory(village=tree.v1)
    withdrawn = ToiletFactory(household=register.h1)
    for toilet in (keep_open, close_before, close_after, withdrawn):
        open_entry(users.surveyor, survey, toilet)
    drive(
        close_before.ledger_entries.get(),
        township=users.township,
        surveyor=users.surveyor,
        to=LedgerState.CLOSED,
    )
    late = drive(
        close_after.ledger_entries.get(),
        township=users.township,
        surveyor=users.surveyor,
        to=LedgerState.ACCEPTED,
    )
    correction = withdrawn.ledger_entries.get().opened_by_inspection
    correction.usability = "normal"
    save_inspection(actor=users.surveyor, inspection=correction, categories=[])

    close_round(actor=users.county, survey_round=survey)
    look_back = SurveyRoundFactory(
        county=tree.county, name="2023年回头看", kind="look_back", previous=survey, status="draft"
    )
    look_back = open_round(actor=users.county, survey_round=look_back)
    carried = table(look_back, tree.county)[T1]
    # keep_open (household, gov) and close_after (public) were open when the round opened.
    assert (carried[5], carried[6], carried[7], carried[8], carried[9], carried[33]) == (
        0,
        1,
        1,
        0,
        1,
        2,
    )

    move(late, "close", users.township, consent=consent())
    finished = table(look_back, tree.county)[T1]
    assert (finished[9], finished[32], finished[33]) == (1, 1, 1)

    # A re-check in the new round updates the carried entry rather than adding one.
    open_entry_again = inspect(users.surveyor, look_back, keep_open, "not_year_round", ("water",))
    assert open_entry_again.toilet.ledger_entries.count() == 1
    rechecked = table(look_back, tree.county)[T1]
    assert (rechecked[5], rechecked[6], rechecked[10], rechecked[11], rechecked[15]) == (
        1,
        1,
        1,
        1,
        1,
    )
    # The earlier round's own table still counts all three that were found in it.
    assert table(survey, tree.county)[T1][6] + table(survey, tree.county)[T1][9] == 3


def test_the_cutoff_is_respected(tree, users, register, survey, reached):
    opened = open_entry(users.surveyor, survey, register.t1)
    closes_late = open_entry(users.surveyor, survey, PublicToiletFactory(village=tree.v1))
    closes_late = drive(
        closes_late, township=users.township, surveyor=users.surveyor, to=LedgerState.ACCEPTED
    )
    cutoff = timezone.now()
    move(closes_late, "close", users.township, consent=consent())
    ToiletFactory(household=HouseholdFactory(village=tree.v2))  # registered after the cut-off
    inspect(users.surveyor_v2, survey, ToiletFactory(household=HouseholdFactory(village=tree.v2)))
    open_entry(users.surveyor, survey, ToiletFactory(household=register.h1))

    at_cutoff = table(survey, tree.county, cutoff=cutoff)[T1]
    assert at_cutoff[1] == 3  # t1 + the public toilet + the toilets of opened entries
    assert (at_cutoff[5], at_cutoff[6], at_cutoff[9], at_cutoff[32], at_cutoff[33]) == (
        1,
        1,
        1,
        0,
        2,
    )
    now = table(survey, tree.county)[T1]
    assert (now[1], now[5], now[6], now[9], now[32], now[33]) == (6, 2, 2, 1, 1, 2)
    assert opened.created_at <= cutoff


def test_a_cutoff_before_the_round_shows_only_the_register(tree, users, register, survey, reached):
    open_entry(users.surveyor, survey, register.t1)
    early = timezone.now() - datetime.timedelta(days=400)
    values = table(survey, tree.county, cutoff=early)
    assert all(n == 0 for row in values.values() for n in row.values())


# Rows -----------------------------------------------------------------------------------


def test_it_has_one_row_per_township_in_code_order_and_a_total(
    tree, users, register, survey, reached, surveyor_v3
):
    open_entry(users.surveyor, survey, register.t1)
    open_entry(surveyor_v3, survey, register.t3, usability="not_year_round", cats=("room",))
    summary = build_summary(survey, tree.county)
    assert [(row.code, row.name) for row in summary.rows] == [
        ("450702100000", T1),
        ("450702101000", T2),
    ]
    for column in COLUMNS:
        assert summary.total[column] == sum(row.values[column] for row in summary.rows)
    assert summary.rows[1].values[11] == 1 and summary.rows[1].values[12] == 1
    assert summary.violations == []
    assert summary.errors == []
    data = summary.as_dict()
    assert data["rows"][0]["values"]["6"] == 1
    assert list(data["total"]) == [str(c) for c in COLUMNS]


def test_a_township_table_has_a_row_per_village(tree, users, register, survey, reached):
    open_entry(users.surveyor, survey, register.t1)
    summary = build_summary(survey, tree.t1)
    assert [row.name for row in summary.rows] == ["沙埠村", "东风村"]
    assert summary.rows[0].values[6] == 1 and summary.rows[1].values[1] == 0


def test_a_city_table_has_a_row_per_county(tree, users, register, survey, reached):
    open_entry(users.surveyor, survey, register.t1)
    summary = build_summary(survey, tree.city)
    assert [row.name for row in summary.rows] == ["钦南区", "钦北区"]
    assert summary.rows[0].values[6] == 1 and summary.rows[0].values[1] == 3
    assert summary.violations == []


# Data errors ----------------------------------------------------------------------------


def test_a_problem_toilet_outside_every_bucket_is_listed_not_dropped(
    tree, users, register, survey, reached
):
    new = ToiletFactory(household=register.h1, build_year=2023)
    entry = open_entry(users.surveyor, survey, new)
    summary = build_summary(survey, tree.county)
    [error] = summary.errors
    assert "沙埠村 王建国（2023 年建）" in error.message
    assert "建造年份不在本轮模板的任何年份区间内" in error.message
    assert error.url == reverse("rectification:entry", args=[entry.pk])
    # It is still in 6 (not dropped); the year columns can't hold it, and the rule says so.
    assert summary.rows[0].values[6] == 1
    assert {v.rule for v in summary.violations} == {"6+9=22+23+24+25+26+27+28"}


def raw_entry(survey_round, toilet, usability="unusable", cats=()):
    """An entry written straight to the database, past the services' checks."""
    inspection = InspectionFactory(round=survey_round, toilet=toilet, usability=usability)
    entry = LedgerEntry.objects.create(
        toilet=toilet,
        found_in=survey_round,
        opened_by_inspection=inspection,
        last_inspection=inspection,
        usability=usability,
    )
    entry.categories.set(ProblemCategory.objects.filter(code__in=cats))
    return entry


def test_an_entry_without_a_category_is_listed(tree, register, survey, reached):
    entry = raw_entry(survey, register.t1)
    summary = build_summary(survey, tree.county)
    [error] = summary.errors
    assert error.message == "沙埠村 王建国（2018 年建）：没有问题类型"
    assert error.url == reverse("rectification:entry", args=[entry.pk])
    assert summary.rows[0].values[6] == 1
    assert [v.rule for v in summary.violations if v.row == T1] == ["6+9≤12+13+14+15+16+17+18+19"]


def test_an_entry_with_a_usable_finding_is_listed(tree, register, survey, reached):
    raw_entry(survey, register.t1, usability="normal", cats=("tank",))
    [error] = build_summary(survey, tree.county).errors
    assert "使用情况不是" in error.message


def test_a_toilet_without_a_technical_type_is_listed(tree, register, survey, reached):
    toilet = PublicToiletFactory(village=tree.v1, name="村委公厕", build_year=2030)
    raw_entry(survey, toilet, cats=("tank",))
    type(toilet).objects.filter(pk=toilet.pk).update(tech_type="")
    [error] = build_summary(survey, tree.county).errors
    assert error.message.startswith("沙埠村 村委公厕（2030 年建）：")
    assert "建造年份不在" in error.message and "没有技术模式" in error.message


def test_many_data_errors_are_counted_past_the_list(tree, register, survey, reached, monkeypatch):
    monkeypatch.setattr("reports.build.DATA_ERROR_LIMIT", 2)
    for _ in range(4):
        raw_entry(survey, ToiletFactory(household=register.h1))
    errors = build_summary(survey, tree.county).errors
    assert len(errors) == 3
    assert errors[-1].message.startswith("另有 2 个问题厕所")


def test_a_template_with_more_buckets_than_columns_is_an_error(tree, register, survey):
    template = ReportTemplate.objects.create(
        name="细分模板",
        year_buckets=[{"label": str(y), "from": y, "to": y} for y in range(2013, 2021)],
    )
    SurveyRound.objects.filter(pk=survey.pk).update(template=template)
    survey.refresh_from_db()
    errors = build_summary(survey, tree.county).errors
    assert "有 8 个建造年份分段" in errors[0].message


def test_clean_data_builds_without_errors_or_violations(tree, users, register, survey, reached):
    open_entry(users.surveyor, survey, register.t1, cats=("tank", "water"))
    summary = build_summary(survey, tree.county)
    assert summary.errors == [] and summary.violations == []


# Queries and scoping --------------------------------------------------------------------


def populate(tree, users, survey, n):
    """``n`` toilets in V1, a third of them problem ones at different steps, some closed."""
    household = HouseholdFactory(village=tree.v1)
    states = [LedgerState.REGISTERED, LedgerState.CLOSED, LedgerState.PLANNED]
    for i in range(n):
        toilet = ToiletFactory(household=household, build_year=2013 + i % 9)
        if i % 3 == 0:
            entry = open_entry(users.surveyor, survey, toilet, cats=("tank", "room")[: 1 + i % 2])
            target = states[(i // 3) % len(states)]
            if target == LedgerState.CLOSED:
                drive(entry, township=users.township, surveyor=users.surveyor, to=target)
        else:
            inspect(users.surveyor, survey, toilet)


@pytest.mark.parametrize("n", [3, 30])
def test_the_build_runs_a_pinned_number_of_queries(tree, users, survey, n):
    populate(tree, users, survey, n)
    survey_round = SurveyRound.objects.get(pk=survey.pk)  # nothing preloaded
    with CaptureQueriesContext(connection) as queries:
        summary = build_summary(survey_round, tree.county)
    assert len(queries) == BUILD_QUERIES, "\n".join(q["sql"] for q in queries.captured_queries)
    assert summary.total[1] == n and summary.total[6] == len(range(0, n, 3))
    assert summary.violations == [] and summary.errors == []


def test_a_users_build_reads_only_its_own_subtree(
    tree, users, register, survey, reached, surveyor_v3
):
    open_entry(users.surveyor, survey, register.t1)
    open_entry(surveyor_v3, survey, register.t3, usability="not_year_round")
    everything = build_summary(survey, tree.county)
    mine = build_summary(survey, tree.county, user=users.township)
    assert mine.rows[0].values == everything.rows[0].values
    assert mine.rows[1].values == dict.fromkeys(COLUMNS, 0)
    assert mine.total == mine.rows[0].values
    with CaptureQueriesContext(connection) as queries:
        build_summary(survey, tree.county, user=users.township)
    data_queries = [
        q["sql"]
        for q in queries.captured_queries
        if "toilets_toilet" in q["sql"] or "rectification_ledgerentry" in q["sql"]
    ]
    assert data_queries and all("450702100" in sql for sql in data_queries)

    county = build_summary(survey, tree.county, user=users.county)
    assert [row.values for row in county.rows] == [row.values for row in everything.rows]
    nothing = build_summary(survey, tree.county, user=users.outsider)
    assert all(n == 0 for n in nothing.total.values())

"""Properties of the summary table (issue 5, Quality):

(a) whatever state the ledger is in, the built table satisfies every rule and has no data
    errors, and its problem and close-out counts match the ledger;
(b) any single-cell change to a valid sheet is caught by the engine: a data row's cell by the
    合计 check (whatever the column, even 5, which takes part in no rule), a 合计 cell by the
    same check; a negative number as a cell error.
"""

import io
import os

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from rectification.choices import LedgerState
from regions.choices import Role
from reports.build import TOTAL_LABEL, build_summary
from reports.columns import COLUMNS
from reports.rules import RULES, TOTAL_RULE, check_row, check_table
from reports.sheet import read_summary, summary_workbook_bytes
from surveys.models import Inspection, ProblemCategory
from surveys.services import close_round, open_round, save_inspection
from tests.factories import (
    HouseholdFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)
from tests.ledger import consent, drive, move, open_entry
from toilets.choices import TECH_TYPE_FLUSH, FlushKind, Funding, ToiletStatus
from toilets.services import save_toilet

pytestmark = pytest.mark.django_db

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
# More examples for a longer search: REPORTS_EXAMPLES=500 pytest tests/reports/test_properties.py
SCALE = max(1, int(os.environ.get("REPORTS_EXAMPLES", "25")) // 25)
CATEGORY_CODES = ["room", "fixture", "tank", "water", "frost", "waste", "maintenance", "other"]
# Technical type and the flush/dry values it may be recorded with.
TYPES = [
    (tech, kind)
    for tech, (default, fixed) in TECH_TYPE_FLUSH.items()
    for kind in ([default] if fixed else FlushKind.values)
]
STATES = [
    LedgerState.REGISTERED,
    LedgerState.PLANNED,
    LedgerState.IN_PROGRESS,
    LedgerState.RECTIFIED,
    LedgerState.ACCEPTED,
    LedgerState.CLOSED,
    LedgerState.WITHDRAWN,
    "reopened",
]


class Rollback(Exception):
    """Raised at the end of an example to undo everything it wrote."""


# (a) Any ledger state --------------------------------------------------------------------

finding = st.one_of(
    st.none(),
    st.just(("normal", frozenset())),
    st.tuples(
        st.sampled_from(["unusable", "not_year_round"]),
        st.frozensets(st.sampled_from(CATEGORY_CODES), min_size=1, max_size=4),
    ),
)
toilet_plan = st.fixed_dictionaries(
    {
        "village": st.sampled_from(["v1", "v2", "v3"]),
        "public": st.booleans(),
        "funding": st.sampled_from(Funding.values),
        "year": st.integers(1995, 2021),  # within the 2022 template's buckets
        "type": st.sampled_from(TYPES),
        "finding": finding,
        "state": st.sampled_from(STATES),
        "recheck": finding,  # a corrected finding later in the same round
        "demolish": st.booleans(),
        "next_round": finding,  # the finding of a 回头看 round, if there is one
    }
)
county_plan = st.fixed_dictionaries(
    {
        "toilets": st.lists(toilet_plan, min_size=1, max_size=5),
        "second_round": st.booleans(),
        "cutoff_after": st.integers(0, 4),
    }
)


@pytest.fixture
def staff(tree, users):
    """Who works where: the surveyor of each village, the township of each village."""
    surveyor_v3 = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    return {
        "v1": (tree.v1, users.surveyor, users.township),
        "v2": (tree.v2, users.surveyor_v2, users.township),
        "v3": (tree.v3, surveyor_v3, users.township_t2),
    }


def inspect(surveyor, survey_round, toilet, found, inspection=None):
    usability, codes = found
    inspection = inspection or Inspection(
        round=survey_round,
        toilet=toilet,
        check_method="on_site",
        partner_name="李四",
        inspected_at=timezone.now(),
        signed=True,
    )
    inspection.usability = usability
    return save_inspection(
        actor=surveyor,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code__in=codes)),
    )


def make_toilet(village, plan):
    tech, flush = plan["type"]
    fields = {"funding": plan["funding"], "build_year": plan["year"], "tech_type": tech}
    if plan["public"]:
        return PublicToiletFactory(village=village, flush_kind=flush, **fields)
    return ToiletFactory(household=HouseholdFactory(village=village), flush_kind=flush, **fields)


def play(plan, survey_round, village, surveyor, township):
    """Register one toilet, inspect it, drive its entry; returns the toilet."""
    toilet = make_toilet(village, plan)
    if plan["finding"] is None:
        return toilet
    inspection = inspect(surveyor, survey_round, toilet, plan["finding"])
    entry = toilet.ledger_entries.first()
    if entry is not None:
        state = plan["state"]
        if state == LedgerState.WITHDRAWN:
            inspection = inspect(surveyor, survey_round, toilet, ("normal", ()), inspection)
        elif state == "reopened":
            entry = drive(entry, township=township, surveyor=surveyor, to=LedgerState.CLOSED)
            move(entry, "reopen", reviewer(), note="复核发现问题未解决")
        else:
            drive(entry, township=township, surveyor=surveyor, to=state)
    if plan["recheck"] is not None:
        inspect(surveyor, survey_round, toilet, plan["recheck"], inspection)
    return toilet


def reviewer():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="county")


def expected_counts(toilets, survey_round):
    """From the ledger itself: the round's problem toilets (each counted once, by its latest
    entry found in the round) and how many of them are closed out."""
    problem = closed = 0
    for toilet in toilets:
        toilet.refresh_from_db()
        if toilet.status != ToiletStatus.ACTIVE:
            continue
        latest = (
            toilet.ledger_entries.filter(found_in=survey_round)
            .exclude(state=LedgerState.WITHDRAWN)
            .order_by("-pk")
            .first()
        )
        if latest is not None:
            problem += 1
            closed += latest.state == LedgerState.CLOSED
    return problem, closed


@settings(max_examples=25 * SCALE, deadline=None, suppress_health_check=FIXTURES, database=None)
@given(plan=county_plan)
def test_any_ledger_state_yields_a_table_that_satisfies_every_rule(tree, users, staff, plan):
    try:
        with transaction.atomic():
            check_county(tree, users, staff, plan)
            raise Rollback
    except Rollback:
        pass


def check_county(tree, users, staff, plan):
    survey_round = open_round(
        actor=users.county,
        survey_round=SurveyRoundFactory(county=tree.county, name="2022年摸排", status="draft"),
    )
    toilets, moments = [], []
    for toilet_plan_ in plan["toilets"]:
        village, surveyor, township = staff[toilet_plan_["village"]]
        toilets.append(play(toilet_plan_, survey_round, village, surveyor, township))
        moments.append(timezone.now())
    for toilet, toilet_plan_ in zip(toilets, plan["toilets"], strict=True):
        if toilet_plan_["demolish"] and not toilet_plan_["next_round"]:
            toilet.status = ToiletStatus.DEMOLISHED
            save_toilet(actor=staff[toilet_plan_["village"]][1], toilet=toilet)

    summary = build_summary(survey_round, tree.county)
    assert summary.violations == []
    assert summary.errors == []
    problem, closed = expected_counts(toilets, survey_round)
    assert summary.total[6] + summary.total[9] == problem
    assert summary.total[29] + summary.total[32] == closed
    assert summary.total[1] == sum(t.status == ToiletStatus.ACTIVE for t in toilets)

    cutoff = moments[min(plan["cutoff_after"], len(moments) - 1)]
    earlier = build_summary(survey_round, tree.county, cutoff=cutoff)
    assert earlier.violations == [] and earlier.errors == []

    if plan["second_round"]:
        close_round(actor=users.county, survey_round=survey_round)
        look_back = open_round(
            actor=users.county,
            survey_round=SurveyRoundFactory(
                county=tree.county,
                name="2023年回头看",
                kind="look_back",
                previous=survey_round,
                status="draft",
            ),
        )
        for toilet, toilet_plan_ in zip(toilets, plan["toilets"], strict=True):
            if toilet_plan_["next_round"] is not None and toilet.status == ToiletStatus.ACTIVE:
                surveyor = staff[toilet_plan_["village"]][1]
                inspect(surveyor, look_back, toilet, toilet_plan_["next_round"])
        carried = build_summary(look_back, tree.county)
        assert carried.violations == [] and carried.errors == []
        still_open = sum(
            t.ledger_entries.filter(found_in=survey_round)
            .exclude(state__in=[LedgerState.WITHDRAWN, LedgerState.CLOSED])
            .count()
            for t in toilets
            if t.status == ToiletStatus.ACTIVE
        )
        assert carried.total[6] + carried.total[9] >= still_open


def test_a_closed_entry_drives_with_a_real_consent(tree, users, staff):
    """The helpers the property uses do what they say (one concrete example)."""
    survey_round = SurveyRoundFactory(county=tree.county)
    entry = open_entry(users.surveyor, survey_round, ToiletFactory(household=HouseholdFactory()))
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="accepted")
    entry = move(entry, "close", users.township, consent=consent())
    assert entry.state == LedgerState.CLOSED
    summary = build_summary(survey_round, tree.county)
    assert summary.total[29] == 1 and summary.violations == []


# (b) Any single-cell change ---------------------------------------------------------------

problem_toilet = st.fixed_dictionaries(
    {
        "public": st.booleans(),
        "government": st.booleans(),
        "usability": st.sampled_from([10, 11]),
        "categories": st.frozensets(st.integers(12, 19), min_size=1),
        "type": st.sampled_from([20, 21]),
        "bucket": st.integers(22, 28),
        "closed": st.booleans(),
    }
)
township_row = st.fixed_dictionaries(
    {
        "government": st.integers(0, 30),
        "other": st.integers(0, 30),
        "public": st.integers(0, 5),
        "villages": st.integers(0, 12),
        "problems": st.lists(problem_toilet, max_size=8),
    }
)


def row_values(row) -> dict[int, int]:
    """The 33 numbers of a township whose toilets are as described: valid by construction."""
    v = dict.fromkeys(COLUMNS, 0)
    v[3], v[4], v[2], v[5] = row["government"], row["other"], row["public"], row["villages"]
    for problem in row["problems"]:
        if problem["public"]:
            v[2] += 1
            v[9] += 1
            v[32] += problem["closed"]
        else:
            register, found, done = (3, 7, 30) if problem["government"] else (4, 8, 31)
            v[register] += 1
            v[6] += 1
            v[found] += 1
            v[29] += problem["closed"]
            v[done] += problem["closed"]
        for column in [problem["usability"], problem["type"], problem["bucket"]]:
            v[column] += 1
        for column in problem["categories"]:
            v[column] += 1
    v[1] = v[2] + v[3] + v[4]
    v[33] = v[6] + v[9] - v[29] - v[32]
    return v


tables = st.lists(township_row, min_size=1, max_size=4).map(
    lambda rows: [(f"第{i + 1}乡镇", row_values(row)) for i, row in enumerate(rows)]
)


def non_zero(down_to: int):
    """A change of a cell: up to +50, or down to ``down_to`` (never 0)."""
    up = st.integers(1, 50)
    return st.one_of(up, st.integers(down_to, -1)) if down_to < 0 else up


def with_total(rows):
    return rows, (TOTAL_LABEL, {c: sum(v[c] for _, v in rows) for c in COLUMNS})


@settings(max_examples=300 * SCALE, deadline=None, database=None)
@given(rows=tables)
def test_a_table_made_from_toilets_satisfies_every_rule(rows):
    assert check_table(*with_total(rows)) == []


@settings(max_examples=300 * SCALE, deadline=None, database=None)
@given(rows=tables, data=st.data())
def test_any_single_change_to_a_valid_table_is_caught(rows, data):
    rows, total = with_total(rows)
    where = data.draw(st.integers(0, len(rows)), label="row (the last is 合计)")
    column = data.draw(st.sampled_from(COLUMNS), label="column")
    label, values = total if where == len(rows) else rows[where]
    delta = data.draw(non_zero(down_to=-values[column]), label="delta")
    changed = {**values, column: values[column] + delta}
    if where == len(rows):
        total = (label, changed)
    else:
        rows = [*rows[:where], (label, changed), *rows[where + 1 :]]
    caught = {(v.row, v.rule) for v in check_table(rows, total)}
    assert (TOTAL_LABEL, f"{TOTAL_RULE}（第{column}列）") in caught


@settings(max_examples=40 * SCALE, deadline=None, suppress_health_check=FIXTURES, database=None)
@given(rows=tables, data=st.data())
def test_any_single_cell_change_to_a_valid_sheet_is_caught(rows, data):
    rows, (_, total) = with_total(rows)
    sheet = summary_workbook_bytes(
        title="钦南区农村厕所问题摸排整改情况汇总表",
        unit="钦南区",
        row_label="乡镇",
        rows=rows,
        total=total,
    )
    assert read_summary(sheet).violations == []
    where = data.draw(st.integers(0, len(rows)), label="row (the last is 合计)")
    column = data.draw(st.sampled_from(COLUMNS), label="column")
    values = total if where == len(rows) else rows[where][1]
    delta = data.draw(non_zero(down_to=-values[column] - 5), label="delta")
    ref = f"{get_column_letter(column + 1)}{7 + where}"
    workbook = load_workbook(io.BytesIO(sheet))
    workbook.active[ref] = values[column] + delta
    buffer = io.BytesIO()
    workbook.save(buffer)

    parsed = read_summary(buffer.getvalue())
    if values[column] + delta < 0:
        assert [e.cell for e in parsed.errors] == [ref]
    else:
        assert parsed.errors == []
        assert any(v.rule == f"{TOTAL_RULE}（第{column}列）" for v in parsed.violations)


def test_only_the_total_check_sees_some_columns():
    """Why the 合计 check matters: on a row alone, the rules miss a change to column 5 (in no
    rule) and a rise in 12–19 (only in a ≤ rule). Every other single change breaks a rule."""
    base = row_values(
        {
            "government": 3,
            "other": 2,
            "public": 1,
            "villages": 2,
            "problems": [
                {
                    "public": False,
                    "government": True,
                    "usability": 10,
                    "categories": frozenset({14}),
                    "type": 20,
                    "bucket": 25,
                    "closed": True,
                },
                {
                    "public": True,
                    "government": False,
                    "usability": 11,
                    "categories": frozenset({12, 19}),
                    "type": 21,
                    "bucket": 22,
                    "closed": False,
                },
            ],
        }
    )
    assert check_row("乡镇", base, RULES) == []
    unseen = {c for c in COLUMNS if not check_row("乡镇", {**base, c: base[c] + 1}, RULES)}
    assert unseen == {5, *range(12, 20)}

"""Village rollups (issue 16): the table read through them equals the full build, after any
sequence of writes, whatever wrote them; only the villages that changed are recomputed; the
check command finds a rollup that drifted."""

import datetime
import os
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from rectification.choices import LedgerState
from regions.choices import Role
from reports.build import build_summary
from reports.models import VillageRollup, VillageVersion
from reports.rollups import current_summary
from surveys.models import Inspection
from surveys.services import close_round, open_round
from tests.factories import (
    HouseholdFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)
from tests.ledger import drive, move
from tests.reports.test_properties import (
    CATEGORY_CODES,
    FIXTURES,
    SCALE,
    TYPES,
    Rollback,
    inspect,
    make_toilet,
    reviewer,
)
from toilets.choices import Funding, ToiletKind, ToiletStatus
from toilets.models import Household, Toilet
from toilets.services import save_toilet

pytestmark = pytest.mark.django_db


def assert_same(survey_round, region, user):
    """The table read through the rollups is the full build at the same cut-off."""
    read = current_summary(survey_round, region, user=user)
    built = build_summary(survey_round, region, read.cutoff, user=user)
    assert [(r.code, r.values) for r in read.rows] == [(r.code, r.values) for r in built.rows]
    assert read.total == built.total
    assert [e.message for e in read.errors] == [e.message for e in built.errors]
    return read


@pytest.fixture
def staff(tree, users):
    """Who works where: the surveyor of each village, the township of each village."""
    surveyor_v3 = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    return {
        "v1": (tree.v1, users.surveyor, users.township),
        "v2": (tree.v2, users.surveyor_v2, users.township),
        "v3": (tree.v3, surveyor_v3, users.township_t2),
    }


# Random sequences of writes --------------------------------------------------------------

finding = st.one_of(
    st.just(("normal", frozenset())),
    st.tuples(
        st.sampled_from(["unusable", "not_year_round"]),
        st.frozensets(st.sampled_from(CATEGORY_CODES), min_size=1, max_size=3),
    ),
)
toilet_plan = st.fixed_dictionaries(
    {
        "village": st.sampled_from(["v1", "v2", "v3"]),
        "public": st.booleans(),
        "funding": st.sampled_from(Funding.values),
        "year": st.integers(1995, 2021),
        "type": st.sampled_from(TYPES),
    }
)
step = st.one_of(
    st.tuples(st.just("register"), toilet_plan),
    st.tuples(st.just("inspect"), st.integers(0, 20), finding),
    st.tuples(
        st.just("drive"),
        st.integers(0, 20),
        st.sampled_from(
            [LedgerState.PLANNED, LedgerState.IN_PROGRESS, LedgerState.CLOSED, "reopened"]
        ),
    ),
    st.tuples(st.just("move"), st.integers(0, 20), st.sampled_from(["v1", "v2", "v3"])),
    st.tuples(st.just("demolish"), st.integers(0, 20)),
    st.tuples(st.just("import"), st.lists(toilet_plan, min_size=1, max_size=3)),
    st.tuples(st.just("edit"), st.integers(0, 20), st.integers(1995, 2021)),
    st.tuples(st.just("next_round")),
)


@settings(max_examples=20 * SCALE, deadline=None, suppress_health_check=FIXTURES, database=None)
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_the_rollups_equal_the_full_build_after_any_sequence_of_writes(tree, users, staff, steps):
    try:
        with transaction.atomic():
            play(tree, users, staff, steps)
            raise Rollback
    except Rollback:
        pass


def play(tree, users, staff, steps):
    rounds = [
        open_round(
            actor=users.county,
            survey_round=SurveyRoundFactory(county=tree.county, name="2022年摸排", status="draft"),
        )
    ]
    toilets = [make_toilet(tree.v1, {"funding": "government", "year": 2018, "type": TYPES[0],
                                     "public": False})]  # fmt: skip
    assert_same(rounds[-1], tree.county, users.county)
    for action, *args in steps:
        survey_round = rounds[-1]
        if action == "register":
            (plan,) = args
            toilets.append(make_toilet(staff[plan["village"]][0], plan))
        elif action == "inspect":
            toilet = toilets[args[0] % len(toilets)]
            toilet.refresh_from_db()
            if toilet.status != ToiletStatus.ACTIVE:
                continue
            surveyor = surveyor_of(staff, toilet)
            existing = Inspection.objects.filter(round=survey_round, toilet=toilet).first()
            inspect(surveyor, survey_round, toilet, args[1], existing)
        elif action == "drive":
            toilet = toilets[args[0] % len(toilets)]
            toilet.refresh_from_db()  # a "move" may have taken it to another township's staff
            entry = toilet.ledger_entries.exclude(
                state__in=[LedgerState.CLOSED, LedgerState.WITHDRAWN]
            ).first()
            if entry is None:
                continue
            surveyor, township = surveyor_of(staff, toilet), township_of(staff, toilet)
            if args[1] == "reopened":
                entry = drive(entry, township=township, surveyor=surveyor, to=LedgerState.CLOSED)
                move(entry, "reopen", reviewer(), note="复核发现问题未解决")
            else:
                drive(entry, township=township, surveyor=surveyor, to=args[1])
        elif action == "move":
            # A bulk statement (as the ledger import moves toilets): the triggers see it too.
            toilet = toilets[args[0] % len(toilets)]
            village = staff[args[1]][0]
            if toilet.household_id:
                Household.objects.filter(pk=toilet.household_id).update(village=village)
            Toilet.objects.filter(pk=toilet.pk).update(village=village)
        elif action == "demolish":
            toilet = toilets[args[0] % len(toilets)]
            toilet.refresh_from_db()
            toilet.status = ToiletStatus.DEMOLISHED
            save_toilet(actor=surveyor_of(staff, toilet), toilet=toilet)
        elif action == "import":
            (plans,) = args
            made = [bulk_toilet(staff[p["village"]][0], p) for p in plans]
            toilets += Toilet.objects.bulk_create(made)
        elif action == "edit":
            toilet = toilets[args[0] % len(toilets)]
            Toilet.objects.filter(pk=toilet.pk).update(build_year=args[1])
        elif action == "next_round" and len(rounds) == 1:
            close_round(actor=users.county, survey_round=survey_round)
            rounds.append(
                open_round(
                    actor=users.county,
                    survey_round=SurveyRoundFactory(
                        county=tree.county,
                        name="2023年回头看",
                        kind="look_back",
                        previous=survey_round,
                        status="draft",
                    ),
                )
            )
        for each in rounds:
            assert_same(each, tree.county, users.county)
        assert_same(rounds[-1], tree.t1, users.township)
    call_command("check_rollups", stdout=open(os.devnull, "w"))


def bulk_toilet(village, plan):
    tech, flush = plan["type"]
    household = None if plan["public"] else HouseholdFactory(village=village)
    return Toilet(
        village=village,
        household=household,
        kind=ToiletKind.PUBLIC if plan["public"] else ToiletKind.HOUSEHOLD,
        name="公厕" if plan["public"] else "",
        tech_type=tech,
        flush_kind=flush,
        build_year=plan["year"],
        funding=plan["funding"],
        lead_department="agriculture",
    )


def surveyor_of(staff, toilet):
    return next(s for v, s, _ in staff.values() if v.pk == toilet.village_id)


def township_of(staff, toilet):
    return next(t for v, _, t in staff.values() if v.pk == toilet.village_id)


# Concrete behaviour ----------------------------------------------------------------------


@pytest.fixture
def county_round(tree, users):
    survey_round = open_round(
        actor=users.county,
        survey_round=SurveyRoundFactory(county=tree.county, name="2022年摸排", status="draft"),
    )
    for village in (tree.v1, tree.v2, tree.v3):
        ToiletFactory(household=HouseholdFactory(village=village))
        PublicToiletFactory(village=village)
    return survey_round


def computed(survey_round):
    return dict(
        VillageRollup.objects.filter(survey_round=survey_round).values_list(
            "village__code", "computed_at"
        )
    )


def test_a_write_marks_its_village_in_the_same_transaction(tree, users, county_round):
    before = VillageVersion.objects.get(village=tree.v1).version
    with pytest.raises(RuntimeError), transaction.atomic():
        ToiletFactory(household=HouseholdFactory(village=tree.v1))
        assert VillageVersion.objects.get(village=tree.v1).version > before
        raise RuntimeError("rolled back")
    assert VillageVersion.objects.get(village=tree.v1).version == before


def test_only_the_changed_villages_are_recomputed(tree, users, county_round):
    assert_same(county_round, tree.county, users.county)
    first = computed(county_round)
    assert tree.v1.code in first and tree.v3.code in first
    # Nothing changed: the read recomputes nothing, in a fixed number of queries.
    with CaptureQueriesContext(connection) as reads:
        assert_same_read = current_summary(county_round, tree.county, user=users.county)
    assert computed(county_round) == first
    assert assert_same_read.total[1] == 6
    # children, areas, versions, rollups (the user's scope: 1–2 more when not cached)
    assert len(reads) <= 7, [q["sql"] for q in reads]

    toilet = ToiletFactory(household=HouseholdFactory(village=tree.v3))
    inspect(staff_surveyor(tree), county_round, toilet, ("unusable", {"tank"}))
    read = assert_same(county_round, tree.county, users.county)
    assert read.total[1] == 7 and read.total[6] == 1
    second = computed(county_round)
    assert second[tree.v3.code] > first[tree.v3.code]
    assert second[tree.v1.code] == first[tree.v1.code]
    assert second[tree.v2.code] == first[tree.v2.code]


def staff_surveyor(tree):
    return UserFactory(username="surveyor_v3_rollups", role=(Role.SURVEYOR, tree.v3))


def test_a_toilet_moved_by_a_bulk_update_changes_both_villages(tree, users, county_round):
    assert_same(county_round, tree.county, users.county)
    toilet = Toilet.objects.filter(village=tree.v1, kind=ToiletKind.PUBLIC).get()
    Toilet.objects.filter(pk=toilet.pk).update(village=tree.v3)
    read = assert_same(county_round, tree.county, users.county)
    by_code = {row.code: row.values for row in read.rows}
    assert by_code[tree.t1.code][2] == 1 and by_code[tree.t2.code][2] == 2


def test_a_reopened_round_is_recomputed(tree, users, county_round):
    assert_same(county_round, tree.county, users.county)
    county_round.opened_at = timezone.now() + datetime.timedelta(seconds=1)
    county_round.save(update_fields=["opened_at"])
    before = computed(county_round)
    assert_same(county_round, tree.county, users.county)
    assert all(computed(county_round)[code] > at for code, at in before.items())


def test_a_record_dated_after_the_read_counts_once_its_time_comes(tree, users, county_round):
    toilet = Toilet.objects.filter(village=tree.v2, kind=ToiletKind.PUBLIC).get()
    surveyor = users.surveyor_v2
    inspection = inspect(surveyor, county_round, toilet, ("normal", ()))
    soon = timezone.now() + datetime.timedelta(seconds=1)
    Inspection.objects.filter(pk=inspection.pk).update(inspected_at=soon)
    first = assert_same(county_round, tree.county, users.county)
    assert first.total[5] == 0
    assert VillageRollup.objects.get(survey_round=county_round, village=tree.v2).valid_until == soon
    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.05)
    later = assert_same(county_round, tree.county, users.county)
    assert later.total[5] == 1


def test_a_region_outside_the_users_scope_is_the_scoped_full_build(tree, users, county_round):
    # The views refuse it; the read itself never widens a user's scope either.
    read = current_summary(county_round, tree.county, user=users.township)
    built = build_summary(county_round, tree.county, read.cutoff, user=users.township)
    assert read.total == built.total
    assert read.total[1] == 4  # township T1's two villages only
    assert not VillageRollup.objects.exists()


def test_check_rollups_finds_a_rollup_that_drifted(tree, users, county_round, capsys):
    assert_same(county_round, tree.county, users.county)
    call_command("check_rollups", "--round", str(county_round.pk))
    assert "一致" in capsys.readouterr().out
    rollup = VillageRollup.objects.get(survey_round=county_round, village=tree.v1)
    rollup.values["1"] += 1
    rollup.save(update_fields=["values"])  # changed behind the triggers' back
    with pytest.raises(CommandError):
        call_command("check_rollups", "--round", str(county_round.pk), "--region", "450702")
    out = capsys.readouterr().out
    assert f"{tree.v1.code}: column 1 stored 3, recomputed 2" in out
    assert f"{tree.t1.code} {tree.t1.name}: column 1 read 5, built 4" in out

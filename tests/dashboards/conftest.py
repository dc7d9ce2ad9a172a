"""A county with problem toilets at every step of the close-out (one closed out, one closed
and reopened, one public), made the real way, for the dashboard tests."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from rectification.choices import LedgerState
from regions.choices import Role
from surveys.models import Inspection, ProblemCategory
from surveys.services import open_round, save_inspection
from tests.factories import (
    HouseholdFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)
from tests.ledger import drive, move, open_entry, plan_data
from toilets.choices import Funding, TechType


@pytest.fixture
def survey(tree, users):
    survey_round = SurveyRoundFactory(
        county=tree.county, name="2022年农村户厕问题摸排", status="draft"
    )
    return open_round(actor=users.county, survey_round=survey_round)


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


@dataclass
class Ledger:
    closed: object
    reopened: object
    overdue: object
    public: object
    t2_entry: object


@pytest.fixture
def surveyor_v3(tree):
    return UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))


@pytest.fixture
def ledger(tree, users, register, survey, surveyor_v3):
    """In V1: a usable toilet, one closed out, one closed and reopened, one planned past its
    deadline, a public one accepted; in V3 (township T2) one registered problem; in V4
    (another county) one that no chart of county A may count."""
    h1 = register.h1
    inspect(users.surveyor, survey, ToiletFactory(household=h1, build_year=2015))
    closed = open_entry(users.surveyor, survey, register.t1, cats=("tank", "water"))
    closed = drive(closed, township=users.township, surveyor=users.surveyor, to=LedgerState.CLOSED)
    reopened = open_entry(
        users.surveyor,
        survey,
        ToiletFactory(household=h1, funding=Funding.SELF_BUILT, build_year=2010,
                      tech_type=TechType.DOUBLE_PIT, flush_kind="dry"),
        usability="not_year_round",
        cats=("frost",),
    )  # fmt: skip
    reopened = drive(
        reopened, township=users.township, surveyor=users.surveyor, to=LedgerState.CLOSED
    )
    reopened = move(reopened, "reopen", users.county, note="复核发现仍不能全年使用")
    late = open_entry(
        users.surveyor, survey, ToiletFactory(household=h1, build_year=2019), cats=("room",)
    )
    late = move(late, "plan", users.township, plan=plan_data())
    # The deadline passes (a plan can only be made with a future one).
    type(late).objects.filter(pk=late.pk).update(
        deadline=timezone.localdate() - datetime.timedelta(days=3)
    )
    public = open_entry(
        users.surveyor, survey, PublicToiletFactory(village=tree.v1, build_year=2021),
        cats=("maintenance",),
    )  # fmt: skip
    public = drive(public, township=users.township, surveyor=users.surveyor, to="accepted")
    t2_entry = open_entry(surveyor_v3, survey, register.t3, cats=("other", "tank"))
    outsider = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, tree.v4))
    other_round = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排", status="open")
    open_entry(outsider, other_round, register.t4)
    HouseholdFactory(village=tree.v2)  # a household without a toilet changes nothing
    return Ledger(closed, reopened, late, public, t2_entry)

import pytest

from regions.choices import Role
from surveys.services import open_round
from tests.factories import SurveyRoundFactory, UserFactory


@pytest.fixture
def survey(tree, users):
    survey_round = SurveyRoundFactory(
        county=tree.county, name="2022年农村户厕问题摸排", status="draft"
    )
    return open_round(actor=users.county, survey_round=survey_round)


@pytest.fixture
def surveyor_v3(tree):
    return UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))

import pytest

from regions.choices import Role
from surveys.services import open_round
from tests.config.test_redis_down import broker  # noqa: F401 (a fixture)
from tests.factories import SurveyRoundFactory, ToiletFactory, UserFactory, region
from tests.ledger import drive, open_entry


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
def world(tree, users, survey):
    """County A (钦南区) and county B (钦北区) of 钦州市 in their own rounds; 贵港市 with a county
    that has no round yet."""
    city2 = region("450800000000", "贵港市", tree.province)
    county_c = region("450802000000", "港北区", city2)
    survey_b = open_round(
        actor=UserFactory(username="county_b_admin", role=(Role.COUNTY, tree.county_b)),
        survey_round=SurveyRoundFactory(county=tree.county_b, name="钦北区摸排", status="draft"),
    )
    surveyor_v4 = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, tree.v4))
    closed = open_entry(users.surveyor, survey, ToiletFactory(household__village=tree.v1))
    drive(closed, township=users.township, surveyor=users.surveyor, to="closed")
    open_entry(users.surveyor, survey, ToiletFactory(household__village=tree.v1))
    ToiletFactory(household__village=tree.v2)
    ToiletFactory(household__village=tree.v3)
    open_entry(surveyor_v4, survey_b, ToiletFactory(household__village=tree.v4))
    ToiletFactory(household__village=tree.v4)
    return {
        "survey": survey,
        "survey_b": survey_b,
        "city2": city2,
        "county_c": county_c,
        "city": UserFactory(username="city", role=(Role.CITY, tree.city)),
        "province": UserFactory(username="province", role=(Role.PROVINCE, tree.province)),
        "city2_user": UserFactory(username="city2", role=(Role.CITY, city2)),
        "county_c_user": UserFactory(username="county_c", role=(Role.COUNTY, county_c)),
    }

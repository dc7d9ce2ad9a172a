"""The city's and the province's overview: one row per county (per city), the live 33 columns
of each county's current round through the rollups, equal to the full build; paged, bounded,
scoped."""

import pytest
from django.urls import reverse

from regions.choices import Role
from reports import chain
from reports.build import build_summary
from tests.factories import SurveyRoundFactory, ToiletFactory, UserFactory, region
from tests.ledger import drive, open_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree, users):
    city2 = region("450800000000", "贵港市", tree.province)
    region("450802000000", "港北区", city2)
    survey = SurveyRoundFactory(county=tree.county, name="2026年摸排")
    SurveyRoundFactory(county=tree.county_b, name="2026年钦北摸排")
    surveyor_v4 = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, tree.v4))
    closed = open_entry(users.surveyor, survey, ToiletFactory(household__village=tree.v1))
    drive(closed, township=users.township, surveyor=users.surveyor, to="closed")
    open_entry(users.surveyor, survey, ToiletFactory(household__village=tree.v1))
    ToiletFactory(household__village=tree.v2)
    survey_b = survey.__class__.objects.get(county=tree.county_b)
    open_entry(surveyor_v4, survey_b, ToiletFactory(household__village=tree.v4))
    return {
        "survey": survey,
        "survey_b": survey_b,
        "city": UserFactory(username="city", role=(Role.CITY, tree.city)),
        "province": UserFactory(username="province", role=(Role.PROVINCE, tree.province)),
        "city2": UserFactory(username="city2", role=(Role.CITY, city2)),
    }


def cells(body: str, code: str) -> str:
    start = body.index(f'data-unit="{code}"')
    return body[start : body.index("</tr>", start)]


def test_the_city_sees_each_county_as_the_full_build_counts_it(as_user, world, tree):
    page = as_user(world["city"]).get(reverse("reports:overview"))
    assert page.status_code == 200
    rows = {row.region.code: row for row in page.context["rows"]}
    assert set(rows) == {tree.county.code, tree.county_b.code}
    for county, survey in ((tree.county, world["survey"]), (tree.county_b, world["survey_b"])):
        assert rows[county.code].values == build_summary(survey, county).total
    a = rows[tree.county.code]
    assert (a.values[1], a.values[6], a.values[29]) == (3, 2, 1) and a.rate == "50.0%"
    assert "2026年摸排（进行中）" in cells(page.content.decode(), tree.county.code)


def test_the_province_sees_cities_summing_their_counties_and_drills_down(as_user, world, tree):
    client = as_user(world["province"])
    page = client.get(reverse("reports:overview"))
    rows = {row.region.name: row for row in page.context["rows"]}
    assert set(rows) == {"钦州市", "贵港市"}
    a = build_summary(world["survey"], tree.county).total
    b = build_summary(world["survey_b"], tree.county_b).total
    assert rows["钦州市"].values == {c: a[c] + b[c] for c in a}
    assert rows["贵港市"].values[1] == 0 and rows["贵港市"].rate == "—"
    drilled = client.get(reverse("reports:overview"), {"region": tree.city.code})
    assert {row.region.name for row in drilled.context["rows"]} == {"钦南区", "钦北区"}


def test_another_city_or_a_county_gets_nothing_of_the_city(as_user, world, tree, users):
    city2 = as_user(world["city2"])
    assert city2.get(reverse("reports:overview"), {"region": tree.city.code}).status_code == 404
    body = city2.get(reverse("reports:overview")).content.decode()
    assert "钦南区" not in body and "港北区" in body
    county = as_user(users.county)
    assert county.get(reverse("reports:overview")).status_code == 302
    assert county.get(reverse("reports:overview"), {"region": tree.city.code}).status_code == 404


def test_the_delivery_state_of_the_latest_collection_shows(as_user, world, tree):
    import datetime

    from tests.factories import default_template
    from tests.reports.test_chain import county_table

    collection = chain.create_collection(
        actor=world["city"], name="2026年全市汇总", template=default_template(),
        deadline=datetime.date(2026, 5, 10),
    )  # fmt: skip
    survey = world["survey"]
    survey.status = "closed"
    survey.save()
    table = county_table(tree.county, survey, world["city"], seed=0)
    user = UserFactory(username="county_a", role=(Role.COUNTY, tree.county))
    chain.deliver(actor=user, submission=table, collection=collection)
    body = as_user(world["city"]).get(reverse("reports:overview")).content.decode()
    assert "已上报" in cells(body, tree.county.code)
    assert "未上报" in cells(body, tree.county_b.code)


def test_the_overview_reads_a_bounded_number_of_queries(
    as_user, world, django_assert_max_num_queries
):
    client = as_user(world["province"])
    client.get(reverse("reports:overview"))  # the rollups computed once
    with django_assert_max_num_queries(20):
        assert client.get(reverse("reports:overview")).status_code == 200


def test_the_dashboard_above_the_county_points_to_the_overview(as_user, world, tree):
    body = as_user(world["city"]).get(reverse("dashboards:index")).content.decode()
    assert "data-above-county" in body and reverse("reports:overview") in body

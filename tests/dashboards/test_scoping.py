"""Who sees what: a township sees only its villages; another county's round, a region
outside the scope: 404 without naming it. The page, the JSON and the export alike."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from dashboards.charts import CHARTS
from tests.dashboards.test_numbers import by_label, data

pytestmark = pytest.mark.django_db


def test_a_township_sees_only_its_villages(tree, users, survey, ledger, as_user):
    client = as_user(users.township)
    for key in ("coverage", "categories", "years", "overdue"):
        assert [row["label"] for row in data(client, key)["rows"]] == ["沙埠村", "东风村"]
    page = client.get(reverse("dashboards:index"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "沙埠村" in text and "坪山村" not in text and "康熙岭镇" not in text
    # Its own numbers only: V3's problem toilet is T2's.
    assert data(client, "funnel")["total"] == [4]


def test_another_countys_round_is_a_404(tree, users, survey, ledger, as_user):
    from surveys.models import SurveyRound

    other = SurveyRound.objects.get(county=tree.county_b)
    client = as_user(users.county)
    for url in (
        reverse("dashboards:index"),
        reverse("dashboards:data", args=["coverage"]),
        reverse("dashboards:export", args=["coverage"]),
    ):
        response = client.get(url, {"round": other.pk})
        assert response.status_code == 404
        assert "钦北区" not in response.content.decode()


@pytest.mark.parametrize("where", ["t2", "county_b", "v3", "city"])
def test_a_region_outside_the_scope_is_a_404_that_names_nothing(
    tree, users, survey, ledger, as_user, where
):
    region = getattr(tree, where)
    client = as_user(users.township)
    for url in (
        reverse("dashboards:index"),
        reverse("dashboards:data", args=["map"]),
        reverse("dashboards:export", args=["funnel"]),
    ):
        response = client.get(url, {"round": survey.pk, "region": region.code})
        assert response.status_code == 404
        assert region.name not in response.content.decode()


def test_a_county_outside_the_rounds_county_is_a_404_for_a_city_inspector(
    tree, users, survey, ledger, as_user
):
    from regions.choices import Role
    from tests.factories import UserFactory

    city = UserFactory(username="city_inspector", role=(Role.INSPECTOR, tree.city))
    client = as_user(city)
    # The city itself (counties as rows) and the round's own county are fine …
    chart = data(client, "coverage", round=survey.pk, region=tree.city.code)
    assert [row["label"] for row in chart["rows"]] == ["钦南区", "钦北区"]
    # Only the round's own county opens a dashboard of its own from the city's table.
    assert [row["code"] for row in chart["rows"]] == [tree.county.code, ""]
    assert data(client, "coverage", round=survey.pk, region=tree.county.code)["rows"]
    # … another county under a round it does not own is not.
    response = client.get(
        reverse("dashboards:data", args=["coverage"]),
        {"round": survey.pk, "region": tree.county_b.code},
    )
    assert response.status_code == 404


def test_an_unknown_chart_and_a_bad_cutoff(users, survey, as_user):
    client = as_user(users.county)
    assert client.get(reverse("dashboards:data", args=["nope"])).status_code == 404
    assert (
        client.get(reverse("dashboards:data", args=["coverage"]), {"cutoff": "x"}).status_code
        == 400
    )
    assert client.get(reverse("dashboards:index"), {"round": "x"}).status_code == 400


def test_signed_out_goes_to_the_login(client, survey):
    response = client.get(reverse("dashboards:index"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_default_round_is_the_open_one(tree, users, survey, ledger, as_user):
    from tests.factories import SurveyRoundFactory

    SurveyRoundFactory(county=tree.county, name="2021年摸排", status="closed")
    chart = data(as_user(users.county), "coverage")
    assert chart["round"]["id"] == survey.pk


def test_no_round_yet(tree, users, as_user):
    page = as_user(users.county).get(reverse("dashboards:index"))
    assert page.status_code == 200 and "还没有可查看的摸排轮次" in page.content.decode()
    assert (
        as_user(users.county).get(reverse("dashboards:data", args=["coverage"])).status_code == 404
    )


def test_the_map_names_households_only_for_roles_that_see_identities(
    tree, users, survey, ledger, as_user
):
    from toilets.models import Toilet

    Toilet.objects.filter(village=tree.v1).update(latitude=21.95, longitude=108.62)
    Toilet.objects.filter(village=tree.v3).update(latitude=21.90, longitude=108.70)
    with_names = data(as_user(users.township), "map")
    assert "王建国" in {p["label"] for p in with_names["extra"]["points"]}
    for user in (users.inspector, users.county):
        chart = data(as_user(user), "map")
        assert chart["extra"]["points"], "the points are there, without names"
        assert {p["label"] for p in chart["extra"]["points"]} <= {"户厕", "公厕"}
        assert "王建国" not in str(chart) and "李秀英" not in str(chart)
        assert {v["name"] for v in chart["extra"]["villages"]} == {"沙埠村", "坪山村"}
    page = as_user(users.inspector).get(reverse("dashboards:index")).content.decode()
    assert "王建国" not in page


@pytest.mark.parametrize("key", list(CHARTS))
def test_each_export_holds_the_charts_table(users, survey, ledger, as_user, key):
    client = as_user(users.county)
    chart = data(client, key, round=survey.pk)
    response = client.get(reverse("dashboards:export", args=[key]), {"round": survey.pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == [chart["row_header"], *chart["columns"]]
    for i, row in enumerate(chart["rows"], start=1):
        assert rows[i][0] == row["label"]
        assert [v if v is not None else "" for v in rows[i][1:]] == row["values"]
    if chart["total"] is not None:
        assert rows[len(chart["rows"]) + 1][0] == "合计"


def test_the_page_prints_every_table(users, survey, ledger, as_user):
    page = as_user(users.county).get(reverse("dashboards:index")).content.decode()
    for key in CHARTS:
        assert f'id="chart-{key}"' in page
    assert page.count('<details class="dash-table">') == len(CHARTS)
    # The table under the funnel holds its numbers.
    funnel = by_label(data(as_user(users.county), "funnel"))
    assert f"<td>{funnel['已销号'][0]}</td>" in page

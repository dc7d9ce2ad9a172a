"""Each data endpoint runs a pinned number of queries, whatever the number of rows."""

import pytest
from django.urls import reverse

from dashboards.charts import CHARTS
from tests.dashboards.conftest import inspect
from tests.factories import PublicToiletFactory, ToiletFactory
from tests.ledger import drive, open_entry

pytestmark = pytest.mark.django_db

# The request's own: session, user, role assignment; the frame: the round, the rows (child
# regions). Then the chart's grouped queries.
REQUEST = 5
CHART_QUERIES = {
    "coverage": 4,  # the villages' rows; registered; inspected and verified; those of toilets not counted
    "categories": 1,
    "techniques": 1,
    "years": 1,
    "funnel": 1,
    "trend": 2,  # the snapshots; none there, the logs replayed
    "overdue": 1,
    "activity": 2,  # the counts per surveyor; their names
    "flags": 1,
    "map": 2,  # villages' counts and positions; the positioned problem toilets (if few)
}


def more(tree, users, survey, register, n):
    for i in range(n):
        toilet = ToiletFactory(household=register.h1, latitude=21.9 + i / 1000, longitude=108.6)
        if i % 2:
            entry = open_entry(users.surveyor, survey, toilet, cats=("tank", "room")[: 1 + i % 2])
            if i % 3 == 0:
                drive(entry, township=users.township, surveyor=users.surveyor, to="closed")
        else:
            inspect(users.surveyor, survey, toilet)
    PublicToiletFactory(village=tree.v2)


def test_the_charts_are_all_pinned():
    assert set(CHART_QUERIES) == set(CHARTS)


@pytest.mark.parametrize("key", list(CHARTS))
@pytest.mark.parametrize("n", [2, 12])
def test_each_endpoint_runs_a_pinned_number_of_queries(
    tree, users, survey, register, ledger, as_user, django_assert_num_queries, key, n
):
    more(tree, users, survey, register, n)
    client = as_user(users.township)
    url = reverse("dashboards:data", args=[key])
    with django_assert_num_queries(REQUEST + CHART_QUERIES[key]):
        response = client.get(url, {"round": survey.pk})
    assert response.status_code == 200


def test_the_trend_reads_one_query_when_snapshots_exist(
    tree, users, survey, ledger, as_user, django_assert_num_queries
):
    from dashboards.snapshots import record_snapshots

    record_snapshots()
    client = as_user(users.county)
    with django_assert_num_queries(REQUEST + 1):
        response = client.get(reverse("dashboards:data", args=["trend"]))
    assert response.json()["extra"]["source"] == "每日记录"

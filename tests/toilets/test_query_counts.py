"""List pages run a fixed number of queries, whatever the number of rows."""

import pytest
from django.urls import reverse

from tests.factories import HouseholdFactory, PublicToiletFactory, ToiletFactory

pytestmark = pytest.mark.django_db

# session + user + role assignment, count, page rows, filter choices (villages: a township's
# user has no township filter); households add one query for the toilet counts of the page.
HOUSEHOLD_LIST_QUERIES = 7
TOILET_LIST_QUERIES = 6
# 一户一档: session + user + role assignment, the household, its toilets with their
# inspections, categories, photos and ledger entries, the timeline's four histories, the open
# round (the 摸排 links are read from the prefetched inspections).
HOUSEHOLD_PAGE_QUERIES = 14


def fill(tree, n):
    for household in HouseholdFactory.create_batch(n, village=tree.v1):
        ToiletFactory(household=household)
    PublicToiletFactory.create_batch(2, village=tree.v2)


@pytest.mark.parametrize("rows", [3, 18])
def test_household_list_query_count_is_pinned(
    as_user, users, tree, django_assert_num_queries, rows
):
    fill(tree, rows)
    client = as_user(users.township)
    with django_assert_num_queries(HOUSEHOLD_LIST_QUERIES):
        response = client.get(reverse("toilets:household-list"))
    assert len(response.context["object_list"]) == rows


@pytest.mark.parametrize("rows", [3, 18])
def test_toilet_list_query_count_is_pinned(as_user, users, tree, django_assert_num_queries, rows):
    fill(tree, rows)
    client = as_user(users.township)
    with django_assert_num_queries(TOILET_LIST_QUERIES):
        response = client.get(reverse("toilets:toilet-list"))
    assert len(response.context["object_list"]) == rows + 2


def test_api_household_list_query_count_is_pinned(api, users, tree, django_assert_num_queries):
    fill(tree, 20)
    api.force_authenticate(users.township)
    with django_assert_num_queries(3):  # role assignment, count, rows
        response = api.get("/api/households/")
    assert response.json()["count"] == 20


@pytest.mark.parametrize("toilets", [1, 4])
def test_household_page_query_count_is_pinned(
    as_user, users, tree, django_assert_num_queries, toilets
):
    from tests.factories import InspectionFactory, SurveyRoundFactory

    survey = SurveyRoundFactory(county=tree.county)
    household = HouseholdFactory(village=tree.v1)
    for toilet in ToiletFactory.create_batch(toilets, household=household):
        InspectionFactory(round=survey, toilet=toilet, status="returned")
    client = as_user(users.surveyor)
    url = reverse("toilets:household-detail", args=[household.pk])
    with django_assert_num_queries(HOUSEHOLD_PAGE_QUERIES):
        response = client.get(url)
    assert response.content.decode().count("修改摸排（被退回）") == toilets

"""What the phone keeps for working offline: the installable app (manifest, service worker),
the worklist as data, scoped like the page, and the form shell."""

import json

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from surveys.models import ProblemCategory
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
)

pytestmark = pytest.mark.django_db

DATA = reverse("surveys:offline-data")


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2026年摸排")


def test_the_manifest_makes_the_app_installable(client):
    response = client.get(reverse("manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "农村户厕问题摸排整改" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert icon["src"].startswith("/static/")
        assert finders.find(icon["src"].removeprefix("/static/")), icon["src"]


def test_the_service_worker_is_served_from_the_root_with_the_shell(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    text = response.content.decode()
    assert "/static/js/offline-queue.js" in text and "/static/vendor/idb-8.0.4/idb.umd.js" in text
    assert reverse("surveys:offline-inspect") in text


def test_signed_in_pages_link_the_manifest_and_the_offline_scripts(as_user, users):
    page = as_user(users.surveyor).get(reverse("home")).content.decode()
    assert 'rel="manifest"' in page and "js/offline.js" in page
    assert f'data-user="{users.surveyor.pk}"' in page
    assert 'id="sync-banner"' in page


def test_the_worklist_data_holds_the_villages_toilets_and_last_rounds_findings(
    as_user, users, tree
):
    previous = SurveyRoundFactory(county=tree.county, name="2025年摸排", status="closed")
    survey = SurveyRoundFactory(county=tree.county, name="2026年摸排", previous=previous)
    household = HouseholdFactory(
        village=tree.v1, head_name="王建国", group_name="一组", id_number="450702198001010012"
    )
    toilet = ToiletFactory(household=household, build_year=2019)
    public = PublicToiletFactory(village=tree.v1, name="村委公厕")
    old = InspectionFactory(round=previous, toilet=toilet, usability="unusable")
    old.categories.set(ProblemCategory.objects.filter(code="tank"))
    ToiletFactory(household=HouseholdFactory(village=tree.v3))  # another township's
    response = as_user(users.surveyor).get(DATA, {"round": survey.pk})
    assert response.status_code == 200
    data = response.json()
    assert data["round"] == survey.pk and data["name"] == "2026年摸排"
    assert {c["code"] for c in data["categories"]} == set(
        ProblemCategory.objects.values_list("code", flat=True)
    )
    rows = {row["id"]: row for row in data["toilets"]}
    assert set(rows) == {toilet.pk, public.pk}
    assert rows[toilet.pk]["head_name"] == "王建国" and rows[toilet.pk]["id_last4"] == "0012"
    assert rows[toilet.pk]["group"] == "一组" and rows[toilet.pk]["build_year"] == 2019
    assert rows[toilet.pk]["previous"]["usability"] == "unusable"
    assert rows[toilet.pk]["previous"]["categories"] == ["tank"]
    assert rows[public.pk]["public_name"] == "村委公厕"
    assert rows[toilet.pk]["inspection"] is None
    assert "private" in response["Cache-Control"]


def test_the_worklist_data_shows_the_current_inspection_and_keeps_its_queries(
    as_user, users, tree, survey, django_assert_max_num_queries
):
    toilets = [ToiletFactory(household=HouseholdFactory(village=tree.v1)) for _ in range(3)]
    inspection = InspectionFactory(round=survey, toilet=toilets[0], usability="normal")
    client = as_user(users.surveyor)
    client.get(DATA, {"round": survey.pk})  # session and caches warm
    with django_assert_max_num_queries(12) as few:
        client.get(DATA, {"round": survey.pk})
    for _ in range(20):
        ToiletFactory(household=HouseholdFactory(village=tree.v1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        data = client.get(DATA, {"round": survey.pk}).json()
    row = next(r for r in data["toilets"] if r["id"] == toilets[0].pk)
    assert row["inspection"]["id"] == inspection.pk
    assert row["inspection"]["version"] == inspection.version
    assert len(data["toilets"]) == 23


def test_another_countys_round_is_a_404_and_only_surveyors_download(as_user, users, tree):
    other = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    assert as_user(users.surveyor).get(DATA, {"round": other.pk}).status_code == 404
    survey = SurveyRoundFactory(county=tree.county, name="2026年摸排")
    assert as_user(users.township).get(DATA, {"round": survey.pk}).status_code == 403


def test_the_form_shell_is_the_inspection_form_without_a_toilet(as_user, users, survey):
    page = as_user(users.surveyor).get(reverse("surveys:offline-inspect")).content.decode()
    assert 'data-shell="1"' in page and 'name="usability"' in page and 'name="photos"' in page
    assert "js/inspect.js" in page


def test_the_offline_page_points_to_the_worklist(as_user, users):
    page = as_user(users.surveyor).get(reverse("offline")).content.decode()
    assert "当前没有网络" in page and reverse("surveys:worklist") in page

"""The REST API: the same scoping and role checks as the pages, through one base viewset."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.factories import valid_id_number
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db

LIST_ENDPOINTS = ["/api/regions/", "/api/households/", "/api/toilets/"]


def detail_urls(register, tree):
    """(own-region URL, other-region URL) per resource, seen from county A's users."""
    return [
        (f"/api/households/{register.h1.pk}/", f"/api/households/{register.h4.pk}/"),
        (f"/api/toilets/{register.t1.pk}/", f"/api/toilets/{register.t4.pk}/"),
        (f"/api/regions/{tree.v1.code}/", f"/api/regions/{tree.v4.code}/"),
    ]


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_it_answers_401_to_anonymous_requests(api, url):
    response = api.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_it_answers_401_for_anonymous_detail_and_writes(api, register, tree):
    for own, _other in detail_urls(register, tree):
        assert api.get(own).status_code == 401
    assert api.post("/api/households/", {}, format="json").status_code == 401


@pytest.mark.parametrize("who", ["surveyor", "township", "county", "inspector"])
def test_it_answers_404_for_another_regions_objects(api, users, register, tree, who):
    api.force_authenticate(getattr(users, who))
    for own, other in detail_urls(register, tree):
        assert api.get(own).status_code == 200, own
        assert api.get(other).status_code == 404, other


def test_surveyor_cannot_reach_a_neighbouring_village(api, users, register):
    api.force_authenticate(users.surveyor_v2)
    assert api.get(f"/api/households/{register.h1.pk}/").status_code == 404
    response = api.patch(f"/api/households/{register.h1.pk}/", {"head_name": "x"}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "who,expected",
    [
        ("surveyor", {"王建国"}),
        ("township_t2", {"李秀英"}),
        ("county", {"王建国", "李秀英"}),
        ("outsider", {"张志强"}),
    ],
)
def test_lists_hold_only_the_own_subtree(api, users, register, who, expected):
    api.force_authenticate(getattr(users, who))
    households = api.get("/api/households/").json()["results"]
    assert {h["head_name"] for h in households} == expected
    toilets = api.get("/api/toilets/").json()["results"]
    assert {t["household"] for t in toilets} == {h["id"] for h in households}


def test_region_list_is_the_own_subtree(api, users, tree):
    api.force_authenticate(users.township)
    codes = {r["code"] for r in api.get("/api/regions/").json()["results"]}
    assert codes == {tree.t1.code, tree.v1.code, tree.v2.code}
    villages = api.get("/api/regions/", {"level": "village"}).json()["results"]
    assert {r["code"] for r in villages} == {tree.v1.code, tree.v2.code}


def test_token_authentication_works_and_is_scoped(api, users, register):
    token = Token.objects.create(user=users.surveyor)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    names = {h["head_name"] for h in api.get("/api/households/").json()["results"]}
    assert names == {"王建国"}


def test_token_endpoint_issues_a_token(api, users):
    from tests.factories import PASSWORD

    response = api.post("/api/token/", {"username": "surveyor", "password": PASSWORD})
    assert response.status_code == 200
    assert Token.objects.get(user=users.surveyor).key == response.json()["token"]


def _household_payload(village, **overrides):
    payload = {
        "village": village.code,
        "head_name": "赵德明",
        "id_number": valid_id_number(555),
        "phone": "13900001111",
        "group_name": "第三村民小组",
        "occupancy": "resident",
    }
    payload.update(overrides)
    return payload


@pytest.mark.parametrize("who,status", [("surveyor", 201), ("township", 201)])
def test_register_keepers_can_create_households(api, users, tree, who, status):
    api.force_authenticate(getattr(users, who))
    response = api.post("/api/households/", _household_payload(tree.v1), format="json")
    assert response.status_code == status, response.content
    assert Household.objects.get(pk=response.json()["id"]).village == tree.v1


@pytest.mark.parametrize("who", ["county", "inspector"])
def test_read_only_roles_get_403_on_writes(api, users, register, tree, who):
    api.force_authenticate(getattr(users, who))
    assert (
        api.post("/api/households/", _household_payload(tree.v1), format="json").status_code == 403
    )
    url = f"/api/households/{register.h1.pk}/"
    assert api.patch(url, {"head_name": "改"}, format="json").status_code == 403
    url = f"/api/toilets/{register.t1.pk}/"
    assert api.patch(url, {"build_year": 2019}, format="json").status_code == 403
    assert not Household.objects.filter(head_name="改").exists()


def test_it_refuses_a_village_outside_the_scope(api, users, tree):
    api.force_authenticate(users.surveyor)
    response = api.post("/api/households/", _household_payload(tree.v2), format="json")
    assert response.status_code == 400
    assert "village" in response.json()
    assert not Household.objects.filter(head_name="赵德明").exists()


def test_it_refuses_a_region_that_is_not_a_village(api, users, tree):
    api.force_authenticate(users.township)
    response = api.post("/api/households/", _household_payload(tree.t1), format="json")
    assert response.status_code == 400
    assert "只能选择行政村" in response.json()["village"][0]


def test_it_refuses_a_wrong_check_digit_with_a_chinese_message(api, users, tree):
    api.force_authenticate(users.surveyor)
    good = valid_id_number(556)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    response = api.post(
        "/api/households/", _household_payload(tree.v1, id_number=bad), format="json"
    )
    assert response.status_code == 400
    assert "校验位" in response.json()["id_number"][0]


def test_update_with_a_stale_version_answers_409(api, users, register):
    api.force_authenticate(users.surveyor)
    url = f"/api/households/{register.h1.pk}/"
    version = api.get(url).json()["version"]
    first = api.patch(url, {"phone": "13900002222", "version": version}, format="json")
    assert first.status_code == 200
    assert first.json()["version"] == version + 1
    second = api.patch(url, {"phone": "13900003333", "version": version}, format="json")
    assert second.status_code == 409
    register.h1.refresh_from_db()
    assert register.h1.phone == "13900002222"


def test_it_creates_a_household_toilet_with_derived_fields(api, users, register):
    api.force_authenticate(users.surveyor)
    payload = {
        "household": register.h1.pk,
        "kind": "household",
        "tech_type": "urine_diversion",
        "placement": "outdoor",
        "build_year": 2017,
        "funding": "government",
    }
    response = api.post("/api/toilets/", payload, format="json")
    assert response.status_code == 201, response.content
    toilet = Toilet.objects.get(pk=response.json()["id"])
    assert toilet.village == register.h1.village
    assert toilet.flush_kind == "dry"
    assert toilet.lead_department == "housing"


def test_it_refuses_a_toilet_for_another_regions_household(api, users, register):
    api.force_authenticate(users.surveyor)
    payload = {
        "household": register.h4.pk,
        "kind": "household",
        "tech_type": "three_compartment",
        "build_year": 2017,
        "funding": "government",
    }
    response = api.post("/api/toilets/", payload, format="json")
    assert response.status_code == 400
    assert "household" in response.json()


def test_it_refuses_a_build_year_in_the_future(api, users, register):
    api.force_authenticate(users.surveyor)
    response = api.patch(f"/api/toilets/{register.t1.pk}/", {"build_year": 2099}, format="json")
    assert response.status_code == 400
    assert "不能晚于今年" in response.json()["build_year"][0]


def test_list_filters_work(api, users, register, tree):
    api.force_authenticate(users.county)
    rows = api.get("/api/households/", {"village": tree.v3.code}).json()["results"]
    assert [r["head_name"] for r in rows] == ["李秀英"]
    rows = api.get("/api/households/", {"q": "王建"}).json()["results"]
    assert [r["head_name"] for r in rows] == ["王建国"]
    rows = api.get("/api/toilets/", {"township": tree.t2.code}).json()["results"]
    assert [r["household"] for r in rows] == [register.h3.pk]
    response = api.get("/api/households/", {"village": tree.v4.code})
    assert response.status_code == 400


def test_schema_and_docs_are_served_to_signed_in_users(client, api, users):
    client.force_login(users.surveyor)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/api/households/" in body and "/api/toilets/" in body and "/api/regions/" in body
    assert client.get("/api/docs/").status_code == 200
    # Swagger UI's start-up script comes from a URL of its own, not an inline <script>.
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_schema_and_docs_need_a_login(client, api, users):
    assert client.get("/api/schema/").status_code == 401
    assert client.get("/api/schema/", {"format": "json"}).status_code == 401
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get("/api/docs/", {"script": ""}).status_code == 302
    # A token works for the schema, as for the rest of the API.
    token = Token.objects.create(user=users.county)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/schema/", {"format": "json"}).status_code == 200

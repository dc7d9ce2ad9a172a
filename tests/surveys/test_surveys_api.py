"""The survey API: rounds and inspections, with the same scoping and services as the pages."""

import pytest
from django.utils import timezone

from rectification.models import LedgerEntry
from surveys.models import Inspection, SurveyRound
from tests.factories import SurveyRoundFactory
from tests.images import jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2022年摸排")


def payload(survey, toilet, **overrides):
    data = {
        "round": survey.pk,
        "toilet": toilet.pk,
        "partner_name": "李四",
        "inspected_at": timezone.now().isoformat(),
        "household_present": True,
        "check_method": "on_site",
        "usability": "not_year_round",
        "categories": ["frost"],
        "signed": True,
    }
    data.update(overrides)
    return data


def test_anonymous_gets_401(api, survey):
    assert api.get("/api/rounds/").status_code == 401
    assert api.get("/api/inspections/").status_code == 401


def test_rounds_are_listed_for_the_own_county_only(api, users, survey):
    api.force_authenticate(users.surveyor)
    assert [r["name"] for r in api.get("/api/rounds/").json()["results"]] == ["2022年摸排"]
    api.force_authenticate(users.outsider)
    assert api.get("/api/rounds/").json()["results"] == []
    assert api.get(f"/api/rounds/{survey.pk}/").status_code == 404


def test_the_county_creates_and_opens_a_round(api, users, tree, survey):
    api.force_authenticate(users.county)
    SurveyRound.objects.filter(pk=survey.pk).update(status="closed")
    response = api.post(
        "/api/rounds/",
        {
            "name": "回头看",
            "kind": "look_back",
            "start_date": "2022-05-01",
            "end_date": "2022-05-31",
            "previous": survey.pk,
            "template": survey.template_id,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["county"] == tree.county.code and new["status"] == "draft"
    response = api.post(f"/api/rounds/{new['id']}/open/")
    assert response.status_code == 200 and response.json()["status"] == "open"
    assert api.post(f"/api/rounds/{new['id']}/open/").status_code == 409


@pytest.mark.parametrize("who", ["surveyor", "township", "inspector"])
def test_only_the_county_writes_rounds(api, users, survey, who):
    api.force_authenticate(getattr(users, who))
    assert api.post(f"/api/rounds/{survey.pk}/close/").status_code == 403


def test_a_surveyor_records_an_inspection_and_uploads_photos(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    response = api.post("/api/inspections/", payload(survey, register.t1), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["surveyor"] == "surveyor" and data["categories"] == ["frost"]
    assert LedgerEntry.objects.get(toilet=register.t1).usability == "not_year_round"

    url = f"/api/inspections/{data['id']}/photos/"
    response = api.post(url, {"photos": [jpeg(gps=(21.9, 108.6))]}, format="multipart")
    assert response.status_code == 201, response.content
    photo = response.json()["photos"][0]
    assert photo["latitude"] == "21.900000" and photo["taken_at"]


def test_a_bad_inspection_is_refused_with_field_errors(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    response = api.post(
        "/api/inspections/", payload(survey, register.t1, categories=[]), format="json"
    )
    assert response.status_code == 400
    assert "至少选择一项问题类型" in response.json()["categories"][0]
    assert not Inspection.objects.exists()


def test_another_villages_toilet_is_not_found(api, users, register, survey):
    api.force_authenticate(users.surveyor_v2)
    response = api.post("/api/inspections/", payload(survey, register.t1), format="json")
    assert response.status_code == 400 and "toilet" in response.json()


def test_a_second_record_for_the_same_toilet_is_a_conflict(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    assert (
        api.post("/api/inspections/", payload(survey, register.t1), format="json").status_code
        == 201
    )
    response = api.post("/api/inspections/", payload(survey, register.t1), format="json")
    assert response.status_code == 409
    assert Inspection.objects.count() == 1


def test_a_stale_update_is_a_conflict(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    created = api.post("/api/inspections/", payload(survey, register.t1), format="json").json()
    url = f"/api/inspections/{created['id']}/"
    assert api.patch(url, {"notes": "A", "version": 1}, format="json").status_code == 200
    response = api.patch(url, {"notes": "B", "version": 1}, format="json")
    assert response.status_code == 409
    assert Inspection.objects.get().notes == "A"


def test_township_verifies_and_returns_through_the_api(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    created = api.post("/api/inspections/", payload(survey, register.t1), format="json").json()
    assert api.post(f"/api/inspections/{created['id']}/verify/").status_code == 403
    api.force_authenticate(users.township)
    response = api.post(f"/api/inspections/{created['id']}/return/", {"reason": ""}, format="json")
    assert response.status_code == 400
    response = api.post(
        f"/api/inspections/{created['id']}/return/", {"reason": "缺照片"}, format="json"
    )
    assert response.json()["status"] == "returned"
    api.force_authenticate(users.township_t2)
    assert api.post(f"/api/inspections/{created['id']}/verify/").status_code == 404


def test_inspection_lists_are_scoped(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    api.post("/api/inspections/", payload(survey, register.t1), format="json")
    for who, count in [("township", 1), ("county", 1), ("township_t2", 0), ("outsider", 0)]:
        api.force_authenticate(getattr(users, who))
        assert api.get("/api/inspections/").json()["count"] == count, who


def test_an_update_without_a_version_is_refused(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    created = api.post("/api/inspections/", payload(survey, register.t1), format="json").json()
    response = api.patch(f"/api/inspections/{created['id']}/", {"notes": "B"}, format="json")
    assert response.status_code == 400 and "version" in response.json()


def test_another_regions_ids_are_just_invalid(api, users, register, tree, survey):
    other = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    api.force_authenticate(users.county)
    response = api.post(
        "/api/rounds/",
        {
            "name": "x",
            "kind": "look_back",
            "start_date": "2022-05-01",
            "end_date": "2022-05-31",
            "previous": other.pk,
            "template": survey.template_id,
        },
        format="json",
    )
    assert response.status_code == 400 and "不存在" in response.json()["previous"][0]
    response = api.get("/api/inspections/", {"toilet": register.t4.pk})
    assert response.status_code == 400


def test_photo_urls_in_the_api_go_through_the_scoping(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    created = api.post("/api/inspections/", payload(survey, register.t1), format="json").json()
    data = api.post(
        f"/api/inspections/{created['id']}/photos/", {"photos": [jpeg()]}, format="multipart"
    ).json()
    assert "/surveys/photos/" in data["photos"][0]["thumbnail"]

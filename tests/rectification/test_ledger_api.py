"""The ledger API: entries and their log in the caller's region only, and every close-out step
through one transition endpoint with the same checks as the pages."""

import base64
import datetime
import json

import pytest
from django.utils import timezone

from rectification.models import LedgerEntry, LedgerLog
from regions.choices import Role
from tests.factories import (
    HouseholdFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)
from tests.ledger import (
    after_photo,
    checklist,
    drive,
    move,
    open_entry,
    paper_photo,
    plan_data,
    signature_png,
)

pytestmark = pytest.mark.django_db

# role assignment, count, page rows, categories of the page
LEDGER_LIST_QUERIES = 4
# role assignment, entry, categories, log, photos, checks, consents, the caller's actions
LEDGER_DETAIL_QUERIES = 8


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2022年摸排")


@pytest.fixture
def entry(users, register, survey):
    """The open entry of household h1's toilet (village V1, township T1)."""
    return open_entry(users.surveyor, survey, register.t1)


def url(entry, suffix=""):
    return f"/api/ledger/{entry.pk}/{suffix}"


def plan_json(**overrides):
    data = {
        "problem_class": "guidance",
        "cause": "construction",
        "measures": "更换破损化粪池盖板，重新连接过粪管",
        "tech_route": "三格化粪池式",
        "funding_source": "township",
        "deadline": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        "responsible_person": "陈志明",
        "responsible_phone": "0777-1234567",
    }
    data.update(overrides)
    return data


def signature_url(**kw):
    return "data:image/png;base64," + base64.b64encode(signature_png(**kw)).decode()


def post(api, entry, data, **kw):
    return api.post(url(entry, "transition/"), data, format=kw.pop("format", "json"), **kw)


# Reading -----------------------------------------------------------------------------------


def test_it_answers_401_to_anonymous_requests(api, entry):
    assert api.get("/api/ledger/").status_code == 401
    assert api.get(url(entry)).status_code == 401
    assert post(api, entry, {"action": "plan"}).status_code == 401
    assert api.get("/api/ledger-log/").status_code == 401


@pytest.mark.parametrize("who", ["surveyor", "township", "county", "inspector"])
def test_it_lists_and_shows_the_entry_to_its_own_region(api, users, entry, who):
    api.force_authenticate(getattr(users, who))
    rows = api.get("/api/ledger/").json()["results"]
    assert [row["id"] for row in rows] == [entry.pk]
    row = rows[0]
    assert row["household_head_name"] == "王建国"
    assert row["village_name"] == "沙埠村" and row["township_name"] == "沙埠镇"
    assert row["round"]["name"] == "2022年摸排"
    assert row["categories"] == [{"code": "tank", "name": "粪池问题"}]
    assert row["state"] == "registered" and row["state_display"] == "登记"
    assert api.get(url(entry)).status_code == 200


@pytest.mark.parametrize("who", ["surveyor_v2", "township_t2", "outsider"])
def test_it_hides_the_entry_from_other_regions(api, users, entry, who):
    api.force_authenticate(getattr(users, who))
    assert api.get("/api/ledger/").json()["results"] == []
    assert api.get(url(entry)).status_code == 404
    assert post(api, entry, {"action": "plan", **plan_json()}).status_code == 404
    assert api.get("/api/ledger-log/").json()["results"] == []
    log_row = LedgerLog.objects.filter(entry=entry).first()
    assert api.get(f"/api/ledger-log/{log_row.pk}/").status_code == 404
    assert LedgerEntry.objects.get(pk=entry.pk).state == "registered"


@pytest.mark.parametrize("who", ["county", "inspector"])
def test_county_and_inspector_see_masked_numbers(api, users, register, entry, who):
    api.force_authenticate(getattr(users, who))
    full_id = register.h1.id_number
    for row in [api.get("/api/ledger/").json()["results"][0], api.get(url(entry)).json()]:
        assert row["household_id_number"] == full_id[:6] + "********" + full_id[-4:]
        assert row["household_phone"] == "138****5678"
    assert full_id not in api.get(url(entry)).content.decode()


@pytest.mark.parametrize("who", ["surveyor", "township"])
def test_village_and_township_see_full_numbers(api, users, register, entry, who):
    api.force_authenticate(getattr(users, who))
    row = api.get(url(entry)).json()
    assert row["household_id_number"] == register.h1.id_number
    assert row["household_phone"] == "13812345678"


def test_a_public_toilet_has_no_household_numbers(api, users, tree, survey):
    toilet = PublicToiletFactory(village=tree.v1, name="沙埠村委公厕")
    entry = open_entry(users.surveyor, survey, toilet)
    api.force_authenticate(users.county)
    row = api.get(url(entry)).json()
    assert row["toilet_name"] == "沙埠村委公厕"
    assert row["household_head_name"] is None and row["household_id_number"] is None


def test_the_detail_shows_actions_checklist_and_log(api, users, entry):
    api.force_authenticate(users.township)
    detail = api.get(url(entry)).json()
    assert detail["actions"] == [{"action": "plan", "label": "制定整改方案", "needs": "plan"}]
    assert {item["code"] for item in detail["checklist"]} == set(checklist(entry))
    assert all(item["standard"].startswith("GB/T") for item in detail["checklist"])
    assert [row["action"] for row in detail["log"]] == ["register"]
    assert detail["log"][0]["actor"] == "surveyor" and detail["log"][0]["to_state"] == "registered"
    assert detail["photos"] == [] and detail["checks"] == [] and detail["consent"] is None

    api.force_authenticate(users.surveyor)  # the village may only fix it on the spot
    assert [a["action"] for a in api.get(url(entry)).json()["actions"]] == ["quick_fix"]
    api.force_authenticate(users.inspector)
    assert api.get(url(entry)).json()["actions"] == []


def test_it_filters_by_state_queue_and_overdue(api, users, tree, survey, entry):
    waiting = open_entry(
        users.surveyor, survey, ToiletFactory(household=HouseholdFactory(village=tree.v1))
    )
    drive(waiting, township=users.township, surveyor=users.surveyor, to="rectified")
    late = open_entry(
        users.surveyor, survey, ToiletFactory(household=HouseholdFactory(village=tree.v1))
    )
    late = drive(late, township=users.township, surveyor=users.surveyor, to="in_progress")
    LedgerEntry.objects.filter(pk=late.pk).update(
        deadline=timezone.localdate() - datetime.timedelta(days=1)
    )
    api.force_authenticate(users.township)

    def ids(query):
        response = api.get(f"/api/ledger/?{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("state=registered") == {entry.pk}
    assert ids("queue=to_accept") == {waiting.pk}
    assert ids("overdue=true") == {late.pk}
    assert ids("overdue=false") == {entry.pk, waiting.pk}
    late_row = api.get(f"/api/ledger/{late.pk}/").json()
    assert late_row["is_overdue"] is True
    assert api.get("/api/ledger/?state=nonsense").status_code == 400


def test_another_regions_village_is_not_a_filter_choice(api, users, tree, entry):
    api.force_authenticate(users.township_t2)
    assert api.get(f"/api/ledger/?village={tree.v1.code}").status_code == 400


# The close-out through the API ---------------------------------------------------------------


def test_a_full_close_out_through_the_api(api, users, entry):
    def log_actions():
        api.force_authenticate(users.township)
        return [row["action"] for row in api.get(url(entry)).json()["log"]]

    api.force_authenticate(users.township)
    response = post(api, entry, {"action": "plan", "version": entry.version, **plan_json()})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "planned" and body["measures"].startswith("更换破损")
    assert body["responsible_person"] == "陈志明" and body["version"] == entry.version + 1
    assert [a["action"] for a in body["actions"]] == ["replan", "start"]
    assert log_actions() == ["register", "plan"]

    response = post(api, entry, {"action": "start", "version": body["version"]})
    assert response.status_code == 200 and response.json()["state"] == "in_progress"
    assert log_actions() == ["register", "plan", "start"]

    api.force_authenticate(users.surveyor)
    response = post(
        api,
        entry,
        {
            "action": "rectify",
            "note": "已更换盖板",
            "photos": [after_photo("a.jpg"), after_photo("b.jpg")],
            "latitude": "21.95",
            "longitude": "108.62",
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "rectified"
    assert len(body["photos"]) == 2
    photo = body["photos"][0]
    assert photo["kind"] == "after" and photo["uploaded_by"] == "surveyor"
    assert photo["village_name"] == "沙埠村" and photo["location_source"] == "browser"
    assert photo["latitude"] == "21.950000"
    assert body["log"][-1]["photos"] == [p["id"] for p in body["photos"]]
    assert log_actions() == ["register", "plan", "start", "rectify"]

    api.force_authenticate(users.township)
    response = post(api, entry, {"action": "accept", "checklist": checklist(entry)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "accepted"
    assert {c["code"] for c in body["checks"]} == set(checklist(entry))
    assert all(c["passed"] for c in body["checks"])
    assert log_actions() == ["register", "plan", "start", "rectify", "accept"]

    response = post(
        api,
        entry,
        {
            "action": "close",
            "consent_method": "screen",
            "signer_name": "王建国",
            "signed_on": timezone.localdate().isoformat(),
            "signature": signature_url(),
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "closed" and body["closed_at"]
    assert body["consent"]["signer_name"] == "王建国"
    assert body["consent"]["method"] == "screen"
    assert "base64" not in json.dumps(body["consent"])
    assert body["log"][-1]["note"].startswith("户主 王建国 签字同意销号")
    assert log_actions() == ["register", "plan", "start", "rectify", "accept", "close"]

    api.force_authenticate(users.county)
    response = post(api, entry, {"action": "review"})
    assert response.status_code == 200 and response.json()["reviewed_at"]


def test_a_checklist_sent_as_a_json_string_in_multipart_is_accepted(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="rectified")
    api.force_authenticate(users.township)
    response = post(
        api,
        entry,
        {"action": "accept", "checklist": json.dumps(checklist(entry))},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "accepted"


def test_a_paper_consent_photo_closes_the_entry(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="accepted")
    api.force_authenticate(users.township)
    response = post(
        api,
        entry,
        {
            "action": "close",
            "signer_name": "王建国",
            "signed_on": timezone.localdate().isoformat(),
            "paper_photo": paper_photo(),
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    assert response.json()["consent"]["method"] == "paper"


def test_replan_keeps_the_fields_left_out(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="planned")
    api.force_authenticate(users.township)
    later = (timezone.localdate() + datetime.timedelta(days=60)).isoformat()
    response = post(api, entry, {"action": "replan", "deadline": later, "note": "材料未到"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["deadline"] == later and body["responsible_person"] == "陈志明"
    assert body["state"] == "planned"


# Refusals ------------------------------------------------------------------------------------


def test_a_surveyor_cannot_accept(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="rectified")
    api.force_authenticate(users.surveyor)
    response = post(api, entry, {"action": "accept", "checklist": checklist(entry)})
    assert response.status_code == 403
    assert "验收通过" in response.json()["detail"]
    assert LedgerEntry.objects.get(pk=entry.pk).state == "rectified"


@pytest.mark.parametrize("who", ["county", "inspector"])
def test_county_and_inspector_cannot_plan(api, users, entry, who):
    api.force_authenticate(getattr(users, who))
    assert post(api, entry, {"action": "plan", **plan_json()}).status_code == 403


def test_a_move_from_the_wrong_state_is_a_conflict(api, users, entry):
    api.force_authenticate(users.township)
    response = post(api, entry, {"action": "start"})
    assert response.status_code == 409
    assert "登记" in response.json()["detail"] and "开始整改" in response.json()["detail"]


def test_a_stale_version_is_a_conflict(api, users, entry):
    api.force_authenticate(users.township)
    stale = entry.version
    move(entry, "plan", users.township, plan=plan_data())
    response = post(api, entry, {"action": "start", "version": stale})
    assert response.status_code == 409
    assert "刷新" in response.json()["detail"]
    assert LedgerEntry.objects.get(pk=entry.pk).state == "planned"


def test_a_failed_checklist_item_is_named(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="rectified")
    api.force_authenticate(users.township)
    response = post(
        api, entry, {"action": "accept", "checklist": checklist(entry, failing=["3836-leak"])}
    )
    assert response.status_code == 400
    [message] = response.json()["checklist"]
    assert "满水试验无渗漏" in message and "不合格" in message
    assert LedgerEntry.objects.get(pk=entry.pk).state == "rectified"


def test_a_checklist_that_is_not_an_object_is_refused(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="rectified")
    api.force_authenticate(users.township)
    response = post(api, entry, {"action": "accept", "checklist": ["3836-leak"]})
    assert response.status_code == 400 and "checklist" in response.json()


def test_close_without_consent_is_refused(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="accepted")
    api.force_authenticate(users.township)
    response = post(api, entry, {"action": "close"})
    assert response.status_code == 400
    assert "户主签字" in response.json()["consent"][0]
    assert LedgerEntry.objects.get(pk=entry.pk).state == "accepted"


def test_a_blank_or_malformed_signature_is_refused(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="accepted")
    api.force_authenticate(users.township)
    consent = {"signer_name": "王建国", "signed_on": timezone.localdate().isoformat()}
    response = post(
        api, entry, {"action": "close", **consent, "signature": signature_url(blank=True)}
    )
    assert response.status_code == 400
    assert "空白" in response.json()["signature"][0]
    response = post(api, entry, {"action": "close", **consent, "signature": "not-a-data-url"})
    assert response.status_code == 400 and "signature" in response.json()
    response = post(
        api, entry, {"action": "close", "signature": signature_url(), "signed_on": "2022-13-01"}
    )
    assert response.status_code == 400 and "signed_on" in response.json()


def test_an_unknown_or_missing_action_is_refused(api, users, entry):
    api.force_authenticate(users.township)
    response = post(api, entry, {"action": "demolish"})
    assert response.status_code == 400
    assert response.json()["action"] == ["未知操作“demolish”。"]
    assert "action" in post(api, entry, {}).json()


def test_a_plan_with_missing_fields_is_refused_per_field(api, users, entry):
    api.force_authenticate(users.township)
    response = post(api, entry, {"action": "plan", **plan_json(measures="", deadline=None)})
    assert response.status_code == 400
    errors = response.json()
    assert errors["measures"] == ["请填写整改措施。"]
    assert errors["deadline"] == ["请填写整改时限。"]


def test_rectify_without_photos_is_refused(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="in_progress")
    api.force_authenticate(users.surveyor)
    response = post(api, entry, {"action": "rectify"}, format="multipart")
    assert response.status_code == 400
    assert "整改后照片" in response.json()["photos"][0]


def test_return_needs_a_reason(api, users, entry):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="rectified")
    api.force_authenticate(users.township)
    response = post(api, entry, {"action": "return"})
    assert response.status_code == 400 and "原因" in response.json()["note"][0]
    response = post(api, entry, {"action": "return", "note": "盖板仍有裂缝"})
    assert response.status_code == 200 and response.json()["state"] == "in_progress"


# The log -------------------------------------------------------------------------------------


def test_the_log_is_read_only(api, users, entry):
    api.force_authenticate(users.township)
    row = LedgerLog.objects.filter(entry=entry).get()
    detail = f"/api/ledger-log/{row.pk}/"
    assert api.get(detail).status_code == 200
    assert api.put(detail, {"note": "x"}, format="json").status_code == 405
    assert api.patch(detail, {"note": "x"}, format="json").status_code == 405
    assert api.delete(detail).status_code == 405
    assert api.post("/api/ledger-log/", {"entry": entry.pk}, format="json").status_code == 405
    assert api.post("/api/ledger/", {}, format="json").status_code == 405
    assert api.delete(url(entry)).status_code == 405
    assert LedgerLog.objects.get(pk=row.pk).note == row.note


def test_the_log_lists_the_own_region_newest_first(api, users, tree, register, survey, entry):
    surveyor_v3 = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    other = open_entry(surveyor_v3, survey, register.t3)
    drive(entry, township=users.township, surveyor=users.surveyor, to="in_progress")
    api.force_authenticate(users.township)
    rows = api.get("/api/ledger-log/").json()["results"]
    assert [row["action"] for row in rows] == ["start", "plan", "register"]
    assert {row["entry"] for row in rows} == {entry.pk}
    assert rows[0]["action_label"] == "开始整改" and rows[0]["actor"] == "township"
    assert [r["action"] for r in api.get(f"/api/ledger-log/?entry={entry.pk}").json()["results"]]
    api.force_authenticate(users.township_t2)
    rows = api.get("/api/ledger-log/").json()["results"]
    assert {row["entry"] for row in rows} == {other.pk}
    api.force_authenticate(users.county)
    assert api.get("/api/ledger-log/").json()["count"] == 4


# Schema and query counts ---------------------------------------------------------------------


def test_the_schema_documents_the_transition(client, users):
    client.force_login(users.county)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/api/ledger/{id}/transition/" in body and "/api/ledger-log/" in body


@pytest.mark.parametrize("rows", [2, 10])
def test_the_list_query_count_is_pinned(api, users, tree, survey, django_assert_num_queries, rows):
    for _ in range(rows):
        open_entry(
            users.surveyor,
            survey,
            ToiletFactory(household=HouseholdFactory(village=tree.v1)),
            cats=("tank", "fixture"),
        )
    api.force_authenticate(users.township)
    with django_assert_num_queries(LEDGER_LIST_QUERIES):
        response = api.get("/api/ledger/")
    assert response.json()["count"] == rows


@pytest.mark.parametrize("to", ["registered", "closed"])
def test_the_detail_query_count_is_pinned(api, users, entry, django_assert_num_queries, to):
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to=to)
    api.force_authenticate(users.county)
    with django_assert_num_queries(LEDGER_DETAIL_QUERIES):
        response = api.get(url(entry))
    assert response.json()["state"] == to

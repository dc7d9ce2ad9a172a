"""The offline sync endpoint: a record a phone queued without signal, sent later (issue 13).

Each answer is what the phone's queue acts on: stored once per key, a conflict with the
current record to decide on, a correction of a verified record left for the township."""

import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from regions.choices import Role
from surveys import services
from surveys.choices import PHOTO_MAX_BYTES, PHOTO_MAX_PER_INSPECTION
from surveys.flags import refresh_flags
from surveys.models import (
    CorrectionRequest,
    Inspection,
    InspectionFlag,
    ProblemCategory,
    SyncReceipt,
)
from tests.factories import SurveyRoundFactory, ToiletFactory, UserFactory
from tests.images import jpeg

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/inspections/sync/"


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2026年摸排")


@pytest.fixture
def colleague(tree):
    """A second surveyor of the same village."""
    return UserFactory(username="chen", first_name="陈春梅", role=(Role.SURVEYOR, tree.v1))


def record(survey, toilet, **overrides):
    data = {
        "round": survey.pk,
        "toilet": toilet.pk,
        "base_version": None,
        "household_present": True,
        "check_method": "on_site",
        "usability": "unusable",
        "categories": ["tank"],
        "minor_fixes": "",
        "notes": "粪池满溢",
        "partner_name": "李四",
        "inspected_at": timezone.localtime().replace(microsecond=0).isoformat(),
        "signed": True,
        "latitude": 21.910001,
        "longitude": 108.610002,
        "accuracy": 12.4,
        "evidence_reason": "",
        "resolution": "",
    }
    data.update(overrides)
    return data


def send(api, rec, *, key=None, photos=None):
    body = {"key": str(key or uuid.uuid4()), "record": json.dumps(rec)}
    if photos is None:
        photos = [jpeg("site.jpg", gps=(21.91, 108.61))]
    if photos:
        body["photos"] = photos
    return api.post(SYNC, body, format="multipart")


def media_files():
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def recorded_by(user, survey, toilet, usability="normal", cats=()):
    inspection = Inspection(
        round=survey,
        toilet=toilet,
        usability=usability,
        check_method="ask_and_look",
        partner_name="王五",
        inspected_at=timezone.now(),
        signed=True,
        notes="对方的记录",
    )
    return services.save_inspection(
        actor=user,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code__in=cats)),
    )


def test_the_route_is_where_the_phone_app_sends(survey):
    assert reverse("inspection-sync") == SYNC


def test_a_record_sent_twice_is_stored_once(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    key = uuid.uuid4()
    first = send(api, record(survey, register.t1), key=key)
    assert first.status_code == 201, first.content
    body = first.json()
    inspection = Inspection.objects.get()
    assert body == {
        "status": "stored",
        "inspection": {
            "id": inspection.pk,
            "version": 1,
            "status": "submitted",
            "status_label": "待核查",
            "url": reverse("surveys:inspection-detail", args=[inspection.pk]),
        },
    }
    assert inspection.surveyor == users.surveyor and inspection.photos.count() == 1
    assert inspection.usability == "unusable" and inspection.notes == "粪池满溢"

    # The answer was lost on the way: the phone sends the same record again (even changed).
    again = send(api, record(survey, register.t1, notes="改过"), key=key)
    assert again.status_code == 200
    assert again.json()["status"] == "already_stored"
    assert again.json()["inspection"]["id"] == inspection.pk
    inspection.refresh_from_db()
    assert Inspection.objects.count() == 1 and inspection.version == 1
    assert inspection.notes == "粪池满溢" and inspection.photos.count() == 1
    assert SyncReceipt.objects.filter(user=users.surveyor, key=key).count() == 1


def test_the_phones_position_is_stored(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    assert send(api, record(survey, register.t1)).status_code == 201
    inspection = Inspection.objects.get()
    assert inspection.device_latitude == Decimal("21.910001")
    assert inspection.device_longitude == Decimal("108.610002")
    assert inspection.device_accuracy == 12


def test_a_record_without_position_is_stored_without_one(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    rec = record(survey, register.t1, latitude=None, longitude=None, accuracy=None)
    assert send(api, rec).status_code == 201
    inspection = Inspection.objects.get()
    assert inspection.device_latitude is None and inspection.device_accuracy is None


def test_somebody_else_recorded_it_meanwhile_is_a_conflict_with_their_record(
    api, users, register, survey, colleague
):
    theirs = recorded_by(colleague, survey, register.t1)
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, register.t1, base_version=None))
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "conflict" and body["reason"] == "recorded"
    assert "陈春梅" in body["detail"] and "未保存" in body["detail"]
    current = body["current"]
    assert current["id"] == theirs.pk and current["version"] == 1
    assert current["surveyor"] == "陈春梅"
    assert current["usability"] == "normal" and current["usability_label"] == "正常使用"
    assert current["categories"] == [] and current["category_labels"] == []
    assert current["notes"] == "对方的记录" and current["partner_name"] == "王五"
    assert current["photo_count"] == 0 and current["status_label"] == "待核查"
    assert current["inspected_at"]
    theirs.refresh_from_db()
    assert theirs.version == 1 and theirs.notes == "对方的记录"
    assert not SyncReceipt.objects.exists() and not media_files()


def test_a_stale_edit_is_a_conflict_too(api, users, register, survey, colleague):
    mine = recorded_by(users.surveyor, survey, register.t1)
    # The colleague edits it after the phone last saw version 1.
    mine.notes = "陈春梅改过"
    services.save_inspection(actor=colleague, inspection=mine, categories=[], expected_version=1)
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, register.t1, base_version=1))
    assert response.status_code == 409
    assert response.json()["reason"] == "recorded"
    assert response.json()["current"]["version"] == 2


def test_an_edit_of_the_version_seen_is_stored(api, users, register, survey):
    mine = recorded_by(users.surveyor, survey, register.t1)
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, register.t1, base_version=mine.version))
    assert response.status_code == 201
    mine.refresh_from_db()
    assert mine.version == 2 and mine.usability == "unusable"
    assert not mine.flags.filter(kind="overwrote").exists()


@pytest.mark.parametrize("seen", ["their_version", "none"])
def test_the_surveyor_keeps_the_own_record_over_theirs(
    api, users, register, survey, colleague, seen
):
    theirs = recorded_by(colleague, survey, register.t1)
    api.force_authenticate(users.surveyor)
    key = uuid.uuid4()
    assert send(api, record(survey, register.t1), key=key).status_code == 409

    base = theirs.version if seen == "their_version" else None
    rec = record(survey, register.t1, base_version=base, resolution="correction")
    response = send(api, rec, key=key)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "stored"
    inspection = Inspection.objects.get()
    assert inspection.pk == theirs.pk and inspection.version == 2
    assert inspection.usability == "unusable" and inspection.status == "submitted"
    assert list(inspection.categories.values_list("code", flat=True)) == ["tank"]
    flag = inspection.flags.get(kind="overwrote")
    assert "陈春梅" in flag.detail and "第 1 版" in flag.detail
    assert flag.get_kind_display() == "离线记录覆盖了他人录入"

    # The office-made flags are recomputed on every save; this one stays for the township.
    refresh_flags(inspection)
    assert inspection.flags.filter(kind="overwrote", cleared_by__isnull=True).exists()


def test_the_township_sees_the_overwrite_on_the_flags_page(
    api, as_user, users, register, survey, colleague
):
    recorded_by(colleague, survey, register.t1)
    api.force_authenticate(users.surveyor)
    send(api, record(survey, register.t1, base_version=1, resolution="correction"))
    page = as_user(users.township).get(reverse("surveys:flags", args=[survey.pk]))
    text = page.content.decode()
    assert "离线记录覆盖了他人录入" in text and "陈春梅" in text


def test_a_verified_record_is_final_and_a_correction_is_left_for_the_township(
    api, as_user, users, register, survey, colleague
):
    theirs = recorded_by(colleague, survey, register.t1)
    services.verify_inspection(actor=users.township, inspection=theirs)
    theirs.refresh_from_db()
    verified_version = theirs.version
    api.force_authenticate(users.surveyor)
    key = uuid.uuid4()
    response = send(api, record(survey, register.t1, base_version=verified_version), key=key)
    assert response.status_code == 409
    body = response.json()
    assert body["reason"] == "verified" and "已经乡镇核查" in body["detail"]
    assert body["current"]["status"] == "verified" and body["current"]["status_label"] == "已核查"
    assert body["current"]["version"] == verified_version

    rec = record(
        survey,
        register.t1,
        base_version=verified_version,
        resolution="correction",
        notes="应为粪池问题",
    )
    response = send(api, rec, key=key, photos=[jpeg("a.jpg"), jpeg("b.jpg", color=(1, 2, 3))])
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "correction_filed"
    assert response.json()["inspection"]["id"] == theirs.pk
    theirs.refresh_from_db()
    assert theirs.status == "verified" and theirs.version == verified_version
    assert theirs.usability == "normal" and theirs.notes == "对方的记录"
    correction = CorrectionRequest.objects.get()
    assert correction.status == "pending" and correction.surveyor == users.surveyor
    assert correction.inspection == theirs and correction.payload["notes"] == "应为粪池问题"
    assert correction.photos.count() == 2
    assert all(Path(p.image.path).exists() for p in correction.photos.all())
    # Sent again: stored once.
    assert send(api, rec, key=key).status_code == 200
    assert CorrectionRequest.objects.count() == 1

    township = as_user(users.township)
    review = township.get(reverse("surveys:review", args=[survey.pk])).content.decode()
    assert "待处理的更正申请（1）" in review
    assert reverse("surveys:inspection-detail", args=[theirs.pk]) in review
    detail = township.get(reverse("surveys:inspection-detail", args=[theirs.pk])).content.decode()
    assert "应为粪池问题" in detail and "不能使用" in detail and "标记为已处理" in detail
    photo = correction.photos.first()
    assert (
        township.get(reverse("surveys:correction-photo", args=[photo.pk, "thumb"])).status_code
        == 200
    )

    handle = reverse("surveys:correction-handle", args=[correction.pk])
    township.post(handle, {"note": ""})
    correction.refresh_from_db()
    assert correction.status == "pending"
    response = township.post(handle, {"note": "已到现场核实，重新核查"}, follow=True)
    assert "已处理更正申请" in response.content.decode()
    correction.refresh_from_db()
    assert correction.status == "handled" and correction.handled_by == users.township
    assert correction.handled_note == "已到现场核实，重新核查" and correction.handled_at
    review = township.get(reverse("surveys:review", args=[survey.pk])).content.decode()
    assert "待处理的更正申请" not in review
    assert township.post(handle, {"note": "再点一次"}, follow=True).status_code == 200
    correction.refresh_from_db()
    assert correction.handled_note == "已到现场核实，重新核查"


def test_only_the_township_in_scope_handles_a_correction(
    api, as_user, client, users, register, survey, colleague
):
    theirs = recorded_by(colleague, survey, register.t1)
    services.verify_inspection(actor=users.township, inspection=theirs)
    api.force_authenticate(users.surveyor)
    send(api, record(survey, register.t1, resolution="correction"))
    correction = CorrectionRequest.objects.get()
    handle = reverse("surveys:correction-handle", args=[correction.pk])
    assert as_user(users.township_t2).post(handle, {"note": "越权"}).status_code == 404
    client.logout()
    assert as_user(users.surveyor).post(handle, {"note": "自己处理"}).status_code == 403
    correction.refresh_from_db()
    assert correction.status == "pending"


def test_a_toilet_outside_the_village_is_not_found_and_nothing_is_stored(
    api, users, register, survey
):
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, register.t3))  # the other township's village
    assert response.status_code == 404
    assert "李秀英" not in response.content.decode()
    assert not Inspection.objects.exists() and not SyncReceipt.objects.exists()
    assert not media_files()


def test_a_round_of_another_county_is_not_found(api, users, tree, register, survey):
    other = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, register.t1, round=other.pk))
    assert response.status_code == 404
    assert "钦北区" not in response.content.decode()
    assert not Inspection.objects.exists()


@pytest.mark.parametrize("problem", ["too_big", "not_an_image", "too_many"])
def test_photos_over_the_limits_store_nothing(api, users, register, survey, problem):
    if problem == "too_big":
        photos = [jpeg("ok.jpg"), SimpleUploadedFile("huge.jpg", b"\xff" * (PHOTO_MAX_BYTES + 1))]
        named = "huge.jpg"
    elif problem == "not_an_image":
        photos = [jpeg("ok.jpg"), SimpleUploadedFile("notes.jpg", b"not a photo at all")]
        named = "notes.jpg"
    else:
        photos = [jpeg(f"p{i}.jpg", color=(i, i, i)) for i in range(PHOTO_MAX_PER_INSPECTION + 1)]
        named = str(PHOTO_MAX_PER_INSPECTION)
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, register.t1), photos=photos)
    assert response.status_code == 400
    body = response.json()
    assert any(named in m for m in body["errors"]["photos"]), body
    assert body["detail"]
    assert not Inspection.objects.exists() and not SyncReceipt.objects.exists()
    assert not media_files()


def test_a_bad_record_lists_every_bad_field(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    rec = record(
        survey,
        register.t1,
        categories=[],
        partner_name="",
        check_method="by_phone",
        inspected_at="昨天",
        signed=False,
    )
    response = send(api, rec)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"categories", "partner_name", "check_method", "inspected_at", "signed"}
    assert "至少选择一项问题类型" in errors["categories"][0]
    assert "同组摸排人" in errors["partner_name"][0]
    assert not Inspection.objects.exists()


def test_a_problem_toilet_without_categories_is_refused(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, register.t1, categories=[], signed=False))
    assert response.status_code == 400
    body = response.json()
    assert "至少选择一项问题类型" in body["errors"]["categories"][0]
    assert "本人对摸排结果真实性负责" in body["errors"]["signed"][0]
    assert "non_field_errors" not in body["errors"]
    assert not Inspection.objects.exists()


def test_a_problem_toilet_without_photo_needs_a_reason(api, users, register, survey):
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, register.t1), photos=[])
    assert response.status_code == 400
    assert "问题厕所没有现场照片" in response.json()["errors"]["evidence_reason"][0]
    rec = record(survey, register.t1, evidence_reason="农户不让拍照")
    assert send(api, rec, photos=[]).status_code == 201
    assert Inspection.objects.get().evidence_reason == "农户不让拍照"


@pytest.mark.parametrize(
    "key, rec, field",
    [
        ("not-a-uuid", "{}", "key"),
        (None, "{}", "key"),
        ("5d3b6f0e-8a43-4f0e-9d0b-3f6f5a3c2e11", "{not json", "record"),
        ("5d3b6f0e-8a43-4f0e-9d0b-3f6f5a3c2e11", "[1, 2]", "record"),
        ("5d3b6f0e-8a43-4f0e-9d0b-3f6f5a3c2e11", '{"round": "x", "toilet": 1}', "round"),
    ],
)
def test_a_bad_key_or_body_is_refused_in_chinese(api, users, key, rec, field):
    api.force_authenticate(users.surveyor)
    body = {"record": rec} if key is None else {"key": key, "record": rec}
    response = api.post(SYNC, body, format="multipart")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["detail"])


@pytest.mark.parametrize("who", ["township", "county", "inspector"])
def test_a_role_that_does_not_inspect_is_refused(api, users, register, survey, who):
    api.force_authenticate(getattr(users, who))
    response = send(api, record(survey, register.t1))
    assert response.status_code == 403
    assert "村级摸排员" in response.json()["detail"]
    assert not Inspection.objects.exists()


def test_anonymous_is_refused(api, register, survey):
    assert send(api, record(survey, register.t1)).status_code == 401


def test_the_session_with_its_csrf_token_is_accepted(register, survey, users):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users.surveyor)
    body = {"key": str(uuid.uuid4()), "record": json.dumps(record(survey, register.t1))}
    body["photos"] = [jpeg("site.jpg")]
    assert browser.post(SYNC, body).status_code == 403  # no token: refused
    browser.get(reverse("surveys:inspect", args=[survey.pk, register.t1.pk]))
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    body["photos"] = [jpeg("site.jpg")]
    response = browser.post(SYNC, body, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.content


def test_a_demolished_toilet_is_refused(api, users, tree, survey):
    toilet = ToiletFactory(household__village=tree.v1, status="demolished")
    api.force_authenticate(users.surveyor)
    response = send(api, record(survey, toilet))
    assert response.status_code == 400
    assert "拆除" in response.json()["detail"]
    assert not InspectionFlag.objects.exists() and not Inspection.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="concurrent requests need a database with row locks",
)
def test_the_same_record_sent_twice_at_once_is_stored_once(users, register, survey):
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    key = uuid.uuid4()
    barrier = threading.Barrier(2)
    codes = []

    def post():
        client = APIClient()
        client.force_authenticate(users.surveyor)
        try:
            barrier.wait()
            codes.append(send(client, record(survey, register.t1), key=key).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 201]
    assert Inspection.objects.count() == 1 and SyncReceipt.objects.count() == 1
    assert Inspection.objects.get().photos.count() == 1

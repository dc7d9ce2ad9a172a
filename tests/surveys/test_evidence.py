"""Evidence at save time (issue 13): a problem toilet without a photo, or a photo taken far
from the toilet, is saved only with the surveyor's confirmed reason, which the township sees."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.geo import FAR_METRES
from surveys import services
from surveys.models import Inspection, ProblemCategory
from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory
from tests.images import jpeg

pytestmark = pytest.mark.django_db

AT_THE_TOILET = (21.91, 108.61)
IN_TOWN = (21.95, 108.61)  # about 4.4 km north


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2026年摸排")


@pytest.fixture
def toilet(tree):
    household = HouseholdFactory(village=tree.v1, head_name="王建国")
    return ToiletFactory(
        household=household, latitude=Decimal("21.910000"), longitude=Decimal("108.610000")
    )


def inspect_url(survey, toilet):
    return reverse("surveys:inspect", args=[survey.pk, toilet.pk])


def form_data(**overrides):
    data = {
        "household_present": "True",
        "check_method": "on_site",
        "usability": "unusable",
        "categories": ["tank"],
        "minor_fixes": "",
        "notes": "",
        "partner_name": "李四",
        "inspected_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "signed": "on",
    }
    data.update(overrides)
    return data


def test_the_form_asks_for_the_reason_and_hides_the_phones_position(as_user, users, survey, toilet):
    page = as_user(users.surveyor).get(inspect_url(survey, toilet)).content.decode()
    assert "无照片或照片位置偏远的原因" in page
    assert 'type="hidden" name="device_latitude"' in page
    assert 'type="hidden" name="device_accuracy"' in page


def test_a_problem_toilet_without_photo_or_reason_is_refused(as_user, users, survey, toilet):
    response = as_user(users.surveyor).post(inspect_url(survey, toilet), form_data())
    assert response.status_code == 200
    text = response.content.decode()
    assert "问题厕所没有现场照片；请补拍，或填写原因后再保存。" in text
    assert not Inspection.objects.exists()


def test_with_a_reason_it_is_saved_and_the_township_sees_the_reason(
    as_user, client, users, survey, toilet
):
    response = as_user(users.surveyor).post(
        inspect_url(survey, toilet), form_data(evidence_reason="  农户不同意拍照  ")
    )
    assert response.status_code == 302
    inspection = Inspection.objects.get()
    assert inspection.evidence_reason == "农户不同意拍照"

    client.logout()
    township = as_user(users.township)
    review = township.get(reverse("surveys:review", args=[survey.pk])).content.decode()
    assert "农户不同意拍照" in review
    detail = township.get(reverse("surveys:inspection-detail", args=[inspection.pk]))
    assert "农户不同意拍照" in detail.content.decode()
    flags = township.get(reverse("surveys:flags", args=[survey.pk])).content.decode()
    assert "问题厕所没有照片" in flags and "摸排员说明：农户不同意拍照" in flags


def test_a_problem_toilet_with_a_photo_at_the_toilet_needs_no_reason(
    as_user, users, survey, toilet
):
    response = as_user(users.surveyor).post(
        inspect_url(survey, toilet), form_data(photos=[jpeg("site.jpg", gps=AT_THE_TOILET)])
    )
    assert response.status_code == 302
    assert Inspection.objects.get().photos.count() == 1


def test_a_normal_toilet_without_photo_needs_no_reason(as_user, users, survey, toilet):
    response = as_user(users.surveyor).post(
        inspect_url(survey, toilet), form_data(usability="normal", categories=[])
    )
    assert response.status_code == 302


def test_a_far_photo_needs_a_reason(as_user, users, survey, toilet):
    client = as_user(users.surveyor)
    response = client.post(
        inspect_url(survey, toilet), form_data(photos=[jpeg("town.jpg", gps=IN_TOWN)])
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "照片拍摄位置距厕所约 44" in text and f"超过 {FAR_METRES} 米" in text
    assert "请补拍，或填写原因后再保存" in text
    assert not Inspection.objects.exists()

    response = client.post(
        inspect_url(survey, toilet),
        form_data(
            usability="normal",
            categories=[],
            photos=[jpeg("town.jpg", gps=IN_TOWN)],
            evidence_reason="农户把便器拿到镇上修，照片在店里拍的",
        ),
    )
    assert response.status_code == 302
    inspection = Inspection.objects.get()
    assert inspection.evidence_reason.startswith("农户把便器")
    assert inspection.flags.filter(kind="far_from_toilet").exists()


def test_the_township_sees_the_reason_next_to_the_far_flag(as_user, client, users, survey, toilet):
    as_user(users.surveyor).post(
        inspect_url(survey, toilet),
        form_data(photos=[jpeg("town.jpg", gps=IN_TOWN)], evidence_reason="在镇上补拍的"),
    )
    client.logout()
    flags = as_user(users.township).get(reverse("surveys:flags", args=[survey.pk]))
    text = flags.content.decode()
    assert "照片位置远离厕所" in text and "摸排员说明：在镇上补拍的" in text


def test_an_edit_keeps_counting_the_photos_already_there(as_user, users, survey, toilet):
    client = as_user(users.surveyor)
    client.post(inspect_url(survey, toilet), form_data(photos=[jpeg(gps=AT_THE_TOILET)]))
    inspection = Inspection.objects.get()
    response = client.post(
        inspect_url(survey, toilet), form_data(version=inspection.version, notes="补充说明")
    )
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert inspection.notes == "补充说明" and inspection.evidence_reason == ""


def test_the_phones_position_from_the_page_is_stored(as_user, users, survey, toilet):
    client = as_user(users.surveyor)
    data = form_data(
        photos=[jpeg(gps=AT_THE_TOILET)],
        device_latitude="21.9100004",
        device_longitude="108.61",
        device_accuracy="8.6",
    )
    assert client.post(inspect_url(survey, toilet), data).status_code == 302
    inspection = Inspection.objects.get()
    assert inspection.device_latitude == Decimal("21.910000")
    assert inspection.device_longitude == Decimal("108.610000")
    assert inspection.device_accuracy == 9


def test_a_position_the_phone_could_not_give_does_not_block_the_save(
    as_user, users, survey, toilet
):
    data = form_data(
        photos=[jpeg(gps=AT_THE_TOILET)],
        device_latitude="NaN",
        device_longitude="999",
        device_accuracy="-3",
    )
    assert as_user(users.surveyor).post(inspect_url(survey, toilet), data).status_code == 302
    inspection = Inspection.objects.get()
    assert inspection.device_latitude is None and inspection.device_longitude is None
    assert inspection.device_accuracy is None


def test_other_callers_keep_saving_without_a_reason(users, survey, toilet, api):
    # Fixtures, imports and the REST create do not ask for the reason (not confirm_evidence).
    inspection = Inspection(
        round=survey,
        toilet=toilet,
        usability="unusable",
        check_method="on_site",
        partner_name="李四",
        inspected_at=timezone.now(),
        signed=True,
    )
    services.save_inspection(
        actor=users.surveyor,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code="tank")),
    )
    assert inspection.pk and inspection.evidence_reason == ""
    api.force_authenticate(users.surveyor)
    body = api.get(f"/api/inspections/{inspection.pk}/").json()
    assert body["evidence_reason"] == ""


def test_the_api_shows_the_reason(as_user, users, survey, toilet, api):
    as_user(users.surveyor).post(inspect_url(survey, toilet), form_data(evidence_reason="无法拍照"))
    inspection = Inspection.objects.get()
    api.force_authenticate(users.township)
    assert api.get(f"/api/inspections/{inspection.pk}/").json()["evidence_reason"] == "无法拍照"

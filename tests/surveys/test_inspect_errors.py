"""The inspection form shows every refusal of the service at once, each on its own field, so
the surveyor fixes everything in one go instead of one error per save."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rectification.models import LedgerEntry
from surveys.models import Inspection
from tests.factories import SurveyRoundFactory
from tests.surveys.test_surveys import form_data

pytestmark = pytest.mark.django_db

NO_CATEGORY = "不能使用或不能全年使用的厕所，请至少选择一项问题类型。"
IN_THE_FUTURE = "摸排时间不能晚于现在。"


def test_every_error_of_the_service_is_shown_at_once(as_user, users, register, tree):
    survey = SurveyRoundFactory(county=tree.county)
    tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    # Both pass the form's own checks; the service refuses both in one ValidationError.
    data = form_data(categories=None, inspected_at=tomorrow)

    response = as_user(users.surveyor).post(
        reverse("surveys:inspect", args=[survey.pk, register.t1.pk]), data
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["categories"] == [NO_CATEGORY]
    assert errors["inspected_at"] == [IN_THE_FUTURE]
    page = response.content.decode()
    assert NO_CATEGORY in page and IN_THE_FUTURE in page
    assert not Inspection.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_every_unusable_photo_is_named_at_once(as_user, users, register, tree):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.images import gif, jpeg

    survey = SurveyRoundFactory(county=tree.county)
    broken = SimpleUploadedFile("坏照片.jpg", b"not an image", content_type="image/jpeg")
    animated = gif("动图.gif")
    response = as_user(users.surveyor).post(
        reverse("surveys:inspect", args=[survey.pk, register.t1.pk]),
        form_data(photos=[jpeg("好照片.jpg"), broken, animated]),
    )
    photo_errors = response.context["form"].errors["photos"]
    # Both bad photos are named in one answer, not the first one per save.
    assert len(photo_errors) == 2
    assert any("坏照片.jpg" in e for e in photo_errors)
    assert any("动图.gif" in e for e in photo_errors)
    assert not Inspection.objects.exists()


def test_a_date_before_2000_is_a_typing_error(as_user, users, register, tree):
    survey = SurveyRoundFactory(county=tree.county)
    response = as_user(users.surveyor).post(
        reverse("surveys:inspect", args=[survey.pk, register.t1.pk]),
        form_data(inspected_at="1011-06-16T16:52"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["inspected_at"] == [
        "摸排时间不能早于 2000 年，请检查日期。"
    ]
    assert not Inspection.objects.exists()

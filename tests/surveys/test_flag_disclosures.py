"""The reused-photo flag across two townships: its detail is shown to whoever sees the flagged
inspection, so it names neither the other inspection nor its village (page and API)."""

import re

import pytest
from django.urls import reverse

from surveys.flags import REUSED_PHOTO_DETAIL, refresh_flags
from surveys.models import FlagKind, InspectionFlag
from tests.surveys.test_flags import add_photo, inspection

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(tree):
    from tests.factories import SurveyRoundFactory

    return SurveyRoundFactory(county=tree.county, name="2022年回头看")


@pytest.fixture
def shared(tree, users, survey):
    """One photo on an inspection in V1 (township T1) and on one in V3 (township T2)."""
    one = inspection(survey, users.surveyor, village=tree.v1)
    three = inspection(survey, users.surveyor, village=tree.v3)
    add_photo(one, color=(9, 8, 7))
    add_photo(three, color=(9, 8, 7))
    refresh_flags(three)
    return one, three


def details(inspection):
    return list(
        InspectionFlag.objects.filter(
            inspection=inspection, kind=FlagKind.REUSED_PHOTO
        ).values_list("detail", flat=True)
    )


def secrets_of(inspection):
    village = inspection.toilet.village
    return [village.name, village.parent.name, village.code]


def assert_nothing_about(inspection, body):
    """Neither the other inspection's id (as ``#id``, not a colour like #166e4a, nor a link)
    nor its village, township or code."""
    assert not re.search(rf"#{inspection.pk}(?![0-9a-fA-F])", body)
    assert f"/inspections/{inspection.pk}/" not in body
    for secret in secrets_of(inspection):
        assert secret not in body, secret


def test_both_inspections_are_flagged_with_the_neutral_detail(shared):
    one, three = shared
    assert details(one) == details(three) == [REUSED_PHOTO_DETAIL]
    assert REUSED_PHOTO_DETAIL == "该照片也用于本县另一厕所的摸排记录"


@pytest.mark.parametrize("who,mine,theirs", [("township", 0, 1), ("township_t2", 1, 0)])
def test_neither_township_sees_the_others_inspection_on_the_page(
    as_user, users, survey, shared, who, mine, theirs
):
    response = as_user(getattr(users, who)).get(reverse("surveys:flags", args=[survey.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert REUSED_PHOTO_DETAIL in body
    assert [i.pk for i in response.context["inspections"]] == [shared[mine].pk]
    assert_nothing_about(shared[theirs], body)


@pytest.mark.parametrize("who,mine,theirs", [("township", 0, 1), ("township_t2", 1, 0)])
def test_neither_township_sees_the_others_inspection_on_the_inspection_page(
    as_user, users, shared, who, mine, theirs
):
    url = reverse("surveys:inspection-detail", args=[shared[mine].pk])
    response = as_user(getattr(users, who)).get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert REUSED_PHOTO_DETAIL in body
    assert_nothing_about(shared[theirs], body)


@pytest.mark.parametrize("who,mine,theirs", [("township", 0, 1), ("township_t2", 1, 0)])
def test_neither_township_sees_the_others_inspection_in_the_api(
    api, users, shared, who, mine, theirs
):
    api.force_authenticate(getattr(users, who))
    response = api.get("/api/inspection-flags/", {"kind": FlagKind.REUSED_PHOTO})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["inspection"] for r in rows] == [shared[mine].pk]
    assert [r["detail"] for r in rows] == [REUSED_PHOTO_DETAIL]
    body = response.content.decode()
    assert_nothing_about(shared[theirs], body)

"""先培训后上岗: a surveyor enters and a township verifies inspections only with a training
record on file, and is told so in plain Chinese when it is missing."""

import pytest
from django.core.exceptions import PermissionDenied

from regions.choices import Role
from regions.models import TrainingRecord
from regions.scoping import forget_scope, has_capability
from surveys.models import Inspection
from tests.factories import InspectionFactory, SurveyRoundFactory, UserFactory
from tests.surveys.test_surveys import form_data, inspect_url

pytestmark = pytest.mark.django_db

MISSING = "先培训后上岗"


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2026年摸排")


@pytest.fixture
def untrained(tree):
    return UserFactory(username="new_surveyor", role=(Role.SURVEYOR, tree.v1), trained=False)


def test_an_untrained_surveyor_is_told_to_train_first_and_saves_nothing(
    as_user, untrained, register, survey
):
    client = as_user(untrained)
    page = client.get(inspect_url(survey, register.t1))
    assert page.status_code == 403 and MISSING in page.content.decode()
    response = client.post(inspect_url(survey, register.t1), form_data())
    assert response.status_code == 403 and MISSING in response.content.decode()
    assert not Inspection.objects.exists()


def test_once_the_training_is_on_file_the_same_surveyor_inspects(
    as_user, untrained, register, survey
):
    TrainingRecord.objects.create(
        user=untrained, trained_on="2026-03-02", course="摸排业务培训", trainer="县农业农村局"
    )
    data = form_data(usability="normal", categories=None)
    response = as_user(untrained).post(inspect_url(survey, register.t1), data)
    assert response.status_code == 302, response.context["form"].errors
    assert Inspection.objects.filter(toilet=register.t1, surveyor=untrained).exists()


def test_the_api_refuses_with_the_same_message(api, untrained, register, survey):
    api.force_authenticate(untrained)
    response = api.post(
        "/api/inspections/",
        {"round": survey.pk, "toilet": register.t1.pk},
        format="json",
    )
    assert response.status_code == 403
    assert MISSING in response.json()["detail"]


def test_an_untrained_township_reviewer_cannot_verify(tree, users, register, survey):
    from surveys import services

    reviewer = UserFactory(username="new_reviewer", role=(Role.TOWNSHIP, tree.t1), trained=False)
    inspection = InspectionFactory(round=survey, toilet=register.t1, surveyor=users.surveyor)
    assert not has_capability(reviewer, "verify")
    with pytest.raises(PermissionDenied, match=MISSING):
        services.verify_inspection(actor=reviewer, inspection=inspection)
    TrainingRecord.objects.create(
        user=reviewer, trained_on="2026-03-02", course="核查业务培训", trainer="县农业农村局"
    )
    forget_scope(reviewer)
    assert has_capability(reviewer, "verify")


def test_roles_without_field_work_need_no_training(tree, users):
    county = UserFactory(username="new_county", role=(Role.COUNTY, tree.county), trained=False)
    assert has_capability(county, "manage_rounds")
    assert not TrainingRecord.objects.filter(user=users.county).exists()

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from public import services
from public.models import ServiceContact
from tests.factories import SurveyRoundFactory


@pytest.fixture
def contact(tree):
    return ServiceContact.objects.create(
        township=tree.t1, service_phone="0777-3211000", complaint_phone="0777-3219999"
    )


@pytest.fixture
def plate(users, register, contact):
    return services.issue_plate(actor=users.township, toilet=register.t1)


@pytest.fixture
def survey_round(tree):
    return SurveyRoundFactory(county=tree.county)


@pytest.fixture
def public_client(client):
    """An anonymous client that keeps CSRF checks on, like a phone's browser."""
    return client


def file_report(plate, **overrides):
    filing = services.Filing(
        kind=overrides.pop("kind", "report"),
        category=overrides.pop("category", "tank"),
        description=overrides.pop("description", "化粪池满了，往外冒"),
        **overrides,
    )
    return services.file_lead(plate=plate, filing=filing)


def oversized_photo():
    return SimpleUploadedFile(
        "big.jpg", b"\xff\xd8\xff" + b"0" * (services.PHOTO_MAX_BYTES + 10), "image/jpeg"
    )

"""Plates: made once per toilet, random number and token, revoked and reissued; the print
pages (A6 and the village's A4 batch) with an SVG QR code of the public URL; the service
phone set by the township or the county."""

import re

import pytest
from django.db import IntegrityError
from django.urls import reverse

from public import services
from public.models import Plate, ServiceContact
from tests.factories import ToiletFactory

pytestmark = pytest.mark.django_db


def test_a_toilet_has_one_plate_in_force(users, register, contact):
    first = services.issue_plate(actor=users.township, toilet=register.t1)
    assert services.issue_plate(actor=users.township, toilet=register.t1) == first
    assert len(first.number) == 8 and len(first.token) >= 22
    # Unguessable: neither the number nor the token is (or counts with) the database id.
    second = services.issue_plate(actor=users.township, toilet=ToiletFactory(household=register.h1))
    assert first.token != str(first.pk) and first.number != str(first.pk)
    assert len(set(first.token) ^ set(second.token)) > 4  # not a counter's neighbours
    with pytest.raises(IntegrityError):
        Plate.objects.create(
            toilet=register.t1, number="ACDEFGHJ", token="x" * 24, issued_by=users.township
        )


def test_reissuing_revokes_the_old_plate_with_a_reason(users, plate):
    with pytest.raises(services.ValidationError):
        services.reissue_plate(actor=users.township, plate=plate, reason="")
    fresh = services.reissue_plate(actor=users.township, plate=plate, reason="被雨水损毁")
    plate.refresh_from_db()
    assert plate.revoked_at is not None and plate.revoke_reason == "被雨水损毁"
    assert fresh.is_active and fresh.toilet_id == plate.toilet_id
    with pytest.raises(services.ConflictError):
        services.reissue_plate(actor=users.township, plate=plate, reason="again")


def test_plates_are_scoped(as_user, users, register, plate):
    with pytest.raises(services.PermissionDenied):
        services.issue_plate(actor=users.township_t2, toilet=register.t1)
    with pytest.raises(services.PermissionDenied):
        services.issue_plate(actor=users.surveyor, toilet=register.t1)
    client = as_user(users.township_t2)
    assert client.get(reverse("public:plate-print", args=[plate.pk])).status_code == 404
    assert client.get(reverse("public:toilet-plates", args=[register.t1.pk])).status_code == 404
    code = register.t1.village.code
    assert client.get(reverse("public:village-plates", args=[code])).status_code == 404


def test_the_township_makes_a_village_batch(as_user, users, tree, register, contact):
    ToiletFactory(household__village=tree.v1)
    client = as_user(users.township)
    url = reverse("public:village-plates", args=[tree.v1.code])
    assert client.post(url).status_code == 302
    assert Plate.objects.active().filter(toilet__village=tree.v1).count() == 2
    client.post(url)  # nothing more to make
    assert Plate.objects.count() == 2


def test_the_a6_plate_prints_the_public_facts_and_a_qr_code(as_user, users, plate, settings):
    settings.PUBLIC_BASE_URL = "https://toilets.example.gov.cn"
    html = (
        as_user(users.township).get(reverse("public:plate-print", args=[plate.pk])).content.decode()
    )
    assert plate.display_number in html
    assert "0777-3211000" in html and "沙埠村" in html and "三格化粪池式" in html
    assert f'data-qr-url="https://toilets.example.gov.cn/p/{plate.token}/"' in html
    assert "<svg" in html and "<path" in html
    assert "王建国" not in html  # the household is not named on the plate
    assert "style=" not in html and not re.search(r"\son[a-z]+=", html)
    assert "<script>" not in html


def test_without_a_base_url_the_qr_code_uses_the_request_host(as_user, users, plate, settings):
    settings.PUBLIC_BASE_URL = ""
    html = (
        as_user(users.township).get(reverse("public:plate-print", args=[plate.pk])).content.decode()
    )
    assert f'data-qr-url="http://testserver/p/{plate.token}/"' in html


def test_the_a4_batch_has_four_plates_a_page(as_user, users, tree, register, contact):
    for _ in range(4):
        ToiletFactory(household__village=tree.v1)
    services.issue_village_plates(actor=users.township, village=tree.v1)
    html = (
        as_user(users.township)
        .get(reverse("public:village-plates-print", args=[tree.v1.code]))
        .content.decode()
    )
    assert html.count('class="sheet a4"') == 2
    assert html.count("data-plate=") == 5
    assert html.count('class="cut v top"') == 2


def test_a_revoked_plate_is_not_printed(as_user, users, plate):
    services.reissue_plate(actor=users.township, plate=plate, reason="丢失")
    client = as_user(users.township)
    assert client.get(reverse("public:plate-print", args=[plate.pk])).status_code == 404


def test_the_toilet_page_links_to_its_plate(as_user, users, register):
    html = as_user(users.township).get(reverse("toilets:toilet-detail", args=[register.t1.pk]))
    assert reverse("public:toilet-plates", args=[register.t1.pk]) in html.content.decode()


def test_the_township_sets_its_service_phone(as_user, users, tree):
    client = as_user(users.township)
    response = client.post(reverse("public:contact"), {"service_phone": "abc"})
    assert response.status_code == 400
    response = client.post(
        reverse("public:contact"), {"service_phone": "0777-1234567", "complaint_phone": "12345"}
    )
    assert response.status_code == 400  # a 5-digit 举报电话 is refused
    client.post(reverse("public:contact"), {"service_phone": "0777-1234567", "complaint_phone": ""})
    assert ServiceContact.objects.get(township=tree.t1).service_phone == "0777-1234567"


def test_the_county_sets_a_township_phone_but_not_another_county(as_user, users, tree):
    client = as_user(users.county)
    url = reverse("public:contact") + f"?township={tree.t2.code}"
    client.post(url, {"service_phone": "0777-7654321"})
    assert ServiceContact.objects.get(township=tree.t2).service_phone == "0777-7654321"
    outside = reverse("public:contact") + f"?township={tree.t3.code}"
    assert client.post(outside, {"service_phone": "0777-7654321"}).status_code == 404
    assert as_user(users.surveyor).post(
        reverse("public:contact") + f"?township={tree.t1.code}", {"service_phone": "0777-1"}
    ).status_code in (400, 404)
    assert not ServiceContact.objects.filter(township=tree.t1).exists()

"""The public page of a plate (no login): only the listed public facts, its two forms with
their lookup codes, throttling, uploads, the honeypot, revoked plates."""

import re

import pytest
from django.urls import reverse

from public import services
from public.choices import CODE_ALPHABET
from public.models import Lead
from rectification.choices import LedgerState
from rectification.models import LedgerEntry
from tests.factories import InspectionFactory
from tests.images import gif, jpeg

from .conftest import file_report, oversized_photo

pytestmark = pytest.mark.django_db


def url(plate):
    return reverse("public:plate", args=[plate.token])


def private_strings(household):
    return [household.head_name, household.id_number, household.id_number[-6:], household.phone]


def assert_nothing_private(html, household):
    for value in private_strings(household):
        assert value not in html, f"public page shows {value!r}"
    assert "<img" not in html  # no photo of anything


def post(client, plate, which="report", **data):
    fields = {
        "which": which,
        f"{which}-category": "tank" if which == "report" else "pumping",
        f"{which}-description": "化粪池满了",
        f"{which}-phone": "",
        f"{which}-website": "",
    }
    fields.update({f"{which}-{k}": v for k, v in data.items()})
    return client.post(url(plate), fields)


def test_it_shows_the_public_facts(client, plate, register):
    response = client.get(url(plate))
    assert response.status_code == 200
    html = response.content.decode()
    assert "沙埠镇沙埠村" in html
    assert "三格化粪池式" in html
    assert "2018 年" in html
    assert "0777-3211000" in html
    assert plate.display_number in html
    assert_nothing_private(html, register.h1)


def test_it_leaks_nothing_private_in_any_toilet_state(client, plate, register, users, survey_round):
    household = register.h1
    pages = [client.get(url(plate)).content.decode()]
    # A report waiting, with the reporter's phone and a photo.
    lead = file_report(plate, phone="13900001111", photo=jpeg())
    pages.append(client.get(url(plate)).content.decode())
    # A problem found by a survey: an open ledger entry.
    inspection = InspectionFactory(toilet=register.t1, round=survey_round, usability="unusable")
    LedgerEntry.objects.create(
        toilet=register.t1,
        found_in=survey_round,
        opened_by_inspection=inspection,
        last_inspection=inspection,
        usability="unusable",
    )
    services.act(actor=users.township, lead=lead, action="merge")
    pages.append(client.get(url(plate)).content.decode())
    # Demolished toilet: the plate still answers with public facts only.
    register.t1.status = "demolished"
    register.t1.save()
    pages.append(client.get(url(plate)).content.decode())
    for html in pages:
        assert_nothing_private(html, household)
        assert "13900001111" not in html
        assert "化粪池满了" not in html  # the report's own text is not public either
    lookup = client.get(reverse("public:lookup"), {"code": lead.code}).content.decode()
    assert_nothing_private(lookup, household)
    assert "13900001111" not in lookup


def test_a_report_gets_a_lookup_code(client, plate):
    response = post(client, plate, description="厕所门坏了，漏雨", photo=jpeg())
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.kind == "report" and lead.state == "new" and lead.toilet_id == plate.toilet_id
    assert lead.code in response.content.decode()
    assert lead.photo  # stored re-encoded
    assert lead.log.get().action == "file"


def test_a_maintenance_request_gets_a_lookup_code(client, plate):
    response = post(client, plate, "maintenance", category="pumping", phone="13900001111")
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.kind, lead.category, lead.phone) == ("maintenance", "pumping", "13900001111")


def test_lookup_codes_are_random_and_unambiguous(plate):
    codes = {file_report(plate).code for _ in range(8)}
    assert len(codes) == 8
    for code in codes:
        assert len(code) >= 8
        assert set(code) <= set(CODE_ALPHABET)
        assert not set(code) & set("0O1IL")


def test_a_wrong_code_is_a_404_that_says_nothing_about_others(client, plate):
    lead = file_report(plate)
    near = lead.code[:-1] + ("A" if lead.code[-1] != "A" else "C")
    answers = [client.get(reverse("public:lookup"), {"code": c}) for c in (near, "ZZZZZZZZ")]
    assert [r.status_code for r in answers] == [404, 404]
    bodies = [re.sub(r'value="[^"]*"', "", r.content.decode()) for r in answers]
    bodies = [re.sub(r"csrfmiddlewaretoken[^>]*>", "", b) for b in bodies]
    assert bodies[0] == bodies[1]
    assert lead.code not in bodies[0]
    ok = client.get(reverse("public:lookup"), {"code": lead.code.lower()})
    assert ok.status_code == 200
    assert "待处理" in ok.content.decode()


def test_the_form_is_throttled_per_ip(client, plate, settings):
    settings.PUBLIC_LEAD_RATE_IP = "2/h"
    assert post(client, plate).status_code == 200
    assert post(client, plate).status_code == 200
    response = post(client, plate)
    assert response.status_code == 429
    assert "操作过于频繁" in response.content.decode()
    assert Lead.objects.count() == 2


def test_the_form_is_throttled_per_toilet(client, plate, settings):
    settings.PUBLIC_LEAD_RATE_IP = None
    settings.PUBLIC_LEAD_RATE_TOILET = "2/d"
    for n, address in enumerate(["10.0.0.1", "10.0.0.2", "10.0.0.3"]):
        data = {"which": "report", "report-category": "tank", "report-description": f"第{n}次"}
        response = client.post(url(plate), data, REMOTE_ADDR=address)
        assert response.status_code == (429 if n == 2 else 200)
    assert Lead.objects.count() == 2


def test_the_lookup_is_throttled(client, settings):
    settings.PUBLIC_LOOKUP_RATE = "3/h"
    statuses = [
        client.get(reverse("public:lookup"), {"code": "AAAAAAAA"}).status_code for _ in range(4)
    ]
    assert statuses == [404, 404, 404, 429]


def test_it_refuses_oversized_and_wrong_type_photos(client, plate):
    response = post(client, plate, photo=oversized_photo())
    assert response.status_code == 400
    assert "照片超过 5 MB" in response.content.decode()
    response = post(client, plate, photo=gif())
    assert response.status_code == 400
    assert "只接受" in response.content.decode()
    fake = jpeg()
    fake.file.seek(0)
    fake.file.write(b"not an image at all")
    fake.file.truncate()
    response = post(client, plate, photo=fake)
    assert response.status_code == 400
    assert Lead.objects.count() == 0


def test_the_stored_photo_keeps_no_gps(plate):
    lead = file_report(plate, photo=jpeg(gps=(21.9, 108.6)))
    from PIL import Image

    with Image.open(lead.photo.path) as image:
        assert not image.getexif().get_ifd(0x8825)


def test_the_honeypot_refuses_robots(client, plate):
    response = post(client, plate, website="http://spam.example")
    assert response.status_code == 400
    assert Lead.objects.count() == 0


def test_a_revoked_plate_is_a_404(client, plate, users):
    fresh = services.reissue_plate(actor=users.township, plate=plate, reason="标识牌丢失")
    assert client.get(url(plate)).status_code == 404
    assert post(client, plate).status_code == 404
    assert client.get(url(fresh)).status_code == 200
    assert fresh.number != plate.number and fresh.token != plate.token


def test_an_unknown_token_is_a_404(client, plate):
    assert client.get(reverse("public:plate", args=["x" + plate.token[1:]])).status_code == 404


def test_the_public_pages_carry_no_inline_script_and_no_tracker(client, plate):
    html = client.get(url(plate)).content.decode()
    assert "<script>" not in html and "<script " not in html.replace('<script src="/static/', "")
    assert not re.search(r"\son[a-z]+=", html)
    assert "style=" not in html
    assert re.findall(r'<script src="([^"]+)"', html) == ["/static/js/public.js"]


def test_the_lookup_shows_the_answer_and_the_ledger_progress(client, plate, users, survey_round):
    lead = file_report(plate)
    services.act(
        actor=users.township,
        lead=lead,
        action="convert",
        usability="unusable",
        categories=["tank"],
        answer="已核实，列入整改台账。",
    )
    html = client.post(reverse("public:lookup"), {"code": lead.code}).content.decode()
    assert "已核实，列入整改台账。" in html
    assert "已登记整改台账" in html
    assert LedgerState.REGISTERED.label in html

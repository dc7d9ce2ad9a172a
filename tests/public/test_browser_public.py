"""The public side in real headless Chromium on a phone: a visitor opens a plate's page,
files a report with a photo and gets a lookup code; the township converts it into a ledger
entry; the visitor sees the answer. And the printed plate and 公示: Chromium's print to PDF,
``pdftoppm`` to PNG, the QR code decoded back to the page's URL."""

import datetime
import shutil
import subprocess

import pytest

from tests.browser import fits_a_phone, log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    with phone_page(has_touch=True) as page:
        yield page


@pytest.fixture
def setup(users, register, tree):
    from public import services
    from public.models import ServiceContact
    from tests.factories import SurveyRoundFactory

    ServiceContact.objects.create(
        township=tree.t1, service_phone="0777-3211000", complaint_phone="0777-3219999"
    )
    SurveyRoundFactory(county=tree.county, name="2024年问题摸排")
    return services.issue_plate(actor=users.township, toilet=register.t1)


def test_a_report_filed_on_a_phone_becomes_a_ledger_entry_and_is_answered(
    page, live_server, setup, register
):
    from public.models import Lead
    from tests.images import jpeg

    plate = setup
    page.goto(f"{live_server.url}/p/{plate.token}/")
    assert page.locator("h1").inner_text() == "沙埠镇沙埠村"
    assert register.h1.head_name not in page.content()
    assert fits_a_phone(page)
    page.click("#report summary")
    page.select_option("#id_report-category", "tank")
    page.fill("#id_report-description", "化粪池往外冒，味道很大")
    photo = jpeg("tank.jpg")
    page.set_input_files(
        "#id_report-photo",
        files=[{"name": "tank.jpg", "mimeType": "image/jpeg", "buffer": photo.read()}],
    )
    page.click("#report button[type=submit]")
    code = page.locator("[data-lookup-code]").inner_text().strip()
    lead = Lead.objects.get(code=code)
    assert lead.photo

    # The township sees it in its queue and converts it into a ledger entry.
    log_in(page, live_server, "township")
    page.click("nav.nav >> text=群众反映")
    page.click(f"tr[data-lead='{code}'] a.button")
    page.check("#step-convert input[value=unusable]")
    page.check("#step-convert input[value=tank]")
    page.click("#step-convert button[type=submit]")
    page.wait_for_selector("text=已登记整改台账")
    lead.refresh_from_db()
    assert lead.state == "converted" and lead.ledger_entry is not None

    # The visitor looks the code up.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/p/lookup/")
    page.fill("#id_code", code.lower())
    page.click("button[type=submit]")
    assert page.locator("[data-lead-state]").inner_text() == "已登记整改台账"
    assert "已列入问题厕所整改台账" in page.locator("[data-answer]").inner_text()
    assert page.locator("[data-progress]").inner_text() == "登记"
    assert fits_a_phone(page)


def _decode_qr(pdf: bytes, tmp_path) -> list[str]:
    cv2 = pytest.importorskip("cv2")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    source = tmp_path / "print.pdf"
    source.write_bytes(pdf)
    detector = cv2.QRCodeDetector()
    # A detector can miss one rendering of a given random code and read the next: a few
    # resolutions, the first that reads wins.
    for resolution in (150, 200, 300):
        prefix = tmp_path / f"page{resolution}"
        subprocess.run(
            ["pdftoppm", "-r", str(resolution), "-png", str(source), str(prefix)], check=True
        )
        found = []
        for png in sorted(tmp_path.glob(f"page{resolution}*.png")):
            image = cv2.imread(str(png))
            ok, texts, _, _ = detector.detectAndDecodeMulti(image)
            if ok and any(texts):
                found.extend(t for t in texts if t)
            else:
                text, _, _ = detector.detectAndDecode(image)
                if text:
                    found.append(text)
        if found:
            return found
    return []


def test_the_printed_plate_decodes_to_its_public_page(page, live_server, setup, tmp_path, settings):
    plate = setup
    settings.PUBLIC_BASE_URL = ""
    log_in(page, live_server, "township")
    page.goto(f"{live_server.url}/public/plates/{plate.pk}/print/")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert _decode_qr(pdf, tmp_path) == [f"{live_server.url}/p/{plate.token}/"]


def test_the_printed_posting_decodes_to_its_objection_page(
    page, live_server, setup, users, tree, tmp_path
):
    from django.utils import timezone

    from public import services

    today = timezone.localdate()
    posting = services.draw_up_posting(
        actor=users.township,
        village=tree.v1,
        year=2018,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=6),
    )
    log_in(page, live_server, "township")
    page.goto(f"{live_server.url}/public/postings/{posting.pk}/print/")
    assert "王建国" in page.content()  # built in 2018 (the factory's year)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert _decode_qr(pdf, tmp_path) == [f"{live_server.url}/p/g/{posting.token}/"]

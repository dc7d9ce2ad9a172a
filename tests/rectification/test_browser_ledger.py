"""The close-out on a phone, in real headless Chromium: the village records the rectification
with a photo, the township accepts it against the checklist and closes it out with the
household's signature drawn on the screen."""

import pytest

from tests.browser import fits_a_phone, log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where the phone says it is: the photo below carries no GPS, so this position is recorded.
PHONE_POSITION = {"latitude": 21.912345, "longitude": 108.612345}


@pytest.fixture
def page(live_server):
    with phone_page(
        has_touch=True, geolocation=PHONE_POSITION, permissions=["geolocation"]
    ) as page:
        yield page


def test_a_rectification_is_recorded_accepted_and_closed_out_on_a_phone(
    page, live_server, users, register, tree
):
    from rectification.choices import LocationSource
    from rectification.models import Consent, EvidencePhoto, LedgerEntry
    from tests.factories import SurveyRoundFactory
    from tests.images import jpeg
    from tests.ledger import drive, open_entry

    survey = SurveyRoundFactory(county=tree.county, name="2024年问题摸排")
    entry = open_entry(users.surveyor, survey, register.t1)
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to="in_progress")
    entry_url = f"{live_server.url}/ledger/entries/{entry.pk}/"
    photo = jpeg("after.jpg", color=(40, 90, 200), gps=None)

    # The village surveyor records the rectification, on site, with a photo.
    log_in(page, live_server, "surveyor")
    page.goto(entry_url)
    assert "整改中" in page.inner_text("#entry")
    page.click("#actions >> text=登记已整改")
    page.wait_for_url(f"**/ledger/entries/{entry.pk}/rectify/")
    assert fits_a_phone(page)
    page.wait_for_function(
        "document.querySelector('[data-geo-status]').textContent.includes('已获取手机定位')"
    )
    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": photo.read()}],
    )
    page.fill("textarea[name=note]", "已更换化粪池盖板")
    page.click("button:has-text('提交')")
    page.wait_for_url(entry_url)
    assert "已登记整改完成" in page.inner_text(".messages")
    assert "已整改" in page.inner_text("#entry")
    stored = EvidencePhoto.objects.get(entry=entry)
    assert stored.location_source == LocationSource.BROWSER
    assert float(stored.latitude) == pytest.approx(PHONE_POSITION["latitude"])
    page.click("text=退出")

    # The township accepts it against the checklist.
    log_in(page, live_server, "township")
    page.goto(entry_url)
    assert page.locator("#evidence img[alt=整改后照片]").count() == 1
    page.click("#actions >> text=验收通过")
    page.wait_for_url(f"**/ledger/entries/{entry.pk}/accept/")
    assert fits_a_phone(page)
    passes = page.locator("ul.checklist label:not(.bad)")
    assert passes.count() == 13
    for i in range(passes.count()):
        passes.nth(i).click()
    page.click("button:has-text('提交')")
    page.wait_for_url(entry_url)
    assert "已验收。下一步：请户主签字后销号。" in page.inner_text(".messages")

    # …and closes it out with the household's signature drawn on the screen.
    page.click("#actions >> text=销号")
    page.wait_for_url(f"**/ledger/entries/{entry.pk}/close/")
    assert fits_a_phone(page)
    assert page.input_value("input[name=signer_name]") == "王建国"
    assert page.is_hidden("input[name=paper_photo]")  # the screen method is chosen
    pad = page.locator("canvas[data-signature-pad]").bounding_box()
    page.mouse.move(pad["x"] + 30, pad["y"] + 120)
    page.mouse.down()
    for dx, dy in [(60, 40), (110, 100), (160, 50), (220, 110), (280, 60)]:
        page.mouse.move(pad["x"] + dx, pad["y"] + dy, steps=5)
    page.mouse.up()
    assert page.input_value("input[name=signature]").startswith("data:image/png;base64,")
    page.click("button:has-text('提交')")
    page.wait_for_url(entry_url)
    assert "已销号" in page.inner_text(".messages")

    timeline = page.inner_text("#timeline")
    for state in ["登记", "已制定方案", "整改中", "已整改", "已验收", "已销号"]:
        assert state in timeline
    assert "户主 王建国 签字同意销号（手机屏幕签字" in timeline
    assert page.locator("#consent img").count() == 1
    assert fits_a_phone(page)
    assert LedgerEntry.objects.get(pk=entry.pk).state == "closed"
    assert Consent.objects.get(entry=entry).method == "screen"

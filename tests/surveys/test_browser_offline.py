"""Journeys of a surveyor on one bar of signal, in real headless Chromium at 360 px: the line
is cut (tests.browser.Line) and Chromium told it is offline; the worklist and the form still
open, records wait on the phone with their photos, and each is stored exactly once when the
signal returns. Screenshots for the surveyors' guide are written to $SCREENSHOTS_DIR when set.
"""

import pytest

from surveys.models import Inspection
from tests.browser import Line, fits_a_phone, log_in, phone_page, screenshot
from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory
from tests.images import jpeg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def line(live_server):
    relay = Line(live_server.url)
    yield relay
    relay.close()


@pytest.fixture
def page(line):
    with phone_page(
        geolocation={"latitude": 21.91, "longitude": 108.61}, permissions=["geolocation"]
    ) as page:
        page.on("dialog", lambda dialog: dialog.accept())
        yield page


@pytest.fixture
def village(tree, users):
    survey = SurveyRoundFactory(county=tree.county, name="2026年摸排")
    h1 = HouseholdFactory(village=tree.v1, head_name="王建国", group_name="一组")
    h2 = HouseholdFactory(village=tree.v1, head_name="陈春梅", group_name="二组")
    return {
        "round": survey,
        "t1": ToiletFactory(household=h1, build_year=2019),
        "t2": ToiletFactory(household=h2, build_year=2020),
    }


def photo_file(name="site.jpg"):
    return {
        "name": name,
        "mimeType": "image/jpeg",
        "buffer": jpeg(name, gps=(21.91, 108.61)).read(),
    }


def open_worklist_online(page, line, survey):
    """Open the worklist and wait until the phone holds the app (a service worker in
    control) and the round's worklist."""
    page.goto(f"{line.url}/surveys/worklist/?round={survey.pk}")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20000)
    page.reload()  # now through the worker: the page itself is kept too
    page.wait_for_function(
        f"() => OfflineQueue.worklist({survey.pk}).then(w => !!w)", timeout=20000
    )


def go_offline(page, line):
    line.cut()
    page.context.set_offline(True)


def go_online(page, line):
    line.restore()
    page.context.set_offline(False)


def fill_problem_toilet(page, partner="李四", photos=1):
    page.check("text=当场使用")
    page.check("text=不能使用")
    page.check("text=粪池问题")
    page.fill("#id_partner_name", partner)
    for i in range(photos):
        page.set_input_files("#id_photos", files=[photo_file(f"site{i}.jpg")])
    page.check("#id_signed")


def queued(page) -> int:
    return page.evaluate(
        "OfflineQueue.all(document.body.dataset.user).then(r => r.filter(x => x.state === 'queued').length)"
    )


def test_two_inspections_saved_offline_are_stored_once_when_the_signal_returns(
    page, live_server, line, users, village
):
    survey, t1, t2 = village["round"], village["t1"], village["t2"]
    log_in_via(page, line, "surveyor")
    open_worklist_online(page, line, survey)
    assert page.evaluate("document.querySelector('link[rel=manifest]') !== null")

    go_offline(page, line)
    # The form of a toilet this phone never opened: the shell, filled in from the stored worklist.
    page.goto(f"{line.url}/surveys/rounds/{survey.pk}/toilets/{t1.pk}/inspect/")
    page.wait_for_selector(f"form[data-offline-form][data-toilet='{t1.pk}']")
    assert "王建国" in page.inner_text("h1")
    assert fits_a_phone(page)
    fill_problem_toilet(page)
    screenshot(page, "offline-form")
    page.click("button:has-text('保存')")
    page.wait_for_url(f"**/surveys/worklist/?round={survey.pk}")
    assert "已保存在本机，待同步 (1)" in page.inner_text(".messages")
    screenshot(page, "offline-saved")

    page.goto(f"{line.url}/surveys/rounds/{survey.pk}/toilets/{t2.pk}/inspect/")
    page.wait_for_selector(f"form[data-offline-form][data-toilet='{t2.pk}']")
    page.check("text=实地查看")
    page.check("text=正常使用")
    page.fill("#id_partner_name", "李四")
    page.set_input_files("#id_photos", files=[photo_file("t2.jpg")])
    page.check("#id_signed")
    page.click("button:has-text('保存')")
    page.wait_for_url(f"**/surveys/worklist/?round={survey.pk}")
    assert "已保存在本机，待同步 (2)" in page.inner_text(".messages")

    # Reloaded while still offline, the worklist opens and says what waits.
    page.reload()
    page.wait_for_selector("#sync-banner:not([hidden])")
    assert "待同步 (2)" in page.inner_text("#sync-banner")
    assert "待同步" in page.inner_text(f"[data-toilet='{t1.pk}']")
    assert "待同步" in page.inner_text(f"[data-toilet='{t2.pk}']")
    screenshot(page, "offline-worklist")
    assert queued(page) == 2
    assert not Inspection.objects.exists()

    go_online(page, line)
    page.wait_for_selector("#sync-banner", state="hidden", timeout=20000)
    assert queued(page) == 0
    stored = {i.toilet_id: i for i in Inspection.objects.prefetch_related("photos")}
    assert set(stored) == {t1.pk, t2.pk}
    assert stored[t1.pk].usability == "unusable" and stored[t1.pk].photos.count() == 1
    assert stored[t2.pk].usability == "normal" and stored[t2.pk].photos.count() == 1
    assert stored[t1.pk].surveyor == users.surveyor

    # A record sent again (its answer lost on the way) is not stored twice.
    page.reload()
    page.wait_for_load_state("networkidle")
    assert Inspection.objects.count() == 2


def log_in_via(page, line, username):
    """tests.browser.log_in, through the line."""

    class Server:
        url = line.url

    log_in(page, Server, username)


def test_a_conflict_is_shown_and_the_surveyor_chooses(page, live_server, line, users, village):
    from django.utils import timezone

    from regions.choices import Role
    from surveys import services
    from tests.factories import UserFactory

    survey, t1 = village["round"], village["t1"]
    log_in_via(page, line, "surveyor")
    open_worklist_online(page, line, survey)
    go_offline(page, line)
    page.goto(f"{line.url}/surveys/rounds/{survey.pk}/toilets/{t1.pk}/inspect/")
    page.wait_for_selector(f"form[data-offline-form][data-toilet='{t1.pk}']")
    fill_problem_toilet(page)
    page.click("button:has-text('保存')")
    page.wait_for_url(f"**/surveys/worklist/?round={survey.pk}")

    # Meanwhile the other member of the team records the same toilet from another phone.
    partner = UserFactory(username="surveyor_b", role=(Role.SURVEYOR, t1.village))
    theirs = services.save_inspection(
        actor=partner,
        inspection=Inspection(
            round=survey,
            toilet=t1,
            partner_name="王五",
            inspected_at=timezone.now(),
            check_method="on_site",
            usability="normal",
            signed=True,
        ),
        categories=[],
    )

    go_online(page, line)
    page.wait_for_selector("#sync-status .sync-item.conflict", timeout=20000)
    panel = page.inner_text("#sync-status")
    assert "对方" in panel and "您的记录" in panel
    screenshot(page, "offline-conflict")
    assert Inspection.objects.get().pk == theirs.pk and Inspection.objects.get().version == 1

    page.click("#sync-status button:has-text('作为更正')")
    page.wait_for_selector("#sync-status", state="hidden", timeout=20000)
    inspection = Inspection.objects.get()
    assert inspection.version == 2 and inspection.usability == "unusable"
    assert inspection.flags.filter(kind="overwrote").exists()


def test_a_photo_chosen_once_survives_a_validation_error(page, live_server, line, users, village):
    survey, t1 = village["round"], village["t1"]
    log_in_via(page, line, "surveyor")
    page.goto(f"{line.url}/surveys/rounds/{survey.pk}/toilets/{t1.pk}/inspect/")
    page.check("text=不能使用")
    page.set_input_files("#id_photos", files=[photo_file()])
    page.click("button:has-text('保存')")
    # Every problem at once, in a banner at the top, the page scrolled to it.
    banner = page.locator("#form-banner")
    banner.wait_for()
    text = banner.inner_text()
    assert (
        "核查方式" in text and "同组摸排人" in text and "问题类型" in text and "真实性负责" in text
    )
    assert page.evaluate("document.getElementById('form-banner').getBoundingClientRect().top") < 200
    screenshot(page, "form-errors")
    assert page.locator("[data-photo-list] img").count() == 1
    page.check("text=当场使用")
    page.check("text=粪池问题")
    page.fill("#id_partner_name", "李四")
    page.check("#id_signed")
    page.click("button:has-text('保存')")
    page.wait_for_url(f"**/surveys/worklist/?round={survey.pk}")
    assert "已保存" in page.inner_text(".messages")
    inspection = Inspection.objects.get()
    assert inspection.photos.count() == 1 and inspection.device_latitude is not None
    # 下一户: the next toilet still to do, one tap away.
    page.click(".messages a:has-text('下一户')")
    page.wait_for_url(f"**/surveys/rounds/{survey.pk}/toilets/{village['t2'].pk}/inspect/")

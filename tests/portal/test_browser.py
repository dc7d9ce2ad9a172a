"""Browser journeys in real headless Chromium on a phone-sized screen."""

import pytest

from tests.browser import PHONE, log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    with phone_page() as page:
        yield page


def test_surveyor_sees_only_the_own_village_and_opens_a_household(
    page, live_server, users, register
):
    log_in(page, live_server, "surveyor")
    assert "沙埠村" in page.inner_text("main")
    assert "村级摸排员" in page.inner_text("header")

    page.click("text=本村农户")
    page.wait_for_url("**/households/")
    rows = page.inner_text("table.list")
    assert "王建国" in rows
    assert "李秀英" not in rows and "张志强" not in rows

    # The list fits a 360 px phone: nothing scrolls sideways.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"]

    page.click("text=王建国")
    page.wait_for_url(f"**/households/{register.h1.pk}/")
    body = page.inner_text("main")
    assert "一户一档" in body
    assert register.h1.id_number in body
    assert "三格化粪池式" in body

    # Another village's household is not there for this user.
    response = page.goto(f"{live_server.url}/households/{register.h4.pk}/")
    assert response.status == 404


def test_surveyor_registers_a_household_on_a_phone(page, live_server, users, tree):
    from tests.factories import valid_id_number
    from toilets.models import Household

    log_in(page, live_server, "surveyor")
    page.click("text=登记农户")
    page.fill("#id_head_name", "陈春梅")
    bad = valid_id_number(801)
    page.fill("#id_id_number", bad[:17] + ("0" if bad[17] != "0" else "1"))
    page.click("button:has-text('保存')")
    assert "校验位" in page.inner_text(".has-error")
    page.fill("#id_id_number", bad)
    page.click("button:has-text('保存')")
    page.wait_for_url("**/households/*/")
    assert "农户已登记" in page.inner_text(".messages")
    assert Household.objects.get(head_name="陈春梅").village == tree.v1


def test_surveyor_inspects_on_a_phone_and_township_verifies(page, live_server, users, register):
    from surveys.models import Inspection
    from tests.factories import SurveyRoundFactory
    from tests.images import jpeg

    survey = SurveyRoundFactory(county=register.h1.village.parent.parent, name="2022年摸排")
    photo = jpeg("site.jpg", gps=(21.91, 108.61))

    log_in(page, live_server, "surveyor")
    page.click("text=摸排任务清单")
    page.wait_for_url("**/surveys/worklist/")
    assert page.inner_text("#remaining") == "1"
    page.click(f"[data-toilet='{register.t1.pk}'] a.button")
    page.wait_for_url(f"**/surveys/rounds/{survey.pk}/toilets/{register.t1.pk}/inspect/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.check("text=当场使用")
    page.check("text=不能使用")
    page.check("text=粪池问题")
    page.check("text=用水问题")
    page.fill("#id_partner_name", "李四")
    page.set_input_files(
        "#id_photos", files=[{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": photo.read()}]
    )
    page.check("text=本人对摸排结果真实性负责")
    page.click("button:has-text('保存')")
    page.wait_for_url("**/surveys/worklist/?round=*")
    assert "已保存" in page.inner_text(".messages")
    assert page.inner_text("#remaining") == "0"
    assert "待核查" in page.inner_text(f"[data-toilet='{register.t1.pk}']")

    page.click("text=退出")
    log_in(page, live_server, "township")
    page.goto(f"{live_server.url}/surveys/rounds/{survey.pk}/review/")
    item = page.locator("article.review-item").first
    assert "不能使用" in item.inner_text() and "照片 1 张" in item.inner_text()
    item.locator("button:has-text('核查通过')").click()
    page.wait_for_load_state()
    assert "已核查通过" in page.inner_text(".messages")
    inspection = Inspection.objects.get(round=survey, toilet=register.t1)
    assert inspection.status == "verified" and inspection.photos.count() == 1

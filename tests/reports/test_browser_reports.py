"""The summary table's submission on a phone, in real headless Chromium: a township submits,
the county returns it with a reason, the township resubmits, the county accepts, submits the
county table, downloads the stamped file and verifies its code on the public verify page."""

import hashlib

import pytest

from tests.browser import fits_a_phone, log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    with phone_page(accept_downloads=True) as page:
        yield page


def fill_footer(page):
    page.fill("#id_filler_name", "陈志明")
    page.fill("#id_filler_phone", "0777-1234567")


@pytest.fixture
def survey(tree, users):
    from regions.choices import Role
    from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory, UserFactory
    from tests.ledger import open_entry

    survey = SurveyRoundFactory(county=tree.county, name="2022年摸排")
    surveyor_v3 = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    for surveyor, village in ((users.surveyor, tree.v1), (surveyor_v3, tree.v3)):
        open_entry(surveyor, survey, ToiletFactory(household=HouseholdFactory(village=village)))
    from tests.reports.complete import complete_round

    complete_round(survey)  # verified and closed: the completeness gate lets it through
    return survey


def test_a_township_submits_the_county_reviews_submits_downloads_and_verifies(
    page, live_server, users, tree, survey
):
    from reports import services
    from reports.models import Submission

    # The township submits its rows.
    log_in(page, live_server, "township")
    page.click("header >> text=报表")
    page.wait_for_url("**/reports/")
    page.locator("a.button", has_text="上报").first.click()
    page.wait_for_url(f"**/reports/rounds/{survey.pk}/townships/{tree.t1.code}/")
    assert "全部约束规则检查通过" in page.inner_text("main")
    assert page.locator("table.sheet thead tr.numbers th").count() == 34  # 栏次 + 1…33
    # The 33-column table scrolls inside its own box; the page itself does not.
    assert fits_a_phone(page)
    box = page.evaluate(
        "(() => { const w = document.querySelector('.sheet-wrap');"
        " return [w.scrollWidth, w.clientWidth]; })()"
    )
    assert box[0] > box[1]
    fill_footer(page)
    page.click("button:has-text('上报')")
    page.wait_for_selector("text=已上报第1版")

    # The county returns it with a reason.
    log_in(page, live_server, "county")
    page.goto(f"{live_server.url}/reports/")
    page.locator("a.button", has_text="报送").first.click()
    page.wait_for_url(f"**/reports/rounds/{survey.pk}/counties/{tree.county.code}/")
    assert fits_a_phone(page)
    row = page.locator(f"tr[data-township='{tree.t1.code}']")
    assert "已上报" in row.inner_text()
    row.locator("input[name=reason]").fill("第5列涉及行政村数与实际不符")
    row.locator(f"button[data-return='{tree.t1.code}']").click()
    page.wait_for_selector("text=已退回沙埠镇第1版")
    assert "已退回" in page.locator(f"tr[data-township='{tree.t1.code}']").inner_text()

    # The township sees why and submits again.
    log_in(page, live_server, "township")
    page.goto(f"{live_server.url}/reports/rounds/{survey.pk}/townships/{tree.t1.code}/")
    assert "第5列涉及行政村数与实际不符" in page.inner_text("[data-return-reason]")
    fill_footer(page)
    page.click("button:has-text('上报')")
    page.wait_for_selector("text=已上报第2版")
    history = page.inner_text("main")
    assert "第1版" in history and "第2版" in history

    # The other township submits too (outside this journey).
    services.submit_township(
        actor=users.township_t2,
        survey_round=survey,
        township=tree.t2,
        filler_name="黄丽",
        filler_phone="13900000000",
        filled_on=survey.start_date,
    )

    # The county accepts both, submits the county table and downloads the stamped file.
    log_in(page, live_server, "county")
    page.goto(f"{live_server.url}/reports/rounds/{survey.pk}/counties/{tree.county.code}/")
    for township in (tree.t1, tree.t2):
        page.click(f"button[data-accept='{township.code}']")
        page.wait_for_selector(f"text=已接收{township.name}")
    assert "报送第1版" in page.inner_text("#submit")
    fill_footer(page)
    page.click("button:has-text('报送并生成盖章汇总表')")
    page.wait_for_url("**/reports/submissions/*/")
    final = Submission.objects.get(kind="county")
    assert final.code in page.inner_text("[data-code]")
    assert final.sha256 in page.inner_text("[data-sha256]")
    assert fits_a_phone(page)
    with page.expect_download() as download_info:
        page.click("[data-download]")
    download = download_info.value
    assert download.suggested_filename.endswith(f"{final.code}.xlsx")
    with open(download.path(), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == final.sha256

    # Anyone verifies the code, without logging in.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/reports/verify/")
    page.fill("#id_code", final.code.lower())
    page.click("button:has-text('核验')")
    page.wait_for_selector("[data-verdict]")
    assert page.inner_text("[data-verdict]") == "核验通过"
    result = page.inner_text("#verdict")
    assert "钦南区" in result and "第1版" in result and "2022年摸排" in result
    assert fits_a_phone(page)

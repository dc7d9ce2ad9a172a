"""The chain above the county in real headless Chromium: the county sends its stamped table to
the city, the city returns it with a reason, the county sends the corrected version, the city
accepts every county, stamps and downloads the city table, and the public verify page checks
the downloaded file."""

import datetime
import hashlib

import pytest

from tests.browser import fits_a_phone, log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    with phone_page(accept_downloads=True) as page:
        yield page


def test_counties_deliver_the_city_returns_accepts_stamps_and_the_file_verifies(
    page, live_server, tree, users
):
    from regions.choices import Role
    from reports import chain
    from reports.models import Delivery, Submission
    from tests.factories import SurveyRoundFactory, UserFactory, default_template
    from tests.reports.test_chain import county_table

    city = UserFactory(username="city", role=(Role.CITY, tree.city))
    round_a = SurveyRoundFactory(county=tree.county, name="2026年摸排", status="closed")
    round_b = SurveyRoundFactory(county=tree.county_b, name="2026年摸排", status="closed")
    first = county_table(tree.county, round_a, users.county, seed=0)
    table_b = county_table(tree.county_b, round_b, users.outsider, seed=5)
    collection = chain.create_collection(
        actor=city,
        name="2026年全市汇总",
        template=default_template(),
        deadline=datetime.date(2026, 5, 10),
    )
    chain.deliver(actor=users.outsider, submission=table_b, collection=collection)

    # The county sends its stamped table from the collection its home page names.
    log_in(page, live_server, "county")
    page.click(f"[data-home-collection='{collection.pk}'] a")
    page.wait_for_url(f"**/reports/collections/{collection.pk}/")
    page.select_option("#id_submission", str(first.pk))
    page.click("button:has-text('报送钦州市')")
    page.wait_for_selector("text=已报送钦州市，等待审核")
    assert "已上报" in page.inner_text("#own-deliveries")
    assert fits_a_phone(page)

    # The city notes a doubt, then returns the table with a reason.
    log_in(page, live_server, "city")
    page.goto(f"{live_server.url}/reports/collections/{collection.pk}/")
    row = page.locator(f"tr[data-unit='{tree.county.code}']")
    assert "已上报" in row.inner_text()
    row.locator("a", has_text="审核").click()
    page.wait_for_url("**/reports/deliveries/*/")
    page.fill("#id_review_note", "第6列与乡镇上报合计不一致")
    page.click("button:has-text('暂存审核意见')")
    page.wait_for_selector("text=审核意见已暂存")
    page.fill("#id_reason", "第6列数据有误，请核实后重新报送")
    page.click("button:has-text('退回')")
    page.wait_for_selector("text=已退回钦南区的汇总表")

    # The county reads why, and sends the corrected version.
    corrected = county_table(tree.county, round_a, users.county, seed=2, version=2)
    log_in(page, live_server, "county")
    page.goto(f"{live_server.url}/reports/collections/{collection.pk}/")
    mine = page.inner_text("#own-deliveries")
    assert "第6列数据有误，请核实后重新报送" in mine and "第6列与乡镇上报合计不一致" in mine
    page.select_option("#id_submission", str(corrected.pk))
    page.click("button:has-text('报送钦州市')")
    page.wait_for_selector("text=已报送钦州市，等待审核")

    # The city accepts both counties, stamps the city table and downloads it.
    log_in(page, live_server, "city")
    for delivery in Delivery.objects.filter(status="submitted").order_by("pk"):
        page.goto(f"{live_server.url}/reports/deliveries/{delivery.pk}/")
        page.click("[data-accept-form] button")
        page.wait_for_selector(f"text=已接收{delivery.region.name}的汇总表")
    page.goto(f"{live_server.url}/reports/collections/{collection.pk}/")
    assert page.inner_text("[data-accepted]") == "2"
    assert "全部约束规则检查通过" in page.inner_text("main")
    page.fill("#id_filler_name", "黄海燕")
    page.fill("#id_filler_phone", "0777-2822001")
    page.click("button:has-text('盖章生成')")
    page.wait_for_selector("text=已生成盖章汇总表第1版")
    city_table = Submission.objects.get(kind="city")
    assert city_table.code in page.inner_text("#versions")
    with page.expect_download() as download_info:
        page.click("#versions [data-download]")
    path = download_info.value.path()
    with open(path, "rb") as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == city_table.sha256

    # Anyone checks the downloaded file on the verify page.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/reports/verify/")
    page.set_input_files("#id_file", path)
    page.click("button:has-text('核验')")
    page.wait_for_selector("[data-verdict]")
    assert page.inner_text("[data-verdict]") == "核验通过"
    verdict = page.inner_text("#verdict")
    assert "钦州市" in verdict and "2026年全市汇总" in verdict

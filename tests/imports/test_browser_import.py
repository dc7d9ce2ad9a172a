"""Importing a survey ledger on a phone, in real headless Chromium: the county user downloads
the template, fills it, uploads it, sees the check's preview, confirms and sees the result;
a bad file shows its errors; a running job's progress bar turns into the preview."""

import pytest
from openpyxl import load_workbook

from tests.browser import fits_a_phone, log_in, phone_page
from tests.factories import valid_id_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROUND = "2022年摸排"


@pytest.fixture
def page(live_server):
    with phone_page(accept_downloads=True) as page:
        yield page


def download_template(page, live_server, tmp_path):
    page.goto(f"{live_server.url}/imports/")
    assert "导入摸排台账" in page.inner_text("h1")
    assert fits_a_phone(page)
    with page.expect_download() as download_info:
        page.click("#template-link")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / "template.xlsx"
    download.save_as(path)
    return path


def upload(page, path, round_name=ROUND):
    page.set_input_files("#id_file", str(path))
    page.fill("#id_round_name", round_name)
    page.click("button:has-text('上传并检查')")
    page.wait_for_url("**/imports/*/")


def test_the_county_downloads_fills_uploads_checks_and_confirms(
    page, live_server, users, tree, tmp_path
):
    from imports.models import ImportJob, ImportStatus
    from toilets.models import Household, Toilet

    log_in(page, live_server, "county")
    template = download_template(page, live_server, tmp_path)

    # Fill the template: keep the example row (a village of this county), add a second one.
    book = load_workbook(template)
    sheet = book["摸排台账"]
    headers = [c.value for c in sheet[1]]
    second = {c: sheet.cell(row=2, column=i + 1).value for i, c in enumerate(headers)}
    second.update(
        区划代码=tree.v2.code,
        户主姓名="李秀英",
        身份证号=valid_id_number(),
        使用情况="正常使用",
        问题类型=None,
        整改情况=None,
    )
    sheet.append([second[h] for h in headers])
    filled = tmp_path / "钦南区摸排台账.xlsx"
    book.save(filled)

    upload(page, filled)
    page.wait_for_selector("#import-verdict")
    assert "检查通过" in page.inner_text("#import-verdict")
    assert "将新建摸排轮次" in page.inner_text("#round-note")
    assert page.inner_text("[data-count=households_created] dd") == "2"
    assert page.inner_text("[data-count=entries_opened] dd") == "1"
    assert fits_a_phone(page)
    assert not Household.objects.exists()

    page.click("#confirm-button")
    page.wait_for_selector("text=导入完成")
    assert "导入结果" in page.inner_text("#import-counts")
    assert page.inner_text("[data-count=toilets_created] dd") == "2"
    assert fits_a_phone(page)
    assert Household.objects.count() == 2 and Toilet.objects.count() == 2
    assert ImportJob.objects.get().status == ImportStatus.DONE

    page.click("text=查看问题台账")
    page.wait_for_url("**/ledger/")
    assert "王建国" in page.inner_text("main")


def test_a_bad_file_shows_its_errors_on_a_phone(page, live_server, users, tree, tmp_path):
    from toilets.models import Household

    log_in(page, live_server, "township")
    template = download_template(page, live_server, tmp_path)
    book = load_workbook(template)
    sheet = book["摸排台账"]
    sheet.append([c.value for c in sheet[2]])
    sheet["A2"] = tree.v3.code  # another township's village
    sheet["E3"] = valid_id_number()
    sheet["J3"] = "很久以前"  # 建造年份
    bad = tmp_path / "有错误的台账.xlsx"
    book.save(bad)

    upload(page, bad)
    page.wait_for_selector("#import-errors")
    assert "未导入任何数据" in page.inner_text("#import-verdict")
    table = page.inner_text("#import-errors")
    assert "不在您的管辖范围内" in table and "建造年份" in table
    assert page.locator("#confirm-button").count() == 0
    assert fits_a_phone(page)
    with page.expect_download() as download_info:
        page.click("#errors-download")
    assert download_info.value.suggested_filename == "有错误的台账-错误清单.xlsx"
    assert not Household.objects.exists()


def test_the_progress_bar_moves_and_turns_into_the_preview(page, live_server, users, tree):
    from imports.models import ImportJob, ImportStatus

    job = ImportJob.objects.create(
        original_name="大文件.xlsx",
        round_name=ROUND,
        region=tree.county,
        created_by=users.county,
        status=ImportStatus.CHECKING,
        done=0,
        total=40000,
        message="正在逐行检查…",
    )
    log_in(page, live_server, "county")
    page.goto(f"{live_server.url}/imports/{job.pk}/")
    assert page.locator("#import-bar").get_attribute("aria-valuenow") == "0"
    assert fits_a_phone(page)

    ImportJob.objects.filter(pk=job.pk).update(
        done=10000, message="正在逐行检查…（已检查 10000 行）"
    )
    page.wait_for_selector("#import-bar[aria-valuenow='25']")
    assert "10000 / 40000 行" in page.inner_text("#import-job")

    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.CHECKED,
        done=40000,
        message="检查通过：共 40000 行，确认后即可导入。",
        result={"round_created": False, "counts": {"rows": 40000, "households_updated": 39000}},
    )
    page.wait_for_selector("#confirm-button")
    assert "检查通过" in page.inner_text("#import-verdict")
    assert page.inner_text("[data-count=households_updated] dd") == "39000"

"""The mapping step: a header the reader does not recognize is mapped on the job page, the
check runs again, and the county's next files with the same headers are read without asking;
the preview of the first rows as they will be stored."""

import pytest
from django.urls import reverse

from imports.columns import HEADERS
from imports.engine import import_ledger
from imports.models import HeaderMapping, ImportJob, ImportStatus, ValueAlias
from imports.reader import LedgerSheet
from imports.results import HeaderColumnsMissing, ImportFileError
from surveys.choices import Usability
from tests.imports import test_import_page as page
from tests.ledger_files import id_number, ledger_row, ledger_xlsx
from toilets.choices import TechType
from toilets.identity import mask_id_number
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db

ROUND = page.ROUND
job_url = page.job_url
upload = page.upload  # the upload page's fixtures: post a file, confirm a job
confirm = page.confirm

# A county's own layout: three columns under names no synonym knows, and a 备注 column.
RENAMED = {"技术模式": "改厕方式", "使用情况": "厕所现状", "摸排日期": "走访日期"}
LAYOUT = [RENAMED.get(h, h) for h in HEADERS if h not in ("乡镇", "行政村")] + ["备注"]
MAPPED = {"改厕方式": "tech_type", "厕所现状": "usability", "走访日期": "inspected_on"}


def county_file(rows: list[dict]) -> bytes:
    renamed = [{RENAMED.get(k, k): v for k, v in row.items()} | {"备注": "无"} for row in rows]
    return ledger_xlsx(renamed, headers=LAYOUT)


def county_rows(village, n=3, **changes) -> list[dict]:
    return [
        ledger_row(
            区划代码=village.code,
            户主姓名=f"户主{i}",
            身份证号=id_number(i + 1, area=village.code[:6]),
            **changes,
        )
        for i in range(n)
    ]


def mapping_data(job, **overrides) -> dict:
    """The mapping form as a user fills it in: the offered choice of each file column, the
    county's names mapped, ``overrides`` by file header."""
    data = {}
    for column in job.result["mapping"]["columns"]:
        key = overrides.get(column["header"], MAPPED.get(column["header"], column["column"]))
        data[f"col_{column['index']}"] = key
    return data


@pytest.fixture
def post_mapping(client, django_capture_on_commit_callbacks):
    def post(user, job, data):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(job_url(job, "mapping"), data)

    return post


def test_an_unknown_layout_offers_the_mapping_with_the_files_columns(upload, client, users, tree):
    upload(users.county, county_file(county_rows(tree.v1)))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "缺少列" in job.message and "技术模式" in job.message
    offered = job.result["mapping"]
    assert offered["missing"] == ["技术模式", "使用情况", "摸排日期"]
    columns = {c["header"]: c for c in offered["columns"]}
    assert list(columns) == LAYOUT
    assert (
        columns["改厕方式"]["column"] == "" and columns["改厕方式"]["samples"][0] == "三格化粪池式"
    )
    assert columns["身份证号"]["column"] == "id_number"
    page = client.get(job_url(job)).content.decode()
    assert "检查失败" in page and 'id="header-mapping"' in page
    assert "改厕方式" in page and "三格化粪池式" in page and "不导入" in page
    assert 'action="' + job_url(job, "mapping") + '"' in page


def test_mapping_checks_again_and_the_import_succeeds(
    upload, confirm, post_mapping, client, users, tree
):
    upload(users.county, county_file(county_rows(tree.v1)))
    job = ImportJob.objects.get()
    response = post_mapping(users.county, job, mapping_data(job))
    assert response.status_code == 302 and response.url == job_url(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED, job.message
    assert job.result["counts"]["rows"] == 3
    assert dict(HeaderMapping.objects.values_list("header", "column")) == MAPPED
    assert set(HeaderMapping.objects.values_list("county", flat=True)) == {tree.county.pk}
    page = client.get(job_url(job)).content.decode()
    assert 'id="header-mapping"' not in page and 'id="confirm-button"' in page
    assert "备注" in page  # still an unused column

    confirm(users.county, job)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.message
    assert Toilet.objects.filter(tech_type=TechType.THREE_COMPARTMENT).count() == 3


def test_the_next_file_of_the_county_is_recognized_without_asking(
    upload, post_mapping, users, tree
):
    upload(users.county, county_file(county_rows(tree.v1)))
    job = ImportJob.objects.get()
    post_mapping(users.county, job, mapping_data(job))
    # Another importer of the same county, another file with the same headers.
    upload(users.township, county_file(county_rows(tree.v2, n=2)))
    second = ImportJob.objects.exclude(pk=job.pk).get()
    assert second.status == ImportStatus.CHECKED, second.message
    assert "mapping" not in second.result
    # The command line with --region applies it too.
    data = county_file(county_rows(tree.v2, n=2))
    result = import_ledger(data, round_name=ROUND, county=tree.county, dry_run=True)
    assert result.ok and result.counts["rows"] == 2


def test_the_import_reads_the_file_as_its_check_did_whatever_changes_in_between(
    upload, confirm, post_mapping, users, tree
):
    """Checked with the county's mapping; before the confirm somebody maps 改厕方式 to 不导入
    for the county. The import still reads the file as the preview showed it."""
    upload(users.county, county_file(county_rows(tree.v1)))
    job = ImportJob.objects.get()
    post_mapping(users.county, job, mapping_data(job))
    upload(users.township, county_file(county_rows(tree.v2, n=2)))
    second = ImportJob.objects.exclude(pk=job.pk).get()
    assert second.status == ImportStatus.CHECKED, second.message
    HeaderMapping.objects.filter(header="改厕方式").update(column="")
    confirm(users.township, second)
    second.refresh_from_db()
    assert second.status == ImportStatus.DONE, second.message
    assert Toilet.objects.filter(village=tree.v2, tech_type=TechType.THREE_COMPARTMENT).count() == 2
    # A new check takes the county's mapping as it is now.
    upload(users.township, county_file(county_rows(tree.v2, n=2)))
    third = ImportJob.objects.exclude(pk__in=[job.pk, second.pk]).get()
    assert third.status == ImportStatus.FAILED and "技术模式" in third.message


def test_another_county_neither_gets_the_mapping_nor_sees_the_job(
    upload, post_mapping, client, users, tree
):
    upload(users.county, county_file(county_rows(tree.v1)))
    job = ImportJob.objects.get()
    data = mapping_data(job)
    # The outsider (another county) may neither see nor map the job.
    client.force_login(users.outsider)
    assert client.get(job_url(job)).status_code == 404
    assert post_mapping(users.outsider, job, data).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and not HeaderMapping.objects.exists()
    # A user of the same county who is not the uploader: 404 too.
    assert post_mapping(users.township, job, data).status_code == 404
    # A role without the import right: 403.
    assert post_mapping(users.surveyor, job, data).status_code == 403

    post_mapping(users.county, job, data)
    assert HeaderMapping.objects.count() == 3
    assert not HeaderMapping.objects.visible_to(users.outsider).exists()
    assert HeaderMapping.objects.visible_to(users.township).count() == 3
    # The other county's file with the same headers is still not recognized.
    upload(users.outsider, county_file(county_rows(tree.v4)))
    theirs = ImportJob.objects.filter(created_by=users.outsider).get()
    assert theirs.status == ImportStatus.FAILED and "mapping" in theirs.result


def test_columns_mapped_to_not_imported_are_ignored(upload, post_mapping, users, tree):
    rows = county_rows(tree.v1, 联系电话="不详")  # not a phone number: a row error if read
    upload(users.county, county_file(rows))
    job = ImportJob.objects.get()
    post_mapping(users.county, job, mapping_data(job, 联系电话=""))
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED, (job.message, job.result.get("errors"))
    assert HeaderMapping.objects.get(header="联系电话").column == ""


def test_two_file_columns_for_one_column_are_a_chinese_error(
    upload, post_mapping, client, users, tree
):
    upload(users.county, county_file(county_rows(tree.v1)))
    job = ImportJob.objects.get()
    response = post_mapping(users.county, job, mapping_data(job, 厕所现状="tech_type"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "文件中的“改厕方式”和“厕所现状”都对应“技术模式”" in page
    assert "还没有选择对应“使用情况”的列" in page
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and not HeaderMapping.objects.exists()


def test_the_reader_takes_a_mapping_over_the_synonyms():
    rows = [ledger_row(身份证号=id_number(1))]
    headers = ["户主", "农户姓名", *[h for h in HEADERS if h != "户主姓名"]]
    data = ledger_xlsx([{**rows[0], "户主": "甲", "农户姓名": "乙"}], headers=headers)
    with pytest.raises(ImportFileError, match="都是“户主姓名”"):
        LedgerSheet(data)
    with LedgerSheet(data, {"农户姓名": "head_name", "户主": ""}) as sheet:
        (_number, values), *_ = list(sheet.rows())
        assert values[HEADERS.index("户主姓名")] == "乙"
        assert sheet.unused_columns == ["户主"]
    with pytest.raises(ImportFileError, match="“户主”和“农户姓名”都是“户主姓名”"):
        LedgerSheet(data, {"农户姓名": "head_name", "户主": "head_name"})
    layout = ledger_xlsx(
        [{RENAMED.get(k, k): v for k, v in rows[0].items()}],
        headers=[RENAMED.get(h, h) for h in HEADERS],
    )
    with pytest.raises(HeaderColumnsMissing) as caught:
        LedgerSheet(layout)
    assert caught.value.missing == ["技术模式", "使用情况", "摸排日期"]


def test_the_preview_shows_rows_as_stored_with_official_labels_and_masked_ids(
    upload, client, users, tree
):
    ValueAlias.objects.create(
        county=tree.county,
        column="tech_type",
        alias="三格",
        value=TechType.THREE_COMPARTMENT,
        created_by=users.county,
    )
    number = id_number(7)
    rows = [
        ledger_row(
            区划代码=tree.v1.code, 身份证号=number, 技术模式="三格", 使用情况="不能使用",
            问题类型="厕具问题,粪池问题", 整改情况="未销号",
        )
    ]  # fmt: skip
    upload(users.county, ledger_xlsx(rows))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED, job.result.get("errors")
    (preview,) = job.result["preview"]
    assert preview == {
        "row": 2,
        "village": tree.v1.full_name(),
        "kind": "户厕",
        "name": "王建国",
        "id_number": mask_id_number(number),
        "tech_type": TechType.THREE_COMPARTMENT.label,
        "build_year": 2019,
        "usability": Usability.UNUSABLE.label,
        "categories": "厕具问题、粪池问题",
        "closed": "未销号",
    }
    page = client.get(job_url(job)).content.decode()
    assert 'id="import-preview"' in page and "三格化粪池式" in page
    assert mask_id_number(number) in page and number not in page
    # A role that sees identity gets the full number.
    upload(users.township, ledger_xlsx(rows))
    theirs = ImportJob.objects.get(created_by=users.township)
    assert theirs.result["preview"][0]["id_number"] == number


def test_a_mapped_file_with_a_bad_row_saves_nothing(upload, confirm, post_mapping, users, tree):
    rows = county_rows(tree.v1)
    rows[1]["建造年份"] = "去年"
    upload(users.county, county_file(rows))
    job = ImportJob.objects.get()
    post_mapping(users.county, job, mapping_data(job))
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert [e["row"] for e in job.result["errors"]] == [3]
    assert confirm(users.county, job)[0].status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert not Household.objects.exists() and not Toilet.objects.exists()


def test_a_job_without_the_mapping_step_cannot_be_mapped(upload, post_mapping, users, tree):
    upload(users.county, ledger_xlsx(county_rows(tree.v1)))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED
    response = post_mapping(users.county, job, {})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED and not HeaderMapping.objects.exists()
    assert reverse("imports:mapping", args=[job.pk]).endswith("/mapping/")


def test_the_template_describes_the_township_and_village_columns():
    book = page.template_book()
    guide = book[page.GUIDE_TITLE]
    rows = {r[0]: r for r in guide.iter_rows(values_only=True) if r[0] in HEADERS}
    assert rows["乡镇"][1] == "选填" and rows["行政村"][1] == "无区划代码时必填"
    assert "可用名称代替区划代码" in rows["乡镇"][2] and "可用名称代替区划代码" in rows["行政村"][2]
    assert "村名" in rows["行政村"][3] and "所在乡镇" in rows["乡镇"][3]
    sheet = book[page.SHEET_TITLE]
    hints = {cell.value: cell.comment.text for cell in sheet[1] if cell.comment}
    assert any("可用名称代替区划代码" in text for name, text in hints.items() if "行政村" in name)


def test_the_upload_page_names_the_three_formats(client, users):
    client.force_login(users.county)
    page_text = client.get(reverse("imports:upload")).content.decode()
    assert "接受 .xlsx、.xls 和 .ods 文件" in page_text and "只接受 .xlsx" not in page_text

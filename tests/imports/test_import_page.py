"""The ledger import pages: the downloadable template, the upload checks, the check job and
its preview or errors, the confirm step, the result — and who may do what."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from imports import forms as import_forms
from imports import jobs
from imports.columns import CATEGORY_NAMES, DROPDOWNS, EXAMPLE_ROW, HEADERS
from imports.engine import import_ledger
from imports.models import ImportJob, ImportStatus
from imports.results import COUNT_LABELS
from imports.template import (
    GUIDE_TITLE,
    LAST_DATA_ROW,
    OPTIONS_TITLE,
    SHEET_TITLE,
    template_workbook_bytes,
)
from imports.views import ERRORS_SHOWN
from rectification.models import LedgerEntry
from regions.choices import Role
from regions.models import RoleAssignment
from surveys.models import Inspection, SurveyRound
from tests.factories import SurveyRoundFactory, UserFactory, valid_id_number
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db

UPLOAD = reverse("imports:upload")
TEMPLATE = reverse("imports:template")
ROUND = "2022年摸排"


def job_url(job, name="job"):
    return reverse(f"imports:{name}", args=[job.pk])


def row(**values):
    data = dict(EXAMPLE_ROW)
    data["身份证号"] = valid_id_number()
    data.update(values)
    return data


def healthy(**values):
    return {**row(使用情况="正常使用", 问题类型="", 整改情况=""), **values}


def public(**values):
    data = healthy(
        厕所类别="公厕",
        户主姓名="",
        身份证号="",
        联系电话="",
        公厕名称="村委公厕",
        技术模式="完整下水道水冲式",
    )
    data.update(values)
    return data


def xlsx(rows, headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for data in rows:
        sheet.append([data.get(h, "") for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def good_rows(tree):
    return [
        row(区划代码=tree.v1.code),
        healthy(区划代码=tree.v2.code, 户主姓名="李秀英"),
        public(区划代码=tree.v3.code, 公厕名称="坪山村委公厕"),
    ]


def stored_files(settings):
    folder = settings.MEDIA_ROOT / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    """``upload(user, data, name=..., round_name=...)`` posts a file as ``user`` and runs
    the check it queues (Celery is eager in tests; the task runs once the row commits)."""

    def post(user, data: bytes, name="台账.xlsx", round_name=ROUND):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                UPLOAD,
                {"file": SimpleUploadedFile(name, data), "round_name": round_name},
            )

    return post


@pytest.fixture
def confirm(client, django_capture_on_commit_callbacks):
    def post(user, job):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(job_url(job, "confirm"))
        return response, callbacks

    return post


# The template -----------------------------------------------------------------------------


def template_book():
    return load_workbook(io.BytesIO(template_workbook_bytes()))


def test_the_template_downloads_with_headers_example_and_hints(client, users):
    client.force_login(users.county)
    response = client.get(TEMPLATE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == SHEET_TITLE
    assert book[GUIDE_TITLE].sheet_state == "visible"
    assert book[OPTIONS_TITLE].sheet_state == "hidden"
    sheet = book[SHEET_TITLE]
    assert [c.value for c in sheet[1]] == HEADERS
    assert all(c.font.b for c in sheet[1])
    assert all(c.comment is not None and c.comment.text for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    example = {h: c.value for h, c in zip(HEADERS, sheet[2], strict=True)}
    for name, value in EXAMPLE_ROW.items():
        assert example[name] == (value if value != "" else None) or example[name] == str(value)
    assert sheet.max_row == 2
    assert sheet.column_dimensions["E"].width == 21  # 身份证号


def test_the_template_formats_codes_and_ids_as_text():
    sheet = template_book()[SHEET_TITLE]
    for name in ("区划代码", "身份证号"):
        letter = get_column_letter(HEADERS.index(name) + 1)
        assert sheet.column_dimensions[letter].number_format == "@"
        assert sheet[f"{letter}2"].number_format == "@"
        assert isinstance(sheet[f"{letter}2"].value, str)


def test_the_template_offers_every_list_as_a_drop_down():
    book = template_book()
    sheet = book[SHEET_TITLE]
    validations = sheet.data_validations.dataValidation
    assert len(validations) == len(DROPDOWNS)
    by_column = {}
    for validation in validations:
        assert validation.type == "list"
        assert len(validation.formula1) < 255
        (cells,) = str(validation.sqref).split()
        min_col, min_row, max_col, max_row = range_boundaries(cells)
        assert (min_col, min_row, max_row) == (max_col, 2, LAST_DATA_ROW)
        by_column[HEADERS[min_col - 1]] = validation.formula1
    assert set(by_column) == set(DROPDOWNS)
    options = book[OPTIONS_TITLE]
    for name, formula in by_column.items():
        sheet_name, cells = formula.split("!")
        assert sheet_name.strip("'") == OPTIONS_TITLE
        values = [c.value for (c,) in options[cells.replace("$", "")]]
        assert values == DROPDOWNS[name]
    assert len(",".join(DROPDOWNS["技术模式"])) > 0


def test_the_guide_sheet_explains_every_column():
    guide = template_book()[GUIDE_TITLE]
    rows = {r[0]: r for r in guide.iter_rows(values_only=True) if r[0] in HEADERS}
    assert set(rows) == set(HEADERS)
    assert rows["区划代码"][1] == "必填"
    assert rows["村民小组"][1] == "选填"
    assert "、".join(CATEGORY_NAMES) in rows["问题类型"][2]
    assert "留空" in rows["整改情况"][2]
    assert "2022-05-10" in rows["摸排日期"][2]
    text = "\n".join(str(v) for r in guide.iter_rows(values_only=True) for v in r if v)
    assert "不会重复" in text


def test_the_templates_example_row_passes_the_engines_check(tree, users):
    result = import_ledger(
        io.BytesIO(template_workbook_bytes()), round_name=ROUND, actor=users.county, dry_run=True
    )
    assert result.ok, result.errors
    assert result.counts["rows"] == 1
    assert not Household.objects.exists()


def test_the_template_needs_a_login(client):
    response = client.get(TEMPLATE)
    assert response.status_code == 302


# The upload page --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["county", "township"])
def test_importers_see_the_steps_the_template_link_and_their_rounds(client, users, tree, who):
    SurveyRoundFactory(county=tree.county, name="2021年回头看")
    SurveyRoundFactory(county=tree.county_b, name="别县的轮次")
    client.force_login(getattr(users, who))
    response = client.get(UPLOAD)
    assert response.status_code == 200
    page = response.content.decode()
    for step in ("下载模板", "填写", "上传检查", "确认导入"):
        assert step in page
    assert TEMPLATE in page
    assert '<option value="2021年回头看">' in page
    assert "别县的轮次" not in page
    assert 'list="round-names"' in page


@pytest.mark.parametrize("who", ["surveyor", "inspector"])
def test_others_may_not_upload(client, users, who, tree):
    client.force_login(getattr(users, who))
    response = client.get(UPLOAD)
    assert response.status_code == 403
    assert "没有导入权限" in response.content.decode()
    response = client.post(
        UPLOAD, {"file": SimpleUploadedFile("a.xlsx", xlsx(good_rows(tree))), "round_name": ROUND}
    )
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_the_upload_page_needs_a_login(client):
    assert client.get(UPLOAD).status_code == 302


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("台账.xls", b"\xd0\xcf\x11\xe0 old excel", "只能导入 .xlsx"),
        ("台账.csv", "区划代码,户主姓名\n".encode(), "只能导入 .xlsx"),
        ("台账.xlsx", b"", "文件是空的"),
        ("台账.xlsx", b"this is not a zip file", "不是有效的 .xlsx"),
    ],
)
def test_an_unusable_file_is_refused_before_anything_is_stored(
    upload, users, settings, name, data, message
):
    response = upload(users.county, data, name=name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    assert stored_files(settings) == []


def test_a_file_over_the_limit_is_refused(upload, users, tree, settings, monkeypatch):
    data = xlsx(good_rows(tree))
    monkeypatch.setattr(import_forms, "MAX_UPLOAD_BYTES", len(data) - 1)
    response = upload(users.county, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "文件太大" in page and "不能超过" in page
    assert not ImportJob.objects.exists()
    assert stored_files(settings) == []


def test_the_real_limit_is_fifty_megabytes():
    assert import_forms.MAX_UPLOAD_BYTES == 50 * 1024 * 1024
    big = SimpleUploadedFile("big.xlsx", b"PK\x03\x04" + b"\0" * 16)
    big.size = import_forms.MAX_UPLOAD_BYTES + 1  # what Django reports for a 50 MB + 1 upload
    form = import_forms.UploadForm({"round_name": ROUND}, {"file": big})
    assert not form.is_valid()
    assert "不能超过 50 MB" in form.errors["file"][0]
    exact = SimpleUploadedFile("ok.xlsx", b"PK\x03\x04" + b"\0" * 16)
    exact.size = import_forms.MAX_UPLOAD_BYTES
    assert import_forms.UploadForm({"round_name": ROUND}, {"file": exact}).is_valid()


def test_a_round_name_is_required(upload, users, tree):
    response = upload(users.county, xlsx(good_rows(tree)), round_name="  ")
    assert response.status_code == 400
    assert "请填写摸排轮次名称" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_wrong_headers_fail_the_check_with_the_readers_message(upload, users, client, tree):
    data = xlsx([{"行政村代码": tree.v1.code, "户主": "王建国"}], headers=["行政村代码", "户主"])
    response = upload(users.county, data)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == job_url(job)
    assert job.status == ImportStatus.FAILED
    assert "表头" in job.message
    page = client.get(job_url(job)).content.decode()
    assert "检查失败" in page and "表头" in page and "重新上传" in page
    assert 'id="confirm-button"' not in page


def test_a_renamed_non_excel_zip_fails_the_check_cleanly(upload, users, client):
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    upload(users.county, buffer.getvalue())
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "不是 Excel" in job.message
    assert client.get(job_url(job)).status_code == 200


# A good file: check → preview → confirm → saved ------------------------------------------


def test_a_good_file_is_checked_previewed_confirmed_and_saved(
    upload, confirm, client, users, tree, settings
):
    response = upload(users.county, xlsx(good_rows(tree)), name="钦南区台账.xlsx")
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == job_url(job)
    assert job.original_name == "钦南区台账.xlsx"
    assert job.round_name == ROUND
    assert job.region == tree.county
    assert job.created_by == users.county
    assert len(stored_files(settings)) == 1
    assert job.status == ImportStatus.CHECKED, job.message
    assert job.checked_at is not None
    assert job.result["counts"]["rows"] == 3
    assert job.result["round_created"] is True
    assert not Household.objects.exists()  # a check writes nothing
    assert not SurveyRound.objects.filter(name=ROUND).exists()

    page = client.get(job_url(job)).content.decode()
    assert "检查通过" in page
    assert f"将新建摸排轮次“<b>{ROUND}</b>”" in page
    for label in COUNT_LABELS.values():
        assert label in page
    assert 'data-count="households_created"><dt>新增农户</dt><dd>2</dd>' in page
    assert 'data-count="toilets_created"><dt>新增厕所</dt><dd>3</dd>' in page
    assert 'id="confirm-button"' in page

    response, callbacks = confirm(users.county, job)
    assert response.status_code == 302 and response.url == job_url(job)
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.message
    assert job.confirmed_at and job.finished_at
    assert job.result["saved"] is True
    assert Household.objects.count() == 2
    assert Toilet.objects.count() == 3
    survey = SurveyRound.objects.get(name=ROUND, county=tree.county)
    assert Inspection.objects.filter(round=survey).count() == 3
    assert LedgerEntry.objects.count() == 1

    page = client.get(job_url(job)).content.decode()
    assert "导入完成" in page and "导入结果" in page
    assert reverse("rectification:ledger") in page
    assert reverse("toilets:household-list") in page
    assert 'id="confirm-button"' not in page

    # The upload page lists the job.
    page = client.get(UPLOAD).content.decode()
    assert "钦南区台账.xlsx" in page and "已完成" in page


def test_confirming_a_finished_job_again_does_nothing(upload, confirm, users, tree):
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    confirm(users.county, job)
    job.refresh_from_db()
    finished = job.finished_at
    assert job.status == ImportStatus.DONE
    response, callbacks = confirm(users.county, job)
    assert response.status_code == 302
    assert callbacks == []
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.finished_at == finished
    assert Household.objects.count() == 2
    # A redelivered task does nothing either.
    assert jobs.run_import(job.pk) == "skipped"
    assert jobs.run_check(job.pk) == "skipped"


def test_a_double_click_on_confirm_queues_one_import(client, users, tree, upload):
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    client.force_login(users.county)
    with pytest.MonkeyPatch.context() as patch:
        queued = []
        patch.setattr("imports.tasks.run_import_task.delay", queued.append)
        with transaction.atomic():
            client.post(job_url(job, "confirm"))
            response = client.post(job_url(job, "confirm"))
        assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED and job.confirmed_at is not None
    assert job.busy  # queued: the page polls
    page = client.get(job_url(job)).content.decode()
    assert "已确认，等待导入" in page and 'id="confirm-button"' not in page


def test_reimporting_a_corrected_file_updates_instead_of_duplicating(upload, confirm, users, tree):
    rows = good_rows(tree)
    upload(users.county, xlsx(rows))
    confirm(users.county, ImportJob.objects.get())
    rows[1]["联系电话"] = "13900001111"
    upload(users.county, xlsx(rows))
    job = ImportJob.objects.latest("id")
    assert job.status == ImportStatus.CHECKED
    assert job.result["round_created"] is False
    assert job.result["counts"]["households_created"] == 0
    assert job.result["counts"]["toilets_created"] == 0
    confirm(users.county, job)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert Household.objects.count() == 2
    assert Household.objects.get(head_name="李秀英").phone == "13900001111"


def test_the_import_checks_again_and_saves_nothing_when_it_now_fails(
    upload, confirm, client, users, tree
):
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED
    tree.v2.abolished = True  # the code list changed between the check and the confirm
    tree.v2.save()
    confirm(users.county, job)
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert "确认导入时重新检查" in job.message
    assert not Household.objects.exists()
    assert not SurveyRound.objects.filter(name=ROUND).exists()
    page = client.get(job_url(job)).content.decode()
    assert "已撤销" in page


# Bad rows -------------------------------------------------------------------------------


def bad_rows(tree):
    return [
        row(区划代码=tree.v1.code),
        row(区划代码="4507021002", 建造年份="去年"),  # row 3: two errors
        row(区划代码=tree.v2.code, 身份证号="450702198001011230"),  # row 4: check digit
        healthy(区划代码=tree.v2.code, 问题类型="厕屋问题"),  # row 5
    ]


def test_bad_rows_show_an_error_table_and_cannot_be_confirmed(upload, confirm, client, users, tree):
    upload(users.county, xlsx(bad_rows(tree)))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    errors = {(e["row"], e["column"]) for e in job.result["errors"]}
    assert {(3, "区划代码"), (3, "建造年份"), (4, "身份证号"), (5, "问题类型")} <= errors
    assert all(e["row"] != 2 for e in job.result["errors"])

    page = client.get(job_url(job)).content.decode()
    assert "未导入任何数据" in page
    assert '<th class="num">行号</th><th>列</th><th>问题</th>' in page
    assert '<td data-label="行号" class="num">3</td><td data-label="列">建造年份</td>' in page
    assert "校验位" in page
    assert 'id="confirm-button"' not in page
    assert job_url(job, "errors") in page

    response, callbacks = confirm(users.county, job)
    assert response.status_code == 302
    assert callbacks == []
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert not Household.objects.exists()
    assert not SurveyRound.objects.filter(name=ROUND).exists()
    assert "本次未导入任何数据" in client.get(job_url(job)).content.decode()


def test_the_errors_download_lists_every_error(upload, client, users, tree):
    upload(users.county, xlsx(bad_rows(tree)), name="坏台账.xlsx")
    job = ImportJob.objects.get()
    response = client.get(job_url(job, "errors"))
    assert response.status_code == 200
    assert "%E9%94%99%E8%AF%AF%E6%B8%85%E5%8D%95" in response["Content-Disposition"]  # 错误清单
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "问题")
    assert len(rows) - 1 == len(job.result["errors"])
    assert (3, "建造年份") in {r[:2] for r in rows[1:]}


def test_the_errors_download_is_escaped_against_formulas(client, users, tree):
    job = ImportJob.objects.create(
        original_name="a.xlsx",
        round_name=ROUND,
        region=tree.county,
        created_by=users.county,
        status=ImportStatus.INVALID,
        result={"errors": [{"row": 2, "column": "", "message": '=HYPERLINK("http://x")'}]},
    )
    client.force_login(users.county)
    sheet = load_workbook(io.BytesIO(client.get(job_url(job, "errors")).content)).active
    assert sheet["C2"].value == '\'=HYPERLINK("http://x")'
    assert sheet["B2"].value in (None, "")


def test_a_long_error_list_is_capped_on_the_page(client, users, tree):
    errors = [{"row": n, "column": "区划代码", "message": "不存在"} for n in range(2, 1002)]
    job = ImportJob.objects.create(
        original_name="a.xlsx",
        round_name=ROUND,
        region=tree.county,
        created_by=users.county,
        status=ImportStatus.INVALID,
        message="检查发现 1000 处错误，未导入任何数据。",
        result={"errors": errors, "error_count": 1000},
    )
    client.force_login(users.county)
    page = client.get(job_url(job)).content.decode()
    assert page.count('<td data-label="行号"') == ERRORS_SHOWN
    assert f"页面只显示前 {ERRORS_SHOWN} 处" in page
    sheet = load_workbook(io.BytesIO(client.get(job_url(job, "errors")).content)).active
    assert sheet.max_row == 1001


def test_a_village_outside_the_importers_region_is_a_row_error(upload, users, tree):
    upload(users.township, xlsx([row(区划代码=tree.v1.code), row(区划代码=tree.v3.code)]))
    job = ImportJob.objects.get()
    assert job.region == tree.t1
    assert job.status == ImportStatus.INVALID
    (error,) = job.result["errors"]
    assert error["row"] == 3 and error["column"] == "区划代码"
    assert "不在您的管辖范围内" in error["message"]


# Who sees a job ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["township_t2", "county", "outsider", "surveyor"])
def test_another_users_job_is_not_found(upload, client, users, tree, who):
    upload(users.township, xlsx(bad_rows(tree)))
    job = ImportJob.objects.get()
    client.force_login(getattr(users, who))
    for name in ("job", "job-status", "errors"):
        assert client.get(job_url(job, name)).status_code == 404, name
    expected = 403 if who == "surveyor" else 404
    assert client.post(job_url(job, "confirm")).status_code == expected
    if who != "surveyor":
        assert job_url(job) not in client.get(UPLOAD).content.decode()


def test_a_job_is_gone_when_its_uploader_leaves_the_region(upload, client, users, tree):
    upload(users.township, xlsx(good_rows(tree)[:2]))
    job = ImportJob.objects.get()
    RoleAssignment.objects.filter(user=users.township).update(region=tree.t2)
    client.force_login(users.township)
    assert client.get(job_url(job)).status_code == 404


def test_an_unknown_job_is_not_found(client, users):
    client.force_login(users.county)
    assert client.get(reverse("imports:job", args=[999])).status_code == 404


# The progress bar ---------------------------------------------------------------------------


def test_the_status_json_drives_the_progress_bar(client, users, tree):
    job = ImportJob.objects.create(
        original_name="a.xlsx",
        round_name=ROUND,
        region=tree.county,
        created_by=users.county,
        status=ImportStatus.CHECKING,
        done=5000,
        total=20000,
        message="正在逐行检查…（已检查 5000 行）",
    )
    client.force_login(users.county)
    response = client.get(job_url(job, "job-status"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "id": job.pk,
        "status": "checking",
        "status_label": "检查中",
        "done": 5000,
        "total": 20000,
        "percent": 25,
        "message": "正在逐行检查…（已检查 5000 行）",
        "busy": True,
        "finished": False,
    }
    page = client.get(job_url(job)).content.decode()
    assert 'role="progressbar"' in page and "job_progress.js" in page
    assert 'data-busy="1"' in page and "5000 / 20000 行" in page

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.CHECKED)
    data = client.get(job_url(job, "job-status")).json()
    assert data["busy"] is False and data["finished"] is True and data["percent"] == 100
    page = client.get(job_url(job)).content.decode()
    assert 'role="progressbar"' not in page and "job_progress.js" not in page


def test_progress_is_throttled_and_written_outside_a_transaction(users, tree):
    job = ImportJob.objects.create(
        original_name="a.xlsx", round_name=ROUND, region=tree.county, created_by=users.county
    )
    calls = []
    writer = jobs.ProgressWriter(job.pk)
    writer.write = lambda done, total, message: calls.append((done, total, message))
    writer(0, 100, "开始")
    writer(10, 100, "太快，不写")
    writer(100, 100, "完成")
    assert calls == [(0, 100, "开始"), (100, 100, "完成")]


@pytest.mark.django_db(transaction=True)
def test_progress_inside_the_write_transaction_is_visible_on_postgresql(users, tree):
    job = ImportJob.objects.create(
        original_name="a.xlsx", round_name=ROUND, region=tree.county, created_by=users.county
    )
    writer = jobs.ProgressWriter(job.pk)
    writer(3, 10, "在事务外")
    assert ImportJob.objects.values_list("done", "message").get(pk=job.pk) == (3, "在事务外")
    if connection.vendor != "postgresql":
        writer.close()
        pytest.skip("SQLite has one writer at a time: the bar waits for the transaction")
    other = connection.copy()
    try:
        with transaction.atomic():
            writer.write(7, 10, "在事务内")
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT done, message FROM imports_importjob WHERE id = %s", [job.pk]
                )
                assert cursor.fetchone() == (7, "在事务内")
    finally:
        other.close()
        writer.close()


# Failures end the job, never the server ----------------------------------------------------


def test_an_unexpected_engine_error_fails_the_job_with_a_generic_message(
    upload, users, tree, monkeypatch, caplog
):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(jobs, "import_ledger", boom)
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "服务器内部错误" in job.message
    assert "disk on fire" not in job.message
    assert "import job" in caplog.text


def test_a_job_whose_uploader_lost_the_right_fails_without_permission(
    client, users, tree, django_capture_on_commit_callbacks
):
    client.force_login(users.county)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(
            UPLOAD,
            {"file": SimpleUploadedFile("a.xlsx", xlsx(good_rows(tree))), "round_name": ROUND},
        )
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.UPLOADED and job.busy
    RoleAssignment.objects.filter(user=users.county).update(role=Role.INSPECTOR)
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.message == "您没有导入台账的权限。"


def test_a_superuser_without_a_region_can_import(upload, confirm, tree):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    upload(admin, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    assert job.region is None
    assert job.status == ImportStatus.CHECKED
    confirm(admin, job)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE


def test_the_admin_shows_jobs_read_only(upload, client, users, tree):
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get(reverse("admin:imports_importjob_changelist")).status_code == 200
    response = client.get(reverse("admin:imports_importjob_change", args=[job.pk]))
    assert response.status_code == 200
    assert client.get(reverse("admin:imports_importjob_add")).status_code == 403


# A real worker ------------------------------------------------------------------------------


@pytest.fixture
def worker(settings):
    """A Celery worker in a thread of this process, with eager mode off: the tasks run only
    once their job rows are committed, on the worker's own database connection."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            yield app
    finally:
        app.conf.task_always_eager = eager


def wait_for(job, *statuses, seconds=30):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job stayed {job.status}: {job.message}")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_checks_imports_and_ignores_a_redelivery(client, users, tree, worker):
    from imports.tasks import run_check_task, run_import_task

    client.force_login(users.county)
    response = client.post(
        UPLOAD, {"file": SimpleUploadedFile("a.xlsx", xlsx(good_rows(tree))), "round_name": ROUND}
    )
    job = ImportJob.objects.get()
    assert response.url == job_url(job)
    wait_for(job, ImportStatus.CHECKED, ImportStatus.INVALID, ImportStatus.FAILED)
    assert job.status == ImportStatus.CHECKED, job.message
    assert run_check_task.delay(job.pk).get(timeout=10) == "skipped"

    client.post(job_url(job, "confirm"))
    wait_for(job, ImportStatus.DONE, ImportStatus.INVALID, ImportStatus.FAILED)
    assert job.status == ImportStatus.DONE, job.message
    assert Household.objects.count() == 2
    assert run_import_task.delay(job.pk).get(timeout=10) == "skipped"
    assert Household.objects.count() == 2

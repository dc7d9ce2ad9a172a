"""The core layer: the shared pieces every app builds on behave as the apps rely on."""

import io
import zipfile

import pytest
from django import forms
from django.core.exceptions import ValidationError
from openpyxl import Workbook, load_workbook

from core.concurrency import check_version, lock_version, save_versioned, update_if_unchanged
from core.errors import ConflictError, StaleEditError
from core.exports import Export, ExportRegistry
from core.hooks import Hook
from core.querystring import as_query, params_of, without_page
from core.responses import attachment
from core.uploads import BadImage, UploadRefused, check_xlsx, open_image
from core.web.forms import put_errors
from core.xlsx import escape_cell, unescape_cell, write_xlsx
from reports.sheet import SheetFormatError, read_summary
from tests.factories import HouseholdFactory
from tests.images import png
from toilets.models import Household


def xlsx_bytes(rows=(("a", "b"),)) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# Errors and concurrency -----------------------------------------------------------------


def test_a_stale_edit_is_a_conflict_with_the_pages_message():
    error = StaleEditError()
    assert isinstance(error, ConflictError)
    assert "已被他人修改" in error.message and str(error) == error.message
    assert StaleEditError("刚刚被他人处理过").message == "刚刚被他人处理过"


def test_it_refuses_only_a_version_that_moved_on():
    check_version(3, None)  # a write without a version (a script) is not checked
    check_version(3, 3)
    with pytest.raises(StaleEditError):
        check_version(4, 3)


@pytest.mark.django_db
def test_a_conditional_update_has_exactly_one_winner(tree):
    household = HouseholdFactory(village=tree.v1)
    rows = Household.objects.filter(pk=household.pk)
    assert update_if_unchanged(rows, version=household.version, group_name="一组")
    # The second writer read the same version: it moves nothing.
    assert not update_if_unchanged(rows, version=household.version, group_name="二组")
    household.refresh_from_db()
    assert (household.group_name, household.version) == ("一组", 2)


@pytest.mark.django_db
def test_saving_a_stale_copy_is_refused_and_writes_nothing(tree, users):
    household = HouseholdFactory(village=tree.v1)
    seen = household.version
    fresh = Household.objects.get(pk=household.pk)
    fresh.group_name = "一组"
    save_versioned(fresh, actor=users.township, expected_version=seen)
    household.group_name = "二组"
    with pytest.raises(StaleEditError):
        save_versioned(household, actor=users.township, expected_version=seen)
    assert Household.objects.get(pk=household.pk).group_name == "一组"
    assert lock_version(Household.objects, household.pk, "group_name") == (seen + 1, "一组")


# Hooks and the export registry ------------------------------------------------------------


def test_a_hook_calls_its_receivers_once_each_in_order_and_lets_refusals_through():
    hook, calls = Hook("saved"), []

    def first(**kwargs):
        calls.append(("first", kwargs))
        return 1

    def refuse(**kwargs):
        raise ValidationError("不行")

    hook.connect(first)
    hook.connect(first)  # connecting twice (e.g. ready() run again) adds nothing
    assert hook.send(x=1) == [1]
    assert calls == [("first", {"x": 1})]
    hook.connect(refuse)
    with pytest.raises(ValidationError):
        hook.send(x=2)


def test_the_registry_builds_registered_exports_and_refuses_a_second_builder():
    registry = ExportRegistry()

    def builder(user, params):
        return Export("厕所台账", ["编号"], count=lambda: 1, rows=lambda: [[1]])

    registry.register("export_toilets", "厕所台账", builder)
    registry.register("export_toilets", "厕所台账", builder)  # the same again is harmless
    assert "export_toilets" in registry and registry.kinds() == ["export_toilets"]
    assert registry.build("export_toilets", None, {}).title == "厕所台账"
    with pytest.raises(ValueError):
        registry.register("export_toilets", "厕所台账", lambda user, params: None)
    # Without a background runner a big export is sent at once (None: no job).
    assert registry.start_background(None, "export_toilets", {}) is None


def test_every_list_page_registers_its_export():
    from core.exports import exports

    assert set(exports.kinds()) == {
        "export_households",
        "export_toilets",
        "export_inspections",
        "export_coverage",
        "export_missing",
        "export_ledger",
        "export_ledger_log",
    }


# Spreadsheets, downloads and query strings ------------------------------------------------


def test_text_that_would_run_as_a_formula_is_escaped_and_read_back():
    for text in ("=1+1", "+86", "-5", "@SUM(A1)", "\tx", "\rx"):
        assert escape_cell(text) == "'" + text
        assert unescape_cell(escape_cell(text)) == text
    assert escape_cell(12) == 12 and escape_cell("张三") == "张三"
    sheet = load_workbook(io.BytesIO(write_xlsx("表", ["列"], [["=HYPERLINK()"]]))).active
    assert sheet["A2"].value == "'=HYPERLINK()"


def test_a_download_is_named_in_utf8():
    response = attachment(b"x", "钦南区-厕所台账.xlsx")
    assert response["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
    assert "%E9%92%A6" in response["Content-Disposition"]  # 钦


def test_query_strings_round_trip_without_the_page_number():
    query = as_query({"village": "450702100001", "state": ["planned", "closed"], "page": 3})
    assert params_of(query) == {"state": ["planned", "closed"], "village": "450702100001"}
    assert "page" not in without_page(query)


# Upload safety ------------------------------------------------------------------------------


def test_a_real_workbook_passes_the_container_check():
    check_xlsx(xlsx_bytes(), max_bytes=1024 * 1024)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", UploadRefused.EMPTY),
        (b"PK\x03\x04 not really a zip", UploadRefused.NOT_XLSX),
        (zip_bytes({"word/document.xml": b"<w/>"}), UploadRefused.NO_SHEETS),
        (zip_bytes({"xl/worksheets/sheet1.xml": b"0" * (30 * 1024 * 1024)}), UploadRefused.BOMB),
    ],
)
def test_what_is_not_a_sane_workbook_is_refused_before_parsing(data, reason):
    with pytest.raises(UploadRefused) as refused:
        check_xlsx(data, max_bytes=1024 * 1024)
    assert refused.value.reason == reason


def test_a_file_over_the_limit_is_refused_by_size_alone():
    with pytest.raises(UploadRefused) as refused:
        check_xlsx(xlsx_bytes(), max_bytes=10)
    assert refused.value.reason == UploadRefused.TOO_BIG


def test_the_summary_reader_refuses_a_bomb_and_a_zip_without_sheets_with_chinese_messages():
    bomb = zip_bytes({"xl/worksheets/sheet1.xml": b"0" * (30 * 1024 * 1024)})
    with pytest.raises(SheetFormatError, match="解压后过大"):
        read_summary(bomb)
    with pytest.raises(SheetFormatError, match="无法读取"):
        read_summary(zip_bytes({"word/document.xml": b"<w/>"}))


def test_an_image_opens_once_decoded_and_anything_else_is_a_bad_image():
    image = open_image(png().read(), verify=True)
    assert image.format == "PNG"
    for data in (b"", b"GIF89a broken", png().read()[:40]):
        with pytest.raises(BadImage):
            open_image(data, verify=True)


# Form errors --------------------------------------------------------------------------------


class _Form(forms.Form):
    name = forms.CharField(required=False)
    photo = forms.CharField(required=False)


def test_every_message_of_a_service_refusal_reaches_the_form():
    form = _Form(data={})
    assert form.is_valid()
    error = ValidationError(
        {"name": ["太长", "含有非法字符"], "image": "照片无法识别", "elsewhere": "另一处问题"}
    )
    put_errors(form, error, renamed={"image": "photo"})
    assert form.errors["name"] == ["太长", "含有非法字符"]
    assert form.errors["photo"] == ["照片无法识别"]
    assert form.non_field_errors() == ["另一处问题"]
    plain = _Form(data={})
    plain.is_valid()
    put_errors(plain, ValidationError(["一", "二"]))
    assert plain.non_field_errors() == ["一", "二"]

"""Issue 16, finding 1: the public verify page and the validate page are no way to exhaust the
server. A shared-strings bomb is refused from the zip's directory before any parser sees it
(each member's own ratio and size, however much stored padding lifts the whole file), the
verify page takes at most 2 MB and a few uploads a minute per address, what is read is bounded
(rows and columns, whatever the sheet claims), and the parse runs in a child process with a
memory and a time limit."""

import io
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reports import sheet as summary_sheet
from reports.sheet import MAX_SCANNED_ROWS, SheetFormatError, read_summary
from tests.upload_bombs import base_workbook, expanded, shared_strings_bomb

pytestmark = pytest.mark.django_db

VERIFY = reverse("reports:verify")
VALIDATE = reverse("reports:validate")


def never_parsed(monkeypatch):
    """Make reaching openpyxl's reader a failure of the test."""

    def reached(*args, **kwargs):
        raise AssertionError("the parser was reached")

    monkeypatch.setattr(summary_sheet, "load_workbook", reached)
    monkeypatch.setattr("reports.stamp.load_workbook", reached)


@pytest.fixture(scope="module")
def small_bomb() -> bytes:
    """Under the verify page's 2 MB: 120 MB of shared strings (7 million of them) in
    ~200 KB, with 1 MB of stored random padding so that the whole file's ratio (and the
    old 200 MB cap) let it through."""
    data = shared_strings_bomb(120, padding=1024 * 1024)
    assert len(data) < 2 * 1024 * 1024
    assert expanded(data) < 100 * len(data) + 10 * 1024 * 1024
    return data


@pytest.fixture(scope="module")
def big_bomb() -> bytes:
    """The size of the issue's: 188 MB of shared strings, 2 MB of padding."""
    data = shared_strings_bomb(188, padding=2 * 1024 * 1024)
    assert expanded(data) < 200 * 1024 * 1024
    return data


def test_the_public_verify_page_refuses_a_bomb_before_parsing_it(client, monkeypatch, small_bomb):
    never_parsed(monkeypatch)
    started = time.monotonic()
    response = client.post(VERIFY, {"file": SimpleUploadedFile("汇总表.xlsx", small_bomb)})
    assert time.monotonic() - started < 3
    body = response.content.decode()
    assert response.status_code == 200
    assert "未找到" in body and "文件解压后过大" in body


def test_the_validate_page_refuses_a_bomb_before_parsing_it(as_user, users, monkeypatch, big_bomb):
    never_parsed(monkeypatch)
    client = as_user(users.surveyor)
    started = time.monotonic()
    response = client.post(VALIDATE, {"file": SimpleUploadedFile("汇总表.xlsx", big_bomb)})
    assert time.monotonic() - started < 3
    assert response.status_code == 400
    assert "文件解压后过大" in response.content.decode()


def test_the_verify_page_takes_at_most_2_mb(client, monkeypatch):
    never_parsed(monkeypatch)
    data = shared_strings_bomb(0, padding=2 * 1024 * 1024 + 1)
    response = client.post(VERIFY, {"file": SimpleUploadedFile("汇总表.xlsx", data)})
    body = response.content.decode()
    assert "文件超过 2 MB" in body and "核验通过" not in body


def test_verify_uploads_are_throttled_per_address(client, settings):
    settings.VERIFY_UPLOAD_RATE = "3/m"
    for _ in range(3):
        response = client.post(VERIFY, {"file": SimpleUploadedFile("a.xlsx", b"hello")})
        assert response.status_code == 200
    response = client.post(VERIFY, {"file": SimpleUploadedFile("a.xlsx", b"hello")})
    assert response.status_code == 429
    assert "操作过于频繁" in response.content.decode()
    assert int(response["Retry-After"]) >= 1
    # Another address is not held up, and a code is still looked up.
    other = client.post(
        VERIFY, {"file": SimpleUploadedFile("a.xlsx", b"hello")}, REMOTE_ADDR="10.9.8.7"
    )
    assert other.status_code == 200
    assert client.get(VERIFY, {"code": "ABCDEFGHJK"}).status_code == 200


def _claims_the_whole_grid(rows: int) -> bytes:
    """A small sheet whose dimension claims 16,384 columns, with ``rows`` one-cell rows:
    read as it claims, every row would be 16,384 cells wide."""
    source = zipfile.ZipFile(io.BytesIO(base_workbook()))
    body = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(1, rows + 1)
    )
    xml = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><dimension ref="A1:XFD%d"/><sheetData>'
        % rows
        + body
        + b"</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = xml
            archive.writestr(info.filename, content)
    return buffer.getvalue()


def test_what_is_read_is_bounded_whatever_the_sheet_claims():
    data = _claims_the_whole_grid(MAX_SCANNED_ROWS + 1)
    assert len(data) < 2 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(SheetFormatError) as refused:
        read_summary(data)
    assert time.monotonic() - started < 5
    assert f"表格超过 {MAX_SCANNED_ROWS} 行" in str(refused.value)


def _hog(data: bytes):
    return bytearray(3 * 1024 * 1024 * 1024)  # what a runaway parse would ask for


def test_the_parse_runs_under_a_memory_limit_not_in_the_web_process(as_user, users, monkeypatch):
    monkeypatch.setattr(summary_sheet, "_parse_summary", _hog)
    response = as_user(users.surveyor).post(
        VALIDATE, {"file": SimpleUploadedFile("汇总表.xlsx", base_workbook())}
    )
    assert response.status_code == 400
    assert "无法在限定的时间和内存内读取" in response.content.decode()


def test_the_parse_runs_under_a_time_limit(monkeypatch):
    monkeypatch.setattr(summary_sheet, "PARSE_SECONDS", 0.5)
    monkeypatch.setattr(summary_sheet, "_parse_summary", lambda data: time.sleep(30))
    started = time.monotonic()
    with pytest.raises(SheetFormatError) as refused:
        read_summary(base_workbook())
    assert time.monotonic() - started < 3
    assert "无法在限定的时间和内存内读取" in str(refused.value)

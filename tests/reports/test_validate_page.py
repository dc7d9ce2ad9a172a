"""The upload-validation page: a sheet filled by hand in the official layout is checked by the
same engine as validate_summary, with bad cells and rows highlighted; unreadable files get a
clear Chinese error; an empty template in the official layout can be downloaded."""

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from reports.sheet import read_summary, summary_workbook_bytes
from tests.browser import fits_a_phone, log_in, phone_page

pytestmark = pytest.mark.django_db

VALIDATE = reverse("reports:validate")
TEMPLATE = reverse("reports:validate-template")

# A row that keeps every rule: 1=2+3+4 (10=1+5+4), 6=7+8 (3=2+1), 9=1, 6+9=10+11=20+21=25 (4),
# categories 14=4, closed 29=30+31 (2), 32=1, 33=4-2-1.
GOOD = {1: 10, 2: 1, 3: 5, 4: 4, 5: 2, 6: 3, 7: 2, 8: 1, 9: 1, 10: 3, 11: 1, 14: 4, 20: 4}
GOOD |= {25: 4, 29: 2, 30: 1, 31: 1, 32: 1, 33: 1}


def sheet_bytes(rows=None, *, edit=None) -> bytes:
    """A sheet in the official layout (rows 沙埠镇, 康熙岭镇 and 合计 from row 7), optionally
    edited cell by cell afterwards, as a unit filling Excel by hand would."""
    rows = rows or [("沙埠镇", GOOD), ("康熙岭镇", GOOD)]
    total = {c: sum(values.get(c, 0) for _, values in rows) for c in range(1, 34)}
    data = summary_workbook_bytes(
        title="钦南区农村厕所问题摸排整改情况汇总表",
        unit="钦南区",
        row_label="乡镇",
        rows=rows,
        total=total,
    )
    if not edit:
        return data
    workbook = load_workbook(io.BytesIO(data))
    for ref, value in edit.items():
        workbook.active[ref] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, name="汇总表.xlsx"):
    return client.post(VALIDATE, {"file": SimpleUploadedFile(name, data)})


def text_of(response) -> str:
    return response.content.decode()


def test_it_sends_anonymous_users_to_login(client):
    for url in (VALIDATE, TEMPLATE):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response.url


@pytest.mark.parametrize("who", ["surveyor", "township", "county", "inspector", "outsider"])
def test_it_is_open_to_every_role(as_user, users, who):
    response = as_user(getattr(users, who)).get(VALIDATE)
    assert response.status_code == 200
    assert "上传并检查" in text_of(response)
    assert TEMPLATE in text_of(response)


def test_it_passes_a_clean_sheet(as_user, users):
    response = upload(as_user(users.township), sheet_bytes())
    assert response.status_code == 200
    page = text_of(response)
    assert "检查通过" in page
    assert "共 3 行" in page
    assert 'class="cell-bad"' not in page
    assert "row-bad" not in page.split('id="sheet"')[1]
    # The sheet is shown back, row by row.
    assert "沙埠镇" in page and "康熙岭镇" in page


def test_it_highlights_a_bad_cell_with_its_reference(as_user, users):
    # Column 15 is in column P; 康熙岭镇 is the second data row, row 8.
    response = upload(as_user(users.township), sheet_bytes(edit={"P8": "三户"}))
    page = text_of(response)
    assert "检查通过" not in page
    assert "1 个单元格错误" in page
    assert re.search(r'<td class="cell-bad" data-ref="P8" title="[^"]*三户[^"]*">P8</td>', page)
    errors = page.split('id="cell-errors"')[1].split("</table>")[0]
    assert "P8" in errors and "不是非负整数" in errors


def test_it_lists_each_violation_and_highlights_its_row(as_user, users):
    # 沙埠镇 column 10 (K7) from 3 to 4: 6+9 (=4) ≠ 10+11 (=5), and 合计 no longer adds up.
    response = upload(as_user(users.county), sheet_bytes(edit={"K7": 4}))
    page = text_of(response)
    assert "未通过" in page
    listed = page.split('id="violations"')[1].split("</table>")[0]
    assert re.search(
        r"<td[^>]*>沙埠镇</td><td[^>]*>6\+9=10\+11</td><td[^>]*>4</td><td[^>]*>5</td>", listed
    )
    assert "沙埠镇: 6+9 (=4) ≠ 10+11 (=5)" in listed
    assert "合计=各行之和（第10列）" in listed
    sheet = page.split('id="sheet"')[1]
    row = re.search(r'<tr class="row-bad"[^>]*>\s*<th scope="row" class="label">沙埠镇', sheet)
    assert row, "the 沙埠镇 row is highlighted"
    assert '<td class="cell-involved" data-ref="K7">4</td>' in sheet
    # The row that keeps the rules is not highlighted.
    assert re.search(r'<tr class="">\s*<th scope="row" class="label">康熙岭镇', sheet)


def test_it_reads_numbers_given_as_text_and_blank_cells_as_zero(as_user, users):
    response = upload(as_user(users.county), sheet_bytes(edit={"B7": "10", "F7": None}))
    # F7 is column 5 (涉及行政村数): blank is 0, so 合计 (4) ≠ 2 breaks the total only.
    page = text_of(response)
    assert "合计=各行之和（第5列）" in page
    assert "未通过：0 个单元格错误，1 处违反约束规则" in page
    assert 'id="cell-errors"' not in page


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _bomb() -> bytes:
    """A zip of 6 KB-ish holding a 210 MB member named like an xlsx part."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b" " * (1024 * 1024)
            for _ in range(210):
                member.write(chunk)
    return buffer.getvalue()


def _no_number_row() -> bytes:
    workbook = Workbook()
    workbook.active.append(["乡镇", "厕所总数", "公厕数"])
    workbook.active.append(["沙埠镇", 10, 1])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _damaged_sheet() -> bytes:
    """A real workbook whose sheet XML was cut short."""
    source = zipfile.ZipFile(io.BytesIO(sheet_bytes()))
    members = {info.filename: source.read(info) for info in source.infolist()}
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"][:900]
    return _zip(members)


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        (lambda: b"", "empty.xlsx", "文件是空的"),
        (lambda: "乡镇,厕所总数\n沙埠镇,10\n".encode(), "汇总表.xlsx", "不是 Excel（.xlsx）文件"),
        (lambda: b"\xd0\xcf\x11\xe0" + b"\0" * 2000, "汇总表.xls", "不是 Excel（.xlsx）文件"),
        (lambda: b"PK" + b"\0" * (20 * 1024 * 1024), "big.xlsx", "文件超过 20 MB"),
        (_bomb, "bomb.xlsx", "文件解压后过大"),
        (_no_number_row, "wrong.xlsx", "没有找到标有 1…33 列序号的行"),
        (lambda: _zip({"hello.txt": b"hi"}), "notes.xlsx", "无法读取该 Excel 文件"),
        (_damaged_sheet, "damaged.xlsx", "无法读取"),
    ],
    ids=["empty", "csv", "xls", "too-big", "zip-bomb", "wrong-headers", "zip-not-xlsx", "damaged"],
)
def test_it_explains_an_unreadable_file_and_stays_up(as_user, users, make, name, expected):
    client = as_user(users.surveyor)
    response = upload(client, make(), name)
    assert response.status_code == 400
    page = text_of(response)
    assert expected in page
    assert "检查结果" not in page
    # The next upload is served as usual.
    assert "检查通过" in text_of(upload(client, sheet_bytes()))


def test_it_asks_for_a_file(as_user, users):
    response = as_user(users.surveyor).post(VALIDATE, {})
    assert response.status_code == 400
    assert "请选择要检查的 .xlsx 文件" in text_of(response)


def _download(client):
    response = client.get(TEMPLATE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_it_offers_an_empty_template_with_the_countys_townships(as_user, users):
    data = _download(as_user(users.county))
    parsed = read_summary(data)
    assert [label for label, _ in parsed.rows] == ["沙埠镇", "康熙岭镇"]
    assert parsed.total[0] == "合计"
    assert all(v == 0 for _, values in parsed.rows for v in values.values())
    assert not parsed.errors and not parsed.violations
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A1"].value == "钦南区农村厕所问题摸排整改情况汇总表"
    assert sheet["A2"].value == "县区（盖章）：钦南区"


def test_it_fills_the_template_from_the_users_own_region_only(as_user, users, client):
    parsed = read_summary(_download(as_user(users.township)))
    assert [label for label, _ in parsed.rows] == ["沙埠镇"]
    client.logout()
    parsed = read_summary(_download(as_user(users.outsider)))
    assert [label for label, _ in parsed.rows] == ["大垌镇"]


def test_the_downloaded_template_checks_clean_on_the_page(as_user, users):
    client = as_user(users.county)
    response = upload(client, _download(client))
    assert "检查通过" in text_of(response)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_bad_sheet_is_shown_on_a_phone_without_sideways_scrolling(live_server, users, tmp_path):
    upload_file = tmp_path / "汇总表.xlsx"
    upload_file.write_bytes(sheet_bytes(edit={"K7": 4, "P8": "三户"}))
    with phone_page(has_touch=True) as page:
        log_in(page, live_server, "township")
        page.goto(f"{live_server.url}{VALIDATE}")
        page.set_input_files("#id_file", str(upload_file))
        page.click("text=上传并检查")
        page.locator("#validate-result").wait_for()
        assert page.locator("td.cell-bad").inner_text() == "P8"
        assert page.locator("tr.row-bad").count() == 2  # 沙埠镇 and 合计
        # The 34 columns scroll inside their box; the page itself does not.
        assert fits_a_phone(page)
        assert page.evaluate(
            "document.querySelector('.sheet-wrap').scrollWidth"
            " > document.querySelector('.sheet-wrap').clientWidth"
        )

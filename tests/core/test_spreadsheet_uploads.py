"""core.uploads.check_spreadsheet: .xlsx, .xls and .ods told apart by their bytes, and
refused before calamine sees them when they are not sane."""

import io
import struct
import zipfile

import pytest
import xlwt
from openpyxl import Workbook

from core.uploads import (
    ODS,
    XLS,
    XLSX,
    UploadRefused,
    check_spreadsheet,
    sniff_spreadsheet,
)

LIMITS = {"max_bytes": 1024 * 1024, "max_rows": 1000, "max_cells": 100_000}


def xlsx(cells=(("A1", "x"),)) -> bytes:
    workbook = Workbook()
    for ref, value in cells:
        workbook.active[ref] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xls(cells=((0, 0, "x"),)) -> bytes:
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("s")
    for row, column, value in cells:
        sheet.write(row, column, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ods(rows_xml='<table:table-row><table:table-cell office:value-type="string">'
        "<text:p>x</text:p></table:table-cell></table:table-row>") -> bytes:  # fmt: skip
    content = (
        '<?xml version="1.0"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        f'<office:spreadsheet><table:table table:name="a">{rows_xml}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def reason(data, **limits) -> str:
    with pytest.raises(UploadRefused) as refused:
        check_spreadsheet(data, **{**LIMITS, **limits})
    return refused.value.reason


@pytest.mark.parametrize("make, kind", [(xlsx, XLSX), (xls, XLS), (ods, ODS)])
def test_each_format_is_told_by_its_bytes(make, kind, tmp_path):
    data = make()
    assert sniff_spreadsheet(data[:120]) == kind
    assert check_spreadsheet(data, **LIMITS) == kind
    stream = io.BytesIO(data)
    stream.seek(7)
    assert check_spreadsheet(stream, **LIMITS) == kind and stream.tell() == 0
    path = tmp_path / "renamed.txt"
    path.write_bytes(data)
    assert check_spreadsheet(str(path), **LIMITS) == kind


def test_what_is_no_spreadsheet_is_refused():
    assert sniff_spreadsheet(b"%PDF-1.4") is None
    assert reason(b"") == UploadRefused.EMPTY
    assert reason(b"%PDF-1.4 not a spreadsheet") == UploadRefused.NOT_SPREADSHEET
    assert reason(xlsx(), max_bytes=100) == UploadRefused.TOO_BIG
    odt = io.BytesIO()
    with zipfile.ZipFile(odt, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<x/>")
    assert reason(odt.getvalue()) == UploadRefused.NO_SHEETS
    assert reason(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 1000) == UploadRefused.DAMAGED


def test_the_grid_is_measured_in_each_format():
    far = 1001  # one row beyond max_rows
    assert reason(xlsx([("A1", "x"), (f"B{far}", "y")])) == UploadRefused.TOO_MANY_ROWS
    assert reason(xls([(0, 0, "x"), (far - 1, 1, "y")])) == UploadRefused.TOO_MANY_ROWS
    tall = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p>'
        '</table:table-cell></table:table-row><table:table-row table:number-rows-repeated="2000">'
        "<table:table-cell/></table:table-row><table:table-row><table:table-cell "
        'office:value-type="float" office:value="1"/></table:table-row>'
    )
    assert reason(ods(tall)) == UploadRefused.TOO_MANY_ROWS
    # 500 rows × 250 columns = 125,000 cells > 100,000
    assert reason(xlsx([("A1", "x"), ("IP500", "y")])) == UploadRefused.TOO_MANY_CELLS
    assert reason(xls([(0, 0, "x"), (499, 249, "y")])) == UploadRefused.TOO_MANY_CELLS
    wide = (
        '<table:table-row table:number-rows-repeated="500"><table:table-cell '
        'table:number-columns-repeated="250" office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row>"
    )
    assert reason(ods(wide)) == UploadRefused.TOO_MANY_CELLS
    # just inside: 400 × 250
    assert check_spreadsheet(xlsx([("A1", "x"), ("IP400", "y")]), **LIMITS) == XLSX
    assert check_spreadsheet(xls([(0, 0, "x"), (399, 249, "y")]), **LIMITS) == XLS


def test_a_reference_hidden_behind_a_tab_is_still_seen():
    data = xlsx([("A1", "x"), ("B2", "y")])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b' r="B2"', b'\tr="XFD900"')
            archive.writestr(info, body)
    assert reason(out.getvalue()) == UploadRefused.TOO_MANY_CELLS


def test_an_xls_multiple_cell_record_counts_its_last_column():
    data = bytearray(xls([(0, 0, "x"), (3, 10, 1), (3, 11, 2)]))
    # xlwt writes the two numbers of row 3 as one MULRK (0x00BD): row, first column, …, last
    at = data.find(b"\xbd\x00\x12\x00" + struct.pack("<HH", 3, 10))
    assert at > 0
    struct.pack_into("<H", data, at + 4 + 18 - 2, 65000)  # 4 rows × 65,001 columns
    assert reason(bytes(data)) == UploadRefused.TOO_MANY_CELLS


@pytest.mark.parametrize(
    "rows_xml",
    [
        b"<row r='300000'><c r='B300000' t='n'><v>1</v></c></row>",  # single quotes
        b'<row r = "1048576"><c r = "XFD1048576"><v>1</v></c></row>',  # spaces around =
        # rows without references (values that differ: the same row 300,000 times would
        # be refused sooner, as a member expanding too far)
        b"".join(b"<row><c><v>%d</v></c></row>" % i for i in range(300_000)),
    ],
)
def test_a_far_reaching_sheet_is_refused_however_its_references_are_written(rows_xml):
    head = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", head + rows_xml + b"</sheetData></worksheet>")
    with pytest.raises(UploadRefused) as refused:
        check_spreadsheet(
            buffer.getvalue(), max_bytes=50 * 2**20, max_rows=200_011, max_cells=10_000_000
        )
    assert refused.value.reason == UploadRefused.TOO_MANY_ROWS

"""Ledgers as counties keep them: .xlsx, .xls and .ods; title rows above the header; two-row
headers with merged group cells; the names other forms give the columns; columns the import
does not read; and files that must be refused before calamine sees them."""

import datetime
import io
import json
import struct
import zipfile

import pytest
import xlwt
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import CoveredTableCell, Table, TableCell, TableRow
from odf.text import P
from openpyxl import Workbook, load_workbook

from imports.columns import HEADERS
from imports.engine import import_ledger
from imports.models import ImportJob, ImportStatus
from imports.reader import NAMES, LedgerSheet
from imports.results import ImportFileError
from imports.synonyms import SYNONYMS
from imports.template import GUIDE_TITLE, template_workbook_bytes
from rectification.models import LedgerEntry
from surveys.models import Inspection, SurveyRound
from tests.ledger_files import id_number, ledger_row
from toilets.models import Household, Toilet

ROUND = "2022年回头看"
TITLE = "华容县农村户厕问题摸排台账（2022年回头看）"


# Writing the same sheet as .xlsx, .xls and .ods ---------------------------------------------
# A sheet is a list of rows (lists of values; None is an empty cell) and merged ranges
# (first row, first column, last row, last column), 0-based and inclusive.


def write_xlsx(rows, merges=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "摸排台账"
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            if value is not None:
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, datetime.date):
                    cell.number_format = "yyyy-mm-dd"
    for r1, c1, r2, c2 in merges:
        sheet.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xls(rows, merges=()) -> bytes:
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("摸排台账")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    anchors = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in merges}
    covered = {
        (r, c)
        for r1, c1, r2, c2 in merges
        for r in range(r1, r2 + 1)
        for c in range(c1, c2 + 1)
        if (r, c) != (r1, c1)
    }
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if (r, c) in covered or (value is None and (r, c) not in anchors):
                continue
            style = dates if isinstance(value, datetime.date) else xlwt.Style.default_style
            if (r, c) in anchors:
                r2, c2 = anchors[(r, c)]
                sheet.write_merge(r, r2, c, c2, value if value is not None else "", style)
            else:
                sheet.write(r, c, value, style)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _ods_cell(value, **span):
    if value is None:
        return TableCell(**span)
    if isinstance(value, bool):
        cell = TableCell(valuetype="boolean", booleanvalue=str(value).lower(), **span)
    elif isinstance(value, int | float):
        cell = TableCell(valuetype="float", value=value, **span)
    elif isinstance(value, datetime.date):
        cell = TableCell(valuetype="date", datevalue=value.isoformat(), **span)
    else:
        cell = TableCell(valuetype="string", **span)
    cell.addElement(P(text=str(value)))
    return cell


def write_ods(rows, merges=()) -> bytes:
    document = OpenDocumentSpreadsheet()
    table = Table(name="摸排台账")
    anchors = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in merges}
    covered = {
        (r, c)
        for r1, c1, r2, c2 in merges
        for r in range(r1, r2 + 1)
        for c in range(c1, c2 + 1)
        if (r, c) != (r1, c1)
    }
    for r, values in enumerate(rows):
        row = TableRow()
        for c, value in enumerate(values):
            if (r, c) in covered:
                row.addElement(CoveredTableCell())
                continue
            span = {}
            if (r, c) in anchors:
                r2, c2 = anchors[(r, c)]
                span = {"numberrowsspanned": r2 - r + 1, "numbercolumnsspanned": c2 - c + 1}
            row.addElement(_ods_cell(value, **span))
        table.addElement(row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


WRITERS = {"xlsx": write_xlsx, "xls": write_xls, "ods": write_ods}


# Real-shaped ledgers ------------------------------------------------------------------------


def households(n=3, **changes):
    return [
        ledger_row(
            户主姓名=f"户主{i}",
            身份证号=id_number(i, born=f"1980010{i + 1}"),
            联系电话=f"1381234{i:04d}",
            建造年份=2016 + i,  # a number, as clerks type it
            摸排日期=datetime.date(2022, 5, 10 + i),  # a date cell
            **changes,
        )
        for i in range(n)
    ]


# A county's ledger: 序号, the template's columns under other names, a group cell 户主信息
# over three columns and 摸排情况 over two, 户籍人口 and 备注 that the import does not read.
# (upper header, lower header, template column or None)
COUNTY_COLUMNS = [
    ("序号", None, None),
    ("行政村区划代码", None, "区划代码"),
    ("组别", None, "村民小组"),
    ("厕所类别", None, "厕所类别"),
    ("户主信息", "姓名", "户主姓名"),
    (None, "身份证号码", "身份证号"),
    (None, "联系电话", "联系电话"),
    ("户籍人口", None, None),
    ("公厕名称", None, "公厕名称"),
    ("改厕模式", None, "技术模式"),
    ("厕所类型", None, "厕所类型"),
    ("改厕年份", None, "建造年份"),
    ("资金来源", None, "资金来源"),
    ("使用情况", None, "使用情况"),
    ("问题类型", None, "问题类型"),
    ("是否销号", None, "整改情况"),
    ("摸排情况", "摸排人员", "摸排人"),
    (None, "排查日期", "摸排日期"),
    ("备注", None, None),
]


def county_sheet(rows, numbering=False):
    """The title merged across the sheet, a two-row header (vertical merges for the single
    columns, horizontal ones for the groups), optionally a row of column numbers, the rows."""
    width = len(COUNTY_COLUMNS)
    sheet = [[TITLE] + [None] * (width - 1), [], []]
    merges = [(0, 0, 0, width - 1)]
    for index, (upper, lower, _column) in enumerate(COUNTY_COLUMNS):
        sheet[1].append(upper)
        sheet[2].append(lower)
        if lower is None:
            merges.append((1, index, 2, index))
    for name in ("户主信息", "摸排情况"):
        start = [u for u, _l, _c in COUNTY_COLUMNS].index(name)
        span = 3 if name == "户主信息" else 2
        merges.append((1, start, 1, start + span - 1))
    if numbering:
        sheet.append(list(range(1, width + 1)))
    for number, row in enumerate(rows, start=1):
        values = []
        for upper, _lower, column in COUNTY_COLUMNS:
            if column is not None:
                values.append(row.get(column, ""))
            elif upper == "序号":
                values.append(number)
            elif upper == "户籍人口":
                values.append(4)
            else:
                values.append("已入户核实")
        sheet.append([None if v == "" else v for v in values])
    return sheet, merges


def county_file(fmt, rows, numbering=False) -> bytes:
    sheet, merges = county_sheet(rows, numbering=numbering)
    return WRITERS[fmt](sheet, merges)


def template_file(fmt, rows, headers=HEADERS) -> bytes:
    sheet = [list(headers)] + [
        [row.get(h) if row.get(h) != "" else None for h in headers] for row in rows
    ]
    return WRITERS[fmt](sheet)


def run(data: bytes, actor=None, dry_run=False):
    return import_ledger(io.BytesIO(data), round_name=ROUND, actor=actor, dry_run=dry_run)


def refused(data: bytes) -> str:
    with pytest.raises(ImportFileError) as caught:
        import_ledger(io.BytesIO(data), round_name=ROUND)
    return caught.value.message


def snapshot():
    return {
        "households": sorted(
            Household.objects.values_list("id_number", "head_name", "phone", "group_name")
        ),
        "toilets": sorted(
            Toilet.objects.values_list("kind", "tech_type", "flush_kind", "build_year", "funding")
        ),
        "inspections": sorted(
            Inspection.objects.values_list("toilet_id", "usability", "partner_name", "inspected_at")
        ),
        "entries": sorted(LedgerEntry.objects.values_list("toilet_id", "state")),
        "history": (Household.history.count(), Toilet.history.count(), Inspection.history.count()),
        "rounds": SurveyRound.objects.count(),
    }


# The header, wherever it is -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_a_county_ledger_with_a_title_and_a_two_row_header(tree, users, fmt):
    result = run(county_file(fmt, households(3)), actor=users.county)
    assert result.saved, result.errors
    assert result.counts["households_created"] == 3 and result.counts["rows"] == 3
    assert result.header_rows == (2, 3)
    assert result.unused_columns == ["序号", "户籍人口", "备注"]
    household = Household.objects.get(head_name="户主1")
    assert household.id_number == id_number(1, born="19800102")
    assert household.phone == "13812340001" and household.group_name == "一组"
    toilet = household.toilets.get()
    assert (toilet.tech_type, toilet.build_year) == ("three_compartment", 2017)
    inspection = toilet.inspections.get()
    assert inspection.partner_name == "李明"
    assert str(inspection.inspected_at.date()) == "2022-05-11"


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_bad_rows_are_named_by_the_row_number_excel_shows(tree, users, fmt):
    rows = households(3)
    rows[1]["建造年份"] = 2099
    result = run(county_file(fmt, rows, numbering=True), actor=users.county)
    assert not result.ok
    # title (1), header (2–3), column numbers (4), rows from 5: the second row is row 6
    assert [(e.row, e.column) for e in result.errors] == [(6, "建造年份")]
    assert not Household.objects.exists()


def test_the_row_of_column_numbers_under_the_header_is_not_a_data_row(tree, users):
    with LedgerSheet(county_file("xlsx", households(2), numbering=True)) as sheet:
        numbers = [number for number, _values in sheet.rows()]
    assert numbers == [5, 6]


def test_title_rows_above_a_one_row_header_with_other_names(tree, users):
    names = {column: others[0] for column, others in SYNONYMS.items()}
    headers = [names.get(h, h) for h in HEADERS]
    rows = households(2)
    sheet = [
        [TITLE],
        ["填报单位：钦南区农业农村局", None, None, "填报日期：2022年5月20日"],
        [],
        ["序号", *headers],
        *[[i, *[row.get(h) or None for h in HEADERS]] for i, row in enumerate(rows, start=1)],
    ]
    result = run(write_xlsx(sheet, merges=[(0, 0, 0, len(headers))]), actor=users.county)
    assert result.saved, result.errors
    assert result.header_rows == (4, 4) and result.unused_columns == ["序号"]
    assert Household.objects.count() == 2


@pytest.mark.parametrize(
    "column, name",
    [(column, name) for column, names in SYNONYMS.items() for name in names],
)
def test_every_listed_name_is_read_as_its_column(column, name):
    from imports.reader import _known

    assert _known(name) == (column, False)


def test_every_synonym_is_the_one_column_it_names():
    assert all(NAMES[h] == (h, True) for h in HEADERS)
    seen = {}
    for column, names in SYNONYMS.items():
        assert column in HEADERS
        for name in names:
            assert seen.setdefault(name, column) == column, name


def test_a_groups_name_joins_the_name_below_it():
    from imports.reader import _known

    assert _known("姓名", "户主信息") == ("户主姓名", True)
    assert _known("身份证号", "户主基本信息") == ("身份证号", False)  # 户主身份证号
    assert _known("姓名", "摸排人") == ("摸排人", False)
    assert _known("日期", "摸排情况") == ("摸排日期", True)
    assert _known("日期") is None and _known("日期", "备注") is None


def test_the_template_name_wins_over_another_name_which_is_left_unused(tree, users):
    headers = [*HEADERS, "手机号码"]
    rows = [dict(row, 手机号码="13900000000") for row in households(1)]
    result = run(template_file("xlsx", rows, headers), actor=users.county)
    assert result.saved and result.unused_columns == ["手机号码"]
    assert Household.objects.get().phone == "13812340000"


def test_two_other_names_for_one_column_refuse_the_file(tree):
    headers = [h for h in HEADERS if h != "联系电话"] + ["电话", "手机号码"]
    message = refused(template_file("xlsx", households(1), headers))
    assert message == "表头“电话”和“手机号码”都是“联系电话”，请只保留其中一列。"


def test_a_header_below_row_ten_is_not_found(tree):
    sheet = [[TITLE]] + [[]] * 10 + [HEADERS] + [[ledger_row()[h] for h in HEADERS]]
    message = refused(write_xlsx(sheet))
    assert "前 10 行都不是台账模板的表头" in message


def test_missing_columns_name_the_header_row_when_it_is_not_the_first(tree):
    headers = [h for h in HEADERS if h != "摸排人"]
    sheet = [[TITLE], headers, [ledger_row()[h] for h in headers]]
    assert refused(write_xlsx(sheet)) == "第 2 行的表头缺少列：摸排人。请使用导入模板的表头。"


def test_an_empty_sheet(tree):
    assert "没有表头" in refused(write_xlsx([[None]] * 3 + [["说明"]] * 0))


def test_unused_columns_are_in_the_result_and_the_command_json(tree, tmp_path):
    path = tmp_path / "华容县台账.xls"
    path.write_bytes(county_file("xls", households(1)))
    out = io.StringIO()
    call_command("import_ledger", str(path), "--round", ROUND, "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["saved"] and data["unused_columns"] == ["序号", "户籍人口", "备注"]
    assert data["header_rows"] == [2, 3]


# The same rows in three formats -------------------------------------------------------------


def test_the_same_rows_as_xlsx_xls_and_ods_give_the_same_database(tree, users):
    rows = households(4)
    rows[2].update(使用情况="正常使用", 问题类型="", 整改情况="")
    rows[3].update(整改情况="已销号", 身份证号=id_number(3).lower())
    rows.append(
        ledger_row(
            区划代码=tree.v3.code,
            厕所类别="公厕",
            公厕名称="村委会公厕",
            户主姓名="",
            身份证号="",
            联系电话="",
            使用情况="正常使用",
            问题类型="",
            整改情况="",
            技术模式="完整下水道水冲式",
            厕所类型="",
            资金来源="自建",
        )
    )
    first = run(template_file("xlsx", rows), actor=users.county)
    assert first.saved, first.errors
    assert first.counts["households_created"] == 4 and first.counts["toilets_created"] == 5
    after_xlsx = snapshot()
    for fmt in ("xls", "ods"):
        again = run(template_file(fmt, rows), actor=users.county)
        assert again.saved, (fmt, again.errors)
        assert {k: v for k, v in again.counts.items() if k != "rows"} == dict.fromkeys(
            [k for k in again.counts if k != "rows"], 0
        ), fmt
        assert again.counts["rows"] == 5
        assert snapshot() == after_xlsx, fmt
    # and the county's own layout of the same rows, in each format, changes nothing either
    for fmt in ("xlsx", "xls", "ods"):
        again = run(county_file(fmt, rows), actor=users.county)
        assert again.saved and sum(v for k, v in again.counts.items() if k != "rows") == 0, fmt
    assert snapshot() == after_xlsx


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_an_id_number_typed_as_a_number_is_reported_in_every_format(tree, users, fmt):
    number = next(n for n in (id_number(i) for i in range(20)) if n.isdigit())
    rows = [ledger_row(身份证号=int(number))]  # Excel keeps 15 significant digits
    result = run(template_file(fmt, rows), actor=users.county)
    assert [(e.row, e.column) for e in result.errors] == [(2, "身份证号")]
    assert "身份证号被 Excel 存成了数字" in result.errors[0].message
    assert not Household.objects.exists()


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_cells_as_each_format_gives_them(tree, users, fmt):
    row = ledger_row(
        身份证号=id_number(5),
        区划代码=int(tree.v1.code),  # a code typed as a number
        联系电话=13812345678,
        建造年份=2018.0,
        摸排日期=datetime.datetime(2022, 6, 1, 9, 30),
        问题类型="厕具，粪池",
    )
    with LedgerSheet(template_file(fmt, [row])) as sheet:
        ((number, values),) = list(sheet.rows())
    cells = dict(zip(HEADERS, values, strict=True))
    assert number == 2
    assert cells["区划代码"] == int(tree.v1.code) and cells["建造年份"] == 2018
    assert cells["联系电话"] == 13812345678 and cells["公厕名称"] is None
    assert str(cells["摸排日期"])[:10] == "2022-06-01"
    result = run(template_file(fmt, [row]), actor=users.county)
    assert result.saved, result.errors
    assert Household.objects.get().phone == "13812345678"


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_a_renamed_file_is_read_by_what_it_holds(tree, tmp_path, fmt):
    path = tmp_path / ("台账.xlsx" if fmt != "xlsx" else "台账.xls")
    path.write_bytes(template_file(fmt, households(1)))
    result = import_ledger(str(path), round_name=ROUND)
    assert result.saved, result.errors
    with LedgerSheet(str(path)) as sheet:
        assert sheet.format == fmt


# Files that are refused, with nothing written ---------------------------------------------


def ole_with_stream(name: str) -> bytes:
    """An .xls whose workbook stream is renamed: an OLE file that is not a workbook."""
    data = bytearray(write_xls([["x"]]))
    old = "Workbook".encode("utf-16-le")
    at = data.find(old)
    assert at > 0
    entry = at  # the directory entry starts with its name (64 bytes) and its length
    encoded = name.encode("utf-16-le")
    data[entry : entry + 64] = encoded + b"\0" * (64 - len(encoded))
    data[entry + 64 : entry + 66] = struct.pack("<H", len(encoded) + 2)
    return bytes(data)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "文件是空的"),
        ("区划代码,户主姓名\n450702100201,王建国\n".encode(), "不是 Excel（.xlsx）文件"),
        (bytes(range(256)) * 40, "不是 Excel（.xlsx）文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "文件可能已损坏"),
        (ole_with_stream("WordDocument"), "不是 Excel 工作簿"),
        (ole_with_stream("EncryptedPackage"), "设置了打开密码"),
    ],
    ids=["empty", "csv-renamed", "random-bytes", "broken-ole", "word-document", "encrypted"],
)
def test_what_is_not_a_ledger_is_refused_with_a_chinese_message(tree, data, message):
    assert message in refused(data)
    assert not Household.objects.exists() and not SurveyRound.objects.exists()


def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused(tree):
    bomb = zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                   "content.xml": b" " * (60 * 1024 * 1024)})  # fmt: skip
    assert len(bomb) < 200_000
    assert "解压后异常巨大" in refused(bomb)


def test_a_tiny_xlsx_whose_two_cells_span_the_whole_sheet_is_refused(tree):
    workbook = Workbook()
    workbook.active["A1"] = "区划代码"
    workbook.active.cell(row=1048576, column=16384, value="x")
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert len(buffer.getvalue()) < 10_000  # calamine would ask for 500 GB
    assert "数据超过 200000 行" in refused(buffer.getvalue())


def test_a_wide_xlsx_is_refused(tree):
    workbook = Workbook()
    workbook.active["A1"] = "区划代码"
    workbook.active.cell(row=5000, column=16000, value="x")
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert "分布范围过大" in refused(buffer.getvalue())


def test_an_xls_cell_record_far_out_is_refused(tree):
    data = bytearray(write_xls([["区划代码"], [None] * 200 + [12345.5]]))
    # the RK record of the cell at row 1, column 200 → row 65535, column 65535
    at = data.find(struct.pack("<HH", 1, 200), data.find(b"\x7e\x02\x0a\x00"))
    assert data[at - 4 : at - 2] == b"\x7e\x02"
    data[at : at + 4] = struct.pack("<HH", 65535, 65535)
    assert "分布范围过大" in refused(bytes(data))


def ods_content(rows_xml: str) -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="s">{rows_xml}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", MANIFEST)
    return buffer.getvalue()


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


FILLED = '<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'


def test_an_ods_of_repeated_filled_cells_is_refused(tree):
    bomb = ods_content(
        '<table:table-row table:number-rows-repeated="9000">'
        '<table:table-cell table:number-columns-repeated="9000" office:value-type="string">'
        "<text:p>x</text:p></table:table-cell></table:table-row>"
    )
    assert len(bomb) < 2000  # calamine would build 81 million cells (5 GB)
    assert "分布范围过大" in refused(bomb)


def test_an_ods_with_librecalcs_trailing_empty_rows_and_columns_is_read(tree, users):
    header = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{h}</text:p></table:table-cell>'
        for h in HEADERS
    )
    row = ledger_row(身份证号=id_number(8))
    data = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{row[h]}</text:p></table:table-cell>'
        if row[h] != ""
        else "<table:table-cell/>"
        for h in HEADERS
    )
    trailing = '<table:table-cell table:number-columns-repeated="1008"/>'
    ods = ods_content(
        f"<table:table-row>{header}{trailing}</table:table-row>"
        f"<table:table-row>{data}{trailing}</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048574">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    result = run(ods, actor=users.county)
    assert result.saved, result.errors


# The upload page -------------------------------------------------------------------------------


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    def post(user, data: bytes, name):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("imports:upload"),
                {"file": SimpleUploadedFile(name, data), "round_name": ROUND},
            )

    return post


@pytest.mark.parametrize(
    "fmt, name", [("xls", "华容县台账.xls"), ("ods", "华容县台账.ods"), ("ods", "另存错了.xlsx")]
)
def test_xls_and_ods_uploads_are_stored_as_what_they_are_and_checked(
    upload, client, users, tree, fmt, name
):
    response = upload(users.county, county_file(fmt, households(2)), name)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.file.name.endswith(f".{fmt}") and job.original_name == name
    assert job.status == ImportStatus.CHECKED, job.message
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="unused-columns"' in page and "表头在第 2–3 行" in page
    for column in ("序号", "户籍人口", "备注"):
        assert f"<li>{column}</li>" in page


def test_a_ledger_without_extra_columns_lists_none(upload, client, users, tree):
    upload(users.county, template_file("xlsx", households(1)), "台账.xlsx")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED and job.result["unused_columns"] == []
    assert (
        'id="unused-columns"'
        not in client.get(reverse("imports:job", args=[job.pk])).content.decode()
    )


@pytest.mark.parametrize(
    "name, data",
    [
        ("台账.xls", b"\xd0\xcf\x11\xe0 truncated"),
        ("台账.ods", b"plain text renamed"),
        ("台账.txt", write_xlsx([["x"]])),
    ],
)
def test_the_form_refuses_what_is_none_of_the_three(upload, users, name, data):
    response = upload(users.county, data, name)
    assert (
        response.status_code == 400 and "只能导入 .xlsx、.xls 或 .ods" in response.content.decode()
    )
    assert not ImportJob.objects.exists()


def test_the_upload_input_offers_the_three_formats(client, users):
    client.force_login(users.county)
    page = client.get(reverse("imports:upload")).content.decode()
    assert ".xlsx,.xls,.ods" in page


# The template says which names are accepted --------------------------------------------------


def test_the_guide_lists_the_other_names_of_each_column():
    guide = load_workbook(io.BytesIO(template_workbook_bytes()))[GUIDE_TITLE]
    rows = {r[0]: r for r in guide.iter_rows(values_only=True) if r[0] in HEADERS}
    assert rows["身份证号"][3] == "、".join(SYNONYMS["身份证号"])
    assert "公民身份号码" in rows["身份证号"][3] and "改厕模式" in rows["技术模式"][3]
    text = "\n".join(str(v) for r in guide.iter_rows(values_only=True) for v in r if v)
    assert ".xls" in text and ".ods" in text and "未使用的列" in text

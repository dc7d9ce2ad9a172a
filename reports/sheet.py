"""The summary table as a spreadsheet in the official layout (seed 000): writing it, and reading
a sheet a unit filled in by hand so that the same rule engine can check it.

An uploaded sheet (the validate page, the public verify page) is bounded three ways before and
while it is read: the container (``core.uploads.check_xlsx``: the file, each zip member's own
size and ratio, the number of shared strings), what is read (at most ``MAX_SCANNED_ROWS``
rows of ``MAX_COLUMNS`` cells, whatever the sheet's dimension claims), and the parse itself,
which runs in a child process with a memory and a time limit (``core.sandbox``)."""

import datetime
import io
from dataclasses import dataclass, field

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from core.sandbox import MB, LimitExceeded, run_limited
from core.uploads import UploadRefused, check_xlsx
from regions.choices import Level

from .columns import COLUMNS, HEADER, Group
from .rules import IMPLIED_RULES, PRINTED_RULES, Violation, check_table

TITLE_SUFFIX = "农村厕所问题摸排整改情况汇总表"
# The label column's header names the level of a table's rows, i.e. the region's children.
ROW_LABELS = {
    Level.PROVINCE: "市",
    Level.CITY: "县区",
    Level.COUNTY: "乡镇",
    Level.TOWNSHIP: "行政村",
    Level.VILLAGE: "行政村",
}


def row_label(level: str) -> str:
    return ROW_LABELS.get(level, "单位")


TOTAL_LABELS = {"合计", "总计"}
FIRST_DATA_COLUMN = 2  # column A holds the row label; B…AH are columns 1…33
HEADER_TOP = 3
NUMBER_ROW = 6
NOTES = [
    "填报说明：1.请填写本县区农村厕所问题摸排整改的汇总数量。",
    f"2.各指标之间存在约束关系：{PRINTED_RULES}。",
    f"3.由指标定义可推出：{IMPLIED_RULES}。",
    "4.第3列为各级财政支持改造且2013年及以后建造的户厕；第4列为其余户厕（农户自建的，以及2013年以前建造的）。",
    "5.问题厕所指不能使用或不能全年使用的厕所；已完成整改指已验收并经农户签字销号。",
]
MAX_FILE_BYTES = 20 * MB
# The public verify page takes a stamped file only: far smaller (see below).
VERIFY_MAX_BYTES = 2 * MB
MAX_ROWS = 2000
# A stamped county file is 10–20 KB (its sheet XML under 100 KB); one of MAX_ROWS rows is
# 230 KB, its sheet XML 2.6 MB unpacked. Far beyond these is not a summary sheet.
MAX_UNCOMPRESSED = 32 * MB
MAX_MEMBER = 4 * MB  # any one member of the zip, unpacked (the 2,000-row sheet: 2.6 MB)
# The public verify page reads stamped files only: a county's sheet XML is under 100 KB.
VERIFY_MAX_MEMBER = 1 * MB
MAX_STRINGS = 20_000  # shared strings: row labels and notes (about 2,100 at the most rows)
MAX_COLUMNS = 64  # cells read per row: labels, 序号 and the 33 columns, with room to spare
# The parse (openpyxl) runs in a child process with these limits (core.sandbox).
PARSE_SECONDS = 10
PARSE_MEMORY = 384 * MB
TOO_COMPLEX = "文件过于复杂，无法在限定的时间和内存内读取，不是正常的汇总表。"

_thin = Side(style="thin")
_BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


@dataclass
class Layout:
    """Where things landed in a written sheet (for the seal and the footer)."""

    last_data_row: int
    footer_row: int
    stamp_anchor: str


def write_summary(
    sheet,
    *,
    title: str,
    unit: str,
    row_label: str,
    rows: list[tuple[str, dict]],
    total: dict,
    filler: str = "",
    phone: str = "",
    filled_on: datetime.date | None = None,
    bucket_labels: list[str] | None = None,
) -> Layout:
    """Lay the table out on ``sheet`` as printed: title, 县区（盖章）, 单位：个, three merged
    header levels, the 1…33 row, the rows, 合计, the footer and the 填报说明."""
    last_col = FIRST_DATA_COLUMN + len(COLUMNS) - 1
    last_letter = get_column_letter(last_col)
    sheet.merge_cells(f"A1:{last_letter}1")
    sheet["A1"] = title
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet["A2"] = f"县区（盖章）：{unit}"
    sheet.cell(row=2, column=last_col, value="单位：个").alignment = Alignment(horizontal="right")

    def col(n: int) -> int:
        return FIRST_DATA_COLUMN + n - 1

    def place(group: Group, level_row: int, bottom_row: int):
        top_left = sheet.cell(row=level_row, column=col(group.first), value=group.title)
        end_row = level_row if group.children else bottom_row
        if (group.first, level_row) != (group.last, end_row):
            sheet.merge_cells(
                start_row=level_row,
                start_column=col(group.first),
                end_row=end_row,
                end_column=col(group.last),
            )
        top_left.alignment = _CENTER
        for child in group.children:
            place(child, level_row + 1, bottom_row)

    header_bottom = NUMBER_ROW - 1
    sheet.cell(row=HEADER_TOP, column=1, value=row_label).alignment = _CENTER
    sheet.merge_cells(start_row=HEADER_TOP, start_column=1, end_row=header_bottom, end_column=1)
    for group in HEADER:
        place(group, HEADER_TOP, header_bottom)
    if bucket_labels:
        for i, label in enumerate(bucket_labels):
            sheet.cell(row=header_bottom, column=col(22 + i), value=label)
    for n in COLUMNS:
        sheet.cell(row=NUMBER_ROW, column=col(n), value=n).alignment = _CENTER

    row_index = NUMBER_ROW
    for label, values in [*rows, ("合计", total)]:
        row_index += 1
        sheet.cell(row=row_index, column=1, value=label)
        for n in COLUMNS:
            sheet.cell(
                row=row_index, column=col(n), value=int(values.get(n, values.get(str(n), 0)))
            )
    for r in range(HEADER_TOP, row_index + 1):
        for c in range(1, last_col + 1):
            sheet.cell(row=r, column=c).border = _BORDER
    footer = row_index + 2
    date_text = (
        f"{filled_on.year}年{filled_on.month}月{filled_on.day}日"
        if filled_on
        else "    年    月    日"
    )
    sheet.cell(row=footer, column=1, value=f"填报人：{filler}")
    sheet.cell(row=footer, column=col(12), value=f"联系电话：{phone}")
    sheet.cell(row=footer, column=col(25), value=f"填报日期：{date_text}")
    for i, note in enumerate(NOTES, start=1):
        sheet.cell(row=footer + i, column=1, value=note)
    sheet.column_dimensions["A"].width = 14
    for n in COLUMNS:
        sheet.column_dimensions[get_column_letter(col(n))].width = 7
    for r in (HEADER_TOP, HEADER_TOP + 1, header_bottom):
        sheet.row_dimensions[r].height = 48
    return Layout(
        last_data_row=row_index,
        footer_row=footer,
        stamp_anchor=f"{get_column_letter(col(2))}1",
    )


def summary_workbook_bytes(**kwargs) -> bytes:
    """A plain (unstamped) workbook of one table, for downloads and tests."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "汇总表"
    write_summary(sheet, **kwargs)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Reading ----------------------------------------------------------------------------------


class SheetFormatError(Exception):
    """The file cannot be read as a sheet in the official layout."""


@dataclass
class CellError:
    cell: str
    message: str

    def as_dict(self):
        return {"cell": self.cell, "message": self.message}


@dataclass
class ParsedSheet:
    rows: list[tuple[str, dict[int, int]]] = field(default_factory=list)
    total: tuple[str, dict[int, int]] | None = None
    errors: list[CellError] = field(default_factory=list)
    cells: dict[tuple[str, int], str] = field(default_factory=dict)  # (label, column) → ref

    @property
    def violations(self) -> list[Violation]:
        return check_table(self.rows, self.total)


def _whole_number(value) -> int | None:
    """A non-negative whole number given as a number or as text; None if it is not one."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        if text == "":
            return 0
        if text.isdigit() and text.isascii():
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() and number >= 0 else None
    return None


def _is_number_row(values: list) -> int | None:
    """The index where 1, 2, …, 33 start in this row, if they do."""
    normalized = []
    for v in values:
        n = _whole_number(v) if v not in (None, "") else None
        normalized.append(n)
    for start in range(0, len(normalized) - len(COLUMNS) + 1):
        if all(normalized[start + i] == i + 1 for i in range(len(COLUMNS))):
            return start
    return None


_REFUSALS = {
    UploadRefused.EMPTY: "不是 Excel（.xlsx）文件。",
    UploadRefused.TOO_BIG: f"文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB。",
    UploadRefused.NOT_XLSX: "不是 Excel（.xlsx）文件。",
    UploadRefused.BOMB: "文件解压后过大，可能不是正常的汇总表。",
    UploadRefused.TOO_MANY_STRINGS: (
        f"文件中的文字超过 {MAX_STRINGS} 条，不是正常的汇总表，已拒绝。"
    ),
    UploadRefused.NO_SHEETS: "无法读取该 Excel 文件。",
}


def check_container(data: bytes, *, max_member: int = MAX_MEMBER):
    """SheetFormatError (in Chinese) for a file no summary sheet reader should be given."""
    try:
        check_xlsx(
            data,
            max_bytes=MAX_FILE_BYTES,
            max_uncompressed=MAX_UNCOMPRESSED,
            max_member=max_member,
            max_strings=MAX_STRINGS,
        )
    except UploadRefused as exc:
        raise SheetFormatError(_REFUSALS[exc.reason]) from exc


def parse_limited(parse, data: bytes):
    """``parse(data)`` in a child process with the reader's time and memory limits."""
    try:
        return run_limited(parse, data, seconds=PARSE_SECONDS, memory=PARSE_MEMORY)
    except LimitExceeded as exc:
        raise SheetFormatError(TOO_COMPLEX) from exc


def read_summary(data: bytes, *, max_member: int = MAX_MEMBER) -> ParsedSheet:
    """Find the row numbering the columns 1…33, read the rows below it until the footer. The
    container is checked first; the parse runs under limits (see the module docstring)."""
    check_container(data, max_member=max_member)
    return parse_limited(_parse_summary, data)


def _parse_summary(data: bytes) -> ParsedSheet:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise SheetFormatError("无法读取该 Excel 文件。") from exc
    try:
        for sheet in workbook.worksheets:
            try:
                parsed = _read_sheet(sheet)
            except SheetFormatError:
                raise
            except Exception as exc:  # damaged sheet XML surfaces only while iterating
                raise SheetFormatError("工作表内容已损坏，无法读取。") from exc
            if parsed is not None:
                return parsed
    finally:
        workbook.close()
    raise SheetFormatError("没有找到标有 1…33 列序号的行，不是汇总表的格式。")


# A row holding one of these (in any cell) is the footer: the table ends above it.
FOOTER_MARKERS = (
    "填报人",
    "填表人",
    "制表人",
    "审核人",
    "单位负责人",
    "负责人",
    "联系电话",
    "填报日期",
    "填报说明",
    "核验码",
    "注：",
    "注:",
    "说明：",
    "说明:",
)
MAX_SCANNED_ROWS = 20_000  # blank formatted rows are cheap; a million of them is not


def _compact(value) -> str:
    return "".join(str(value).split()) if value is not None else ""


def _row_label(cells_left: list) -> str:
    """The row's label, from the cells left of column 1: the rightmost one that is text (a
    序号 column of plain numbers is skipped), else the rightmost non-empty one."""
    filled = [v for v in cells_left if v is not None and str(v).strip()]
    for value in reversed(filled):
        if _whole_number(value) is None:
            return str(value).strip()
    return str(filled[-1]).strip() if filled else ""


def _is_footer(values: list) -> bool:
    return any(isinstance(v, str) and _compact(v).startswith(FOOTER_MARKERS) for v in values)


def _read_sheet(sheet) -> ParsedSheet | None:
    parsed, start = None, None
    rows = sheet.iter_rows(max_row=MAX_SCANNED_ROWS + 1, max_col=MAX_COLUMNS, values_only=True)
    for row_number, row in enumerate(rows, start=1):
        if row_number > MAX_SCANNED_ROWS:
            raise SheetFormatError(f"表格超过 {MAX_SCANNED_ROWS} 行，不是汇总表的格式。")
        values = list(row)
        if parsed is None:
            start = _is_number_row(values)
            if start is not None:
                parsed = ParsedSheet()
            continue
        label = _row_label(values[:start])
        # The footer: a marker where the labels are, or anywhere in a row without a label. A
        # note typed into a data cell of a labelled row is a cell error, not the table's end.
        if _is_footer(values[:start] if label else values):
            break
        cells = values[start : start + len(COLUMNS)]
        cells += [None] * (len(COLUMNS) - len(cells))
        if not label and all(v is None or str(v).strip() == "" for v in cells):
            continue  # a blank row between (or after) the data rows
        if len(parsed.rows) >= MAX_ROWS:
            raise SheetFormatError(f"表格超过 {MAX_ROWS} 行，不是汇总表的格式。")
        if not label:
            label = f"第{row_number}行"
        numbers = {}
        for i, value in enumerate(cells):
            ref = f"{get_column_letter(start + i + 1)}{row_number}"
            parsed.cells[(label, i + 1)] = ref
            n = _whole_number(value)
            if n is None:
                parsed.errors.append(
                    CellError(ref, f"{ref}（{label} 第{i + 1}列）“{value}”不是非负整数")
                )
                n = 0
            numbers[i + 1] = n
        if _compact(label) in TOTAL_LABELS:
            parsed.total = (label, numbers)
        else:
            parsed.rows.append((label, numbers))
    if parsed is not None and not parsed.rows and parsed.total is None:
        raise SheetFormatError("标有 1…33 列序号的行下面没有数据行，不是填好的汇总表。")
    return parsed

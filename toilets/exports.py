"""Spreadsheet exports of the register."""

import io
from urllib.parse import quote

from openpyxl import Workbook

from .identity import mask_id_number, mask_phone

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value):
    """Text that a spreadsheet would run as a formula is prefixed with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def quote_filename(name: str) -> str:
    return quote(name, safe="")


def write_xlsx(title: str, headers: list[str], rows) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    for row in rows:
        sheet.append([escape_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


HOUSEHOLD_HEADERS = [
    "乡镇", "行政村", "区划代码", "村民小组", "户主", "身份证号", "联系电话", "地址", "居住情况", "厕所数",
]  # fmt: skip


def households_xlsx(households, *, show_identity: bool) -> bytes:
    def rows():
        for h in households.iterator(chunk_size=2000):
            yield [
                h.village.parent.name if h.village.parent_id else "",
                h.village.name,
                h.village.code,
                h.group_name,
                h.head_name,
                h.id_number if show_identity else mask_id_number(h.id_number),
                h.phone if show_identity else mask_phone(h.phone),
                h.address,
                h.get_occupancy_display(),
                h.toilet_count,
            ]

    return write_xlsx("农户台账", HOUSEHOLD_HEADERS, rows())

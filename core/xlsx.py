"""Writing spreadsheets: the one writer every export uses. Every text cell is escaped against
formula injection and every datetime is written as local naive time (openpyxl refuses aware
ones)."""

import datetime
import io

from django.utils import timezone
from openpyxl import Workbook

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 500


def escape_cell(value):
    """Text that a spreadsheet would run as a formula is prefixed with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def local_naive(value):
    """openpyxl refuses aware datetimes: local time (the county's), without tzinfo."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
    return value


def cell(value):
    return escape_cell(local_naive(value))


def write_xlsx(title: str, headers: list[str], rows, progress=None) -> bytes:
    """One sheet, headers on row 1; ``progress(done)`` is called every few hundred rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    done = 0
    for row in rows:
        sheet.append([cell(value) for value in row])
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def unescape_cell(text: str) -> str:
    """The text ``escape_cell`` wrote, read back from one of our own exports."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS):
        return text[1:]
    return text

"""Building ledger import workbooks for tests and the benchmark."""

import io

from openpyxl import Workbook

from imports.columns import EXAMPLE_ROW, HEADERS
from toilets.identity import check_character


def id_number(n: int, area: str = "450702", born: str = "19800101") -> str:
    first17 = f"{area}{born}{n % 1000:03d}"
    return first17 + check_character(first17)


def ledger_row(**changes) -> dict:
    """The template's example row with ``changes`` (by Chinese header)."""
    row = dict(EXAMPLE_ROW)
    row.update(changes)
    return row


def ledger_xlsx(rows: list[dict], headers: list[str] | None = None, path=None) -> bytes | None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("摸排台账")
    headers = headers or HEADERS
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    if path is not None:
        workbook.save(path)
        return None
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

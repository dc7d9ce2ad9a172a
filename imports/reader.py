"""Opening an uploaded ledger workbook safely and handing its rows on by header name.

openpyxl's read-only mode streams the sheet, so a 100,000-row file never sits in memory as
cells. Before openpyxl sees the file, the container is checked (``core.uploads.check_xlsx``:
size, that it is a zip at all, how far it expands, that it holds a worksheet).
"""

import re

from openpyxl import load_workbook

from core.uploads import UploadRefused, check_xlsx

from .columns import COLUMN_BY_NAME, HEADERS
from .results import ImportFileError

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_MB = MAX_FILE_BYTES // (1024 * 1024)

_SPACES = re.compile(r"\s+")


_REFUSALS = {
    UploadRefused.EMPTY: "文件是空的，请选择填好的台账 Excel 文件。",
    UploadRefused.TOO_BIG: f"文件超过 {MAX_MB} MB，请分乡镇拆分后分别导入。",
    UploadRefused.NOT_XLSX: (
        "不是 Excel（.xlsx）文件。请用 Excel 或 WPS 另存为“Excel 工作簿（*.xlsx）”后再上传。"
    ),
    UploadRefused.BOMB: "文件解压后异常巨大，不是正常的台账文件，已拒绝。",
    UploadRefused.NO_SHEETS: "不是 Excel（.xlsx）文件：文件中没有工作表。",
}


def check_container(source):
    """Refuse, with a Chinese message, what is not a sane .xlsx before parsing it."""
    try:
        check_xlsx(source, max_bytes=MAX_FILE_BYTES)
    except UploadRefused as exc:
        raise ImportFileError(_REFUSALS[exc.reason]) from exc


def header_name(value) -> str:
    """`* 身份证号\n（18位）` → `身份证号`: headers are compared without spaces, required
    markers or bracketed hints."""
    text = _SPACES.sub("", str(value or ""))
    text = text.lstrip("*＊")
    for bracket in ("（", "("):
        if bracket in text and not text.startswith(bracket):
            text = text[: text.index(bracket)]
    return text


class LedgerSheet:
    """The first worksheet: ``positions`` maps each template column to its index; iterate
    ``rows()`` for (row number, tuple of raw values in HEADERS order)."""

    def __init__(self, source):
        check_container(source)
        try:
            self.workbook = load_workbook(source, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise ImportFileError("无法读取该 Excel 文件，文件可能已损坏。") from exc
        try:
            self.sheet = self.workbook.worksheets[0]
            self.positions = self._read_header()
        except Exception:
            self.close()
            raise

    def close(self):
        self.workbook.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_header(self) -> list[int]:
        try:
            first = next(self.sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
        except Exception as exc:
            raise ImportFileError("工作表内容已损坏，无法读取。") from exc
        if not first or all(v in (None, "") for v in first):
            raise ImportFileError(
                "第 1 行没有表头。请使用“下载导入模板”得到的表格，表头放在第 1 行。"
            )
        found: dict[str, int] = {}
        for index, value in enumerate(first):
            name = header_name(value)
            if name in COLUMN_BY_NAME:
                if name in found:
                    raise ImportFileError(f"表头“{name}”出现了两次（第 {index + 1} 列）。")
                found[name] = index
        missing = [name for name in HEADERS if name not in found]
        if missing:
            if not found:
                raise ImportFileError(
                    "第 1 行不是台账模板的表头（没有找到“区划代码”“身份证号”等列）。"
                    "请使用“下载导入模板”得到的表格。"
                )
            raise ImportFileError(f"表头缺少列：{'、'.join(missing)}。请使用导入模板的表头。")
        return [found[name] for name in HEADERS]

    @property
    def estimated_rows(self) -> int:
        try:
            return max((self.sheet.max_row or 1) - 1, 0)
        except Exception:
            return 0

    def rows(self):
        positions = self.positions
        width = max(positions) + 1
        try:
            for number, values in enumerate(
                self.sheet.iter_rows(min_row=2, values_only=True), start=2
            ):
                if number - 1 > MAX_ROWS:
                    raise ImportFileError(f"数据超过 {MAX_ROWS} 行，请分乡镇拆分后分别导入。")
                if len(values) < width:
                    values = tuple(values) + (None,) * (width - len(values))
                picked = tuple(values[i] for i in positions)
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in picked):
                    continue
                yield number, picked
        except ImportFileError:
            raise
        except Exception as exc:  # damaged sheet XML surfaces only while iterating
            raise ImportFileError("工作表内容已损坏，无法读取。") from exc

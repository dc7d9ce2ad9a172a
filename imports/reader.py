"""Opening an uploaded ledger workbook safely and handing its rows on by header name.

The workbook is read with calamine (python-calamine): .xlsx, .xls (Excel 97-2003 and WPS)
and .ods, about ten times faster than openpyxl. Before calamine sees the file, its container
is checked (``core.uploads.check_spreadsheet``: size, the format told from the bytes, how far
a zip expands, how big a grid its filled cells span). Calamine holds the sheet as one grid in
Rust; rows become Python values one at a time as they are handed on.

Ledgers are read as counties keep them: the header may sit anywhere in the first ten rows,
below title rows, on one row or on two (group cells such as 户主信息 over 姓名 | 身份证号); a
column is found under its template name or one of the names in ``imports.synonyms``; other
columns (序号, 备注 …) are left alone and listed as ``unused_columns``. A ``mapping``
(header text → column key, "" for a column not to import: what a county chose on the job
page, ``imports.HeaderMapping``) comes on top of those names and wins over them. When required
columns are still missing, ``HeaderColumnsMissing`` carries the best header row's columns
with a few sample values each, for the page to offer the mapping.

The import reads a file through ``read_ledger``, which runs ``LedgerSheet`` in a child process
with a time and a memory limit (``core.sandbox``): the rows it hands on are written to a
temporary file there and read back here as they come (the import checks the first rows while
the child reads the rest), so neither a Celery worker nor (eager Celery in development) a web
request ever holds calamine's grid, and a parse that runs away is killed.

Calamine's values are made to look like openpyxl's, which ``imports.rows`` was written for:
an empty cell is None (calamine: ``''``) and a whole float an int (an .xlsx gives ``2019.0``).
An ID number typed as a number stays the number it is, and ``rows`` reports it.
"""

import io
import itertools
import os
import pickle
import re
import struct
import tempfile
import threading
import time

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

from core.sandbox import MB, LimitExceeded, run_limited
from core.uploads import UploadRefused, check_spreadsheet

from .columns import COLUMN_BY_KEY, HEADERS, missing_headers
from .results import HeaderColumnsMissing, ImportFileError
from .synonyms import SYNONYMS

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_MB = MAX_FILE_BYTES // (1024 * 1024)
HEADER_ROWS = 10  # the header is looked for in the first ten rows
MIN_HEADER_COLUMNS = 3  # a row naming fewer template columns is not a header
SAMPLES = 3  # sample values per column offered with the mapping step
# The mapping step offers at most this many file columns, each header cut to the length a
# remembered mapping keeps (HeaderMapping.header): a sheet may have 16,384 columns.
MAPPING_COLUMNS = 200
HEADER_CHARS = 100
# How a header cell names its column: a county's mapping, the template name, another name.
MAPPED, TEMPLATE_NAME, OTHER_NAME = 2, 1, 0
# The biggest grid of filled cells a sheet may span: 200,000 rows × 50 columns. Calamine
# allocates every cell of it (about 32 bytes each).
MAX_CELLS = 10_000_000
# Each member of an .xlsx or .ods on its own, unpacked (a 200,000-row sheet's XML is about
# 250 MB), and the shared strings every reader loads whole before the first cell: 20 text
# cells of each of 200,000 rows. Beyond them is not a ledger.
MAX_MEMBER = 512 * MB
MAX_STRINGS = 4_000_000
# What the read (calamine, in a child process) may take: wall-clock seconds and memory
# beyond the worker's own. A 200,000-row ledger reads in well under a minute and 600 MB.
READ_SECONDS = 300
READ_MEMORY = 1536 * MB
FORMATS = ("xlsx", "xls", "ods")

_SPACES = re.compile(r"\s+")
_NOT_A_WORKBOOK = (
    "不是 Excel（.xlsx）文件，也不是 .xls 或 .ods 表格。请上传 .xlsx、.xls 或 .ods 格式的台账"
    "（Excel 或 WPS 中“另存为”即可）。"
)
_DAMAGED = "无法读取该 Excel 文件，文件可能已损坏。"
_TOO_MANY_ROWS = f"数据超过 {MAX_ROWS} 行，请分乡镇拆分后分别导入。"

_REFUSALS = {
    UploadRefused.EMPTY: "文件是空的，请选择填好的台账 Excel 文件。",
    UploadRefused.TOO_BIG: f"文件超过 {MAX_MB} MB，请分乡镇拆分后分别导入。",
    UploadRefused.NOT_XLSX: _NOT_A_WORKBOOK,
    UploadRefused.NOT_SPREADSHEET: _NOT_A_WORKBOOK,
    UploadRefused.BOMB: "文件解压后异常巨大，不是正常的台账文件，已拒绝。",
    UploadRefused.NO_SHEETS: "不是 Excel（.xlsx）文件：文件中没有工作表。",
    UploadRefused.NOT_WORKBOOK: (
        "不是 Excel 工作簿：文件是 Word 等其他 Office 文件改了扩展名。"
        "请上传 .xlsx、.xls 或 .ods 格式的台账。"
    ),
    UploadRefused.ENCRYPTED: "文件设置了打开密码，无法读取。请在 Excel 或 WPS 中取消密码后再上传。",
    UploadRefused.DAMAGED: _DAMAGED,
    UploadRefused.TOO_MANY_ROWS: _TOO_MANY_ROWS,
    UploadRefused.TOO_MANY_STRINGS: (
        f"表格中的文字超过 {MAX_STRINGS // 10000} 万条，不是正常的台账，已拒绝。"
        "请分乡镇拆分后分别导入。"
    ),
    UploadRefused.TOO_MANY_CELLS: (
        "表格中有内容的单元格分布范围过大（行数乘列数超过 1000 万），不是正常的台账，已拒绝。"
        "请删除多余的行和列，或分乡镇拆分后再上传。"
    ),
}


def check_container(source) -> str:
    """The format of ``source`` ("xlsx", "xls" or "ods"); ImportFileError, with a Chinese
    message, for what calamine should not be given."""
    try:
        return check_spreadsheet(
            source,
            max_bytes=MAX_FILE_BYTES,
            max_rows=MAX_ROWS + HEADER_ROWS + 1,
            max_cells=MAX_CELLS,
            max_member=MAX_MEMBER,
            max_strings=MAX_STRINGS,
        )
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


def _names() -> dict[str, tuple[str, int]]:
    """Every accepted header → (template column, TEMPLATE_NAME or OTHER_NAME)."""
    names = {name: (name, TEMPLATE_NAME) for name in HEADERS}
    for column, others in SYNONYMS.items():
        assert column in HEADERS, column
        for other in others:
            key = header_name(other)
            assert names.get(key, (column,))[0] == column, f"{other} names two columns"
            names.setdefault(key, (column, OTHER_NAME))
    return names


NAMES = _names()
COLUMN_BY_NAME_KEY = {column.name: key for key, column in COLUMN_BY_KEY.items()}
_GROUP_SUFFIXES = ("基本信息", "基本情况", "信息", "情况")


def _text(value) -> str:
    return "" if value is None or value == "" else _SPACES.sub("", str(value))


def _known(label: str, group: str = "", mapping=None) -> tuple[str, int] | None:
    """The template column a header cell names: the mapping's (None for a column mapped to
    "不导入"), else trying the group above it first (户主信息 over 姓名 → 户主姓名)."""
    name = header_name(label)
    if mapping and name in mapping:
        key = mapping[name]
        return (COLUMN_BY_KEY[key].name, MAPPED) if key in COLUMN_BY_KEY else None
    if group:
        group = header_name(group)
        for suffix in _GROUP_SUFFIXES:
            if group.endswith(suffix) and len(group) > len(suffix):
                group = group.removesuffix(suffix)
                break
        if group + name in NAMES:
            return NAMES[group + name]
    return NAMES.get(name)


def _labels(upper: list, lower: list | None) -> list[tuple[str, str]]:
    """(label, group) per column. For a two-row header: the lower cell, under the group
    cell above it (a merged group cell is filled only in its first column, so an empty upper
    cell takes the group to its left); an empty lower cell is the upper cell spanning both
    rows."""
    if lower is None:
        return [(_text(value), "") for value in upper]
    labels = []
    group = ""
    for top, bottom in itertools.zip_longest(upper, lower, fillvalue=""):
        top, bottom = _text(top), _text(bottom)
        if top:
            group = top
        if bottom:
            labels.append((bottom, group))
        else:
            labels.append((top, ""))
            group = "" if top else group
    return labels


def _found(labels, mapping=None) -> dict[str, list[tuple[int, str, int]]]:
    found: dict[str, list[tuple[int, str, int]]] = {}
    for index, (label, group) in enumerate(labels):
        if label:
            known = _known(label, group, mapping)
            if known is not None:
                found.setdefault(known[0], []).append((index, label, known[1]))
    return found


def _is_numbering(values) -> bool:
    """A row of column numbers under the header (1 2 3 … or （1）（2）…), as official forms
    have."""
    numbers = []
    for value in values:
        text = _text(value).strip("()（）")
        if not text:
            continue
        try:
            numbers.append(float(text))
        except ValueError:
            return False
    return len(numbers) >= MIN_HEADER_COLUMNS and numbers == list(range(1, len(numbers) + 1))


def _cell(value):
    """Calamine's value as openpyxl gives it: ``''`` → None, ``2019.0`` → 2019."""
    if value.__class__ is float:
        return int(value) if value.is_integer() else value
    if value == "":
        return None
    return value


class LedgerSheet:
    """The first worksheet: ``positions`` maps each template column to its index; iterate
    ``rows()`` (once) for (row number, tuple of values in HEADERS order).
    ``header_rows`` are the sheet rows (first, last) of the header; ``unused_columns`` the
    headers of the columns not read; ``format`` is "xlsx", "xls" or "ods"."""

    def __init__(self, source, mapping: dict[str, str] | None = None):
        self._own = None
        self.mapping = {header_name(text): key for text, key in (mapping or {}).items()}
        if isinstance(source, bytes | bytearray):
            source = io.BytesIO(source)
        self.format = check_container(source)
        if isinstance(source, str | os.PathLike):
            # Calamine picks its reader by a path's extension; a file object is read by what
            # it holds, which check_container has just told (a renamed .xls still opens).
            source = self._own = open(source, "rb")
        try:
            self.workbook = CalamineWorkbook.from_filelike(source)
        except PasswordError as exc:
            self._close_file()
            raise ImportFileError(_REFUSALS[UploadRefused.ENCRYPTED]) from exc
        except Exception as exc:  # calamine raises plain errors on some damaged files
            self._close_file()
            if "Cell limit" in str(exc):  # calamine's own limit on an .ods grid
                raise ImportFileError(_REFUSALS[UploadRefused.TOO_MANY_CELLS]) from exc
            raise ImportFileError(_DAMAGED) from exc
        finally:
            if not source.closed:
                source.seek(0)
        try:
            self._open_sheet()
            self.positions = self._read_header()
        except Exception:
            self.close()
            raise

    def close(self):
        try:
            self.workbook.close()
        except CalamineError:  # already closed
            pass
        self._close_file()

    def _close_file(self):
        if self._own is not None:
            self._own.close()
            self._own = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _open_sheet(self):
        index = next(
            (
                i
                for i, sheet in enumerate(self.workbook.sheets_metadata)
                if sheet.typ == SheetTypeEnum.WorkSheet
            ),
            None,
        )
        if index is None:
            raise ImportFileError(_REFUSALS[UploadRefused.NO_SHEETS])
        try:
            self.sheet = self.workbook.get_sheet_by_index(index)
        except CalamineError as exc:
            raise ImportFileError("工作表内容已损坏，无法读取。") from exc
        # Calamine's rows start at the sheet's first row, its columns at the first filled one.
        self._first_column = (self.sheet.start or (0, 0))[1]
        self._rows = self.sheet.iter_rows()
        self._head = list(itertools.islice(self._rows, HEADER_ROWS + 1))

    def _read_header(self) -> list[int]:
        head = self._head[:HEADER_ROWS]
        if not any(_text(v) for row in head for v in row):
            raise ImportFileError(
                f"工作表前 {HEADER_ROWS} 行是空的，没有表头。请使用“下载导入模板”得到的表格。"
            )
        # (score, prefer single rows, prefer earlier rows) → (first, last, labels, found)
        best = None
        for first in range(len(head)):
            for last in (first, first + 1):
                if last >= len(head):
                    continue
                lower = head[last] if last > first else None
                labels = _labels(head[first], lower)
                found = _found(labels, self.mapping)
                key = (len(found), first == last, -first)
                if best is None or key > best[0]:
                    best = (key, first, last, labels, found)
        _key, first, last, labels, found = best
        if len(found) < MIN_HEADER_COLUMNS:
            message = (
                f"前 {HEADER_ROWS} 行都不是台账模板的表头（没有找到“区划代码”“身份证号”等列）。"
                "请使用“下载导入模板”得到的表格。"
            )
            # The mapping step offers the earliest of the fullest rows as the header.
            widths = [sum(1 for v in row if _text(v)) for row in head]
            if max(widths) < MIN_HEADER_COLUMNS:
                raise ImportFileError(message)
            first = last = widths.index(max(widths))
            labels = _labels(head[first], None)
            found = _found(labels, self.mapping)
            positions = {column: hits[0][0] for column, hits in found.items()}
            raise HeaderColumnsMissing(
                message,
                missing=missing_headers(positions),
                columns=self._file_columns(labels, positions, first + 1),
            )
        self.header_rows = (first + 1, last + 1)
        positions = {column: self._position(column, hits) for column, hits in found.items()}
        missing = missing_headers(positions, required_only=bool(self.mapping))
        if missing:
            where = "表头" if last == 0 else f"第 {self._rows_text()} 行的表头"
            raise HeaderColumnsMissing(
                f"{where}缺少列：{'、'.join(missing)}。请使用导入模板的表头。",
                missing=missing,
                columns=self._file_columns(labels, positions, last + 1),
            )
        used = set(positions.values())
        self.unused_columns = [
            label for index, (label, _group) in enumerate(labels) if label and index not in used
        ]
        self._data_start = last + 1
        if self._data_start < len(self._head) and _is_numbering(self._head[self._data_start]):
            self._data_start += 1
        return [positions.get(name) for name in HEADERS]  # None: an optional column absent

    def _file_columns(self, labels, positions: dict[str, int], start: int) -> list[dict]:
        """The header cells of the best header row, each with the column it is read as now
        (its key, "" for none) and up to SAMPLES values from the rows below it."""
        below = [
            row
            for row in itertools.chain(self._head[start:], itertools.islice(self._rows, 20))
            if not _is_numbering(row)
        ]
        read_as = {index: COLUMN_BY_NAME_KEY[name] for name, index in positions.items()}
        columns = []
        for index, (label, group) in enumerate(labels):
            if not label:
                continue
            if len(columns) >= MAPPING_COLUMNS:
                break
            samples = []
            for row in below:
                if index < len(row) and _text(row[index]) and len(samples) < SAMPLES:
                    samples.append(str(_cell(row[index]))[:40])
            columns.append(
                {
                    "index": index,
                    "header": label[:HEADER_CHARS],
                    "group": group[:HEADER_CHARS] if group else group,
                    "column": read_as.get(index, ""),
                    "samples": samples,
                }
            )
        return columns

    def _position(self, column: str, hits: list[tuple[int, str, int]]) -> int:
        """The one column of the sheet that is ``column``: a mapped header wins over the
        template name, which wins over other names; two columns mapped to it, the same name
        twice, or two other names for it, refuse the file."""
        best = max(hit[2] for hit in hits)
        chosen = [hit for hit in hits if hit[2] == best]
        if len(chosen) == 1:
            return chosen[0][0]
        names = list(dict.fromkeys(header_name(label) for _index, label, _exact in chosen))
        if len(names) == 1:
            raise ImportFileError(
                f"表头“{names[0]}”出现了两次（第 {self._column(chosen[1][0])} 列）。"
            )
        raise ImportFileError(f"表头“{'”和“'.join(names)}”都是“{column}”，请只保留其中一列。")

    def _column(self, index: int) -> int:
        return self._first_column + index + 1

    def _rows_text(self) -> str:
        first, last = self.header_rows
        return str(first) if first == last else f"{first}–{last}"

    @property
    def estimated_rows(self) -> int:
        end = self.sheet.end
        return max(end[0] + 1 - self._data_start, 0) if end else 0

    def rows(self):
        positions = self.positions
        start = self._data_start
        rest = itertools.chain(self._head[start:], self._rows)
        try:
            for index, values in enumerate(rest, start=start):
                if index - start >= MAX_ROWS:
                    raise ImportFileError(_TOO_MANY_ROWS)
                width = len(values)
                picked = tuple(
                    _cell(values[i]) if i is not None and i < width else None for i in positions
                )
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in picked):
                    continue
                yield index + 1, picked
        except ImportFileError:
            raise
        except Exception as exc:
            raise ImportFileError("工作表内容已损坏，无法读取。") from exc


# Reading under limits ------------------------------------------------------------------------

_BATCH = 2000
_POLL = 0.002  # seconds between looks at the rows file while the child is still writing
_FRAME = struct.Struct("<Q")  # each frame: its length, then a pickle
_TOO_COSTLY = {
    LimitExceeded.TIME: "读取文件超过时间限制，文件过大或过于复杂。请分乡镇拆分后分别导入。",
    LimitExceeded.MEMORY: "读取文件所需内存超过限制，文件过大或过于复杂。请分乡镇拆分后分别导入。",
}


class _Child:
    """``run_limited(_read_into, …)`` in a thread of the parent, so that the parent can take
    the rows as the child writes them: the child reads the workbook while the parent checks
    the rows already read (two cores at work instead of one after the other)."""

    def __init__(self, source, mapping, rows_file):
        self.source = source
        self.meta = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(source, mapping, rows_file), name="read_ledger", daemon=True
        )
        self.thread.start()

    def _run(self, source, mapping, rows_file):
        try:
            self.meta = run_limited(
                _read_into, source, mapping, rows_file, seconds=READ_SECONDS, memory=READ_MEMORY
            )
        except LimitExceeded as exc:
            error = ImportFileError(_TOO_COSTLY[exc.reason])
            error.__cause__ = exc
            self.error = error
        except BaseException as exc:  # raised in the parent's thread by ``finish``
            self.error = exc

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def finish(self):
        """Wait for the child; raise what it raised."""
        self.thread.join()
        source = self.source
        if hasattr(source, "seek") and not getattr(source, "closed", False):
            source.seek(0)  # the child read it through the same file offset
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class _Frames:
    """The child's frames in the rows file, read at their own offset (``os.pread``: the
    child's writes move the file's shared offset) as they are completed."""

    def __init__(self, rows_file, child: _Child):
        self.fd = rows_file.fileno()
        self.child = child
        self.offset = 0

    def next(self):
        """The next frame's object; None after the last one."""
        while True:
            running = self.child.running  # asked before reading: nothing is written after
            head = os.pread(self.fd, _FRAME.size, self.offset)
            if len(head) == _FRAME.size:
                (size,) = _FRAME.unpack(head)
                data = os.pread(self.fd, size, self.offset + _FRAME.size)
                if len(data) == size:
                    self.offset += _FRAME.size + size
                    return pickle.loads(data)
            if not running:
                return None
            time.sleep(_POLL)


class ReadLedger:
    """What ``read_ledger`` read: the attributes of ``LedgerSheet`` the engine uses and its
    rows, taken from the temporary file as the child writes them."""

    def __init__(self, meta: dict, frames: _Frames, rows_file):
        self.format = meta["format"]
        self.positions = meta["positions"]
        self.header_rows = meta["header_rows"]
        self.unused_columns = meta["unused_columns"]
        self.estimated_rows = meta["estimated_rows"]
        self._frames = frames
        self._file = rows_file

    def rows(self):
        """Every row (once); raises what the read raised, after the rows before it."""
        while (batch := self._frames.next()) is not None:
            yield from batch
        self._frames.child.finish()

    def close(self):
        self._frames.child.thread.join()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _write_frame(out, value):
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_FRAME.pack(len(data)) + data)
    out.flush()  # the parent reads it now


def _read_into(source, mapping, out) -> dict:
    """In the child: the sheet's header as data, then its rows in batches, each a frame of
    ``out``."""
    with LedgerSheet(source, mapping) as sheet:
        meta = {
            "format": sheet.format,
            "positions": sheet.positions,
            "header_rows": sheet.header_rows,
            "unused_columns": sheet.unused_columns,
            "estimated_rows": sheet.estimated_rows,
        }
        _write_frame(out, meta)
        batch = []
        for row in sheet.rows():
            batch.append(row)
            if len(batch) >= _BATCH:
                _write_frame(out, batch)
                batch = []
        if batch:
            _write_frame(out, batch)
    return meta


def read_ledger(source, mapping: dict[str, str] | None = None) -> ReadLedger:
    """``LedgerSheet(source, mapping)`` read in a child process limited to READ_SECONDS and
    READ_MEMORY. What it raises before the first row (ImportFileError, HeaderColumnsMissing;
    a limit hit becomes an ImportFileError too) is raised here; what it raises later, at the
    end of ``rows()``. The rows come while the child is still reading."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    rows_file = tempfile.TemporaryFile()
    child = _Child(source, mapping, rows_file)
    frames = _Frames(rows_file, child)
    try:
        meta = frames.next()
        if meta is None:  # the child ended without a header: it raised, or wrote nothing
            child.finish()
            meta = child.meta
    except BaseException:
        child.thread.join()
        rows_file.close()
        raise
    return ReadLedger(meta, frames, rows_file)

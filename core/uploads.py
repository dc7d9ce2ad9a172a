"""Upload safety: the checks every uploaded spreadsheet and image passes before it is parsed.

An .xlsx is a zip: before openpyxl sees one, its size, that it is a zip at all, how far it
expands (an "xlsx bomb" is a small file that unpacks to gigabytes) and that it holds a
worksheet are checked, with one set of limits (``check_xlsx``). The expansion is judged per
member — each member's own size and its own ratio — never over the whole archive: a few
megabytes of stored random padding would otherwise let a highly compressed 150 MB
``sharedStrings.xml`` through. The number of shared strings (which every reader loads whole
before the first cell) is counted and bounded too.

``check_spreadsheet`` does the same for the three formats calamine reads — .xlsx and .ods
(zips) and .xls (an OLE compound file) — telling them apart by their bytes, never by the file
name. Calamine builds each sheet as a dense grid from its top-left to its bottom-right filled
cell, so a 5 KB file with one cell at A1 and one at XFD1048576 asks for hundreds of gigabytes
and aborts the process (an ODS row repeated 9,000 times with a 9,000-times repeated cell asks
for 5 GB). The check therefore also reads where the filled cells lie — cell references in the
.xlsx sheet XML, cell records in the .xls workbook stream, row and cell repeats in the .ods
``content.xml`` — and refuses a grid that is too tall or too big before calamine sees it.

An image is opened by Pillow only through ``open_image``, which judges its format by content,
refuses a "pixel bomb" (a small file announcing a huge width × height) from the header before
anything is decoded, and turns every way Pillow can fail into one ``BadImage``; ``reencode``
writes the bounded copy that is stored instead of the upload.
"""

import io
import os
import re
import struct
import warnings
import zipfile
import zlib

import olefile
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_RATIO = 100  # spreadsheets compress ~5–20×; far beyond that is a bomb
RATIO_SLACK = 10 * 1024 * 1024  # small files may compress better than that, harmlessly
# Each member on its own: at most MAX_RATIO times its compressed size, plus this much (a small
# styles.xml or a block of blank formatted rows may compress better, harmlessly).
MEMBER_SLACK = 1024 * 1024
SHARED_STRINGS = re.compile(r"(?:^|/)sharedStrings[^/]*\.xml$", re.I)


class UploadRefused(Exception):
    """What is wrong with an uploaded container; the caller words the message for its page.

    ``reason`` is one of EMPTY, TOO_BIG, NOT_XLSX, BOMB (the archive or one of its members
    expands too far), TOO_MANY_STRINGS (more shared strings than allowed), NO_SHEETS
    (``check_xlsx``), and for ``check_spreadsheet`` also NOT_SPREADSHEET (no known container),
    NOT_WORKBOOK (an OLE file without a workbook, e.g. a Word .doc), ENCRYPTED (a
    password-protected workbook), DAMAGED, TOO_MANY_ROWS and TOO_MANY_CELLS (the filled cells
    span too tall or too big a grid)."""

    EMPTY, TOO_BIG, NOT_XLSX, BOMB, NO_SHEETS = "empty", "too_big", "not_xlsx", "bomb", "no_sheets"
    NOT_SPREADSHEET, NOT_WORKBOOK, ENCRYPTED = "not_spreadsheet", "not_workbook", "encrypted"
    DAMAGED, TOO_MANY_ROWS, TOO_MANY_CELLS = "damaged", "too_many_rows", "too_many_cells"
    TOO_MANY_STRINGS = "too_many_strings"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def file_size(source) -> int:
    """The size of a path, a file object (its position kept) or bytes."""
    if isinstance(source, bytes | bytearray):
        return len(source)
    if isinstance(source, str | os.PathLike):
        return os.path.getsize(source)
    position = source.tell()
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(position)
    return size


def check_xlsx(
    source,
    *,
    max_bytes: int,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_member: int | None = None,
    max_strings: int | None = None,
) -> None:
    """Refuse (UploadRefused) what is not a sane .xlsx of at most ``max_bytes``, expanding to
    at most ``max_uncompressed`` in all, each member to at most ``max_member`` and
    ``MAX_RATIO`` times its own compressed size, with at most ``max_strings`` shared
    strings, before it is parsed. ``source`` is a path, a file object (rewound afterwards) or
    bytes."""
    size = file_size(source)
    if size == 0:
        raise UploadRefused(UploadRefused.EMPTY)
    if size > max_bytes:
        raise UploadRefused(UploadRefused.TOO_BIG)
    opened = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with zipfile.ZipFile(opened) as archive:
            infos = archive.infolist()
            _check_expansion(infos, size, max_uncompressed, max_member)
            if not any(info.filename.startswith("xl/worksheets/") for info in infos):
                raise UploadRefused(UploadRefused.NO_SHEETS)
            if max_strings is not None:
                _check_shared_strings(archive, infos, max_strings)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRefused(UploadRefused.NOT_XLSX) from exc
    except (EOFError, zlib.error, RuntimeError, NotImplementedError) as exc:
        raise UploadRefused(UploadRefused.NOT_XLSX) from exc  # damaged or encrypted member
    finally:
        if hasattr(opened, "seek"):
            opened.seek(0)


def _check_expansion(
    infos, size: int, max_uncompressed: int = MAX_UNCOMPRESSED, max_member: int | None = None
) -> None:
    """The archive as a whole, then each member on its own: its size and its own ratio."""
    expanded = sum(info.file_size for info in infos)
    if expanded > max_uncompressed or expanded > MAX_RATIO * size + RATIO_SLACK:
        raise UploadRefused(UploadRefused.BOMB)
    for info in infos:
        if max_member is not None and info.file_size > max_member:
            raise UploadRefused(UploadRefused.BOMB)
        if info.file_size > MAX_RATIO * info.compress_size + MEMBER_SLACK:
            raise UploadRefused(UploadRefused.BOMB)


_STRING_ITEM = re.compile(rb"<(?:\w+:)?si[\s>/]")


def _check_shared_strings(archive, infos, max_strings: int) -> None:
    """Count the ``<si>`` items of every shared-strings part (read in pieces, never whole);
    the member's size is already bounded, so this bounds their total length as well."""
    for info in infos:
        if info.is_dir() or not SHARED_STRINGS.search(info.filename):
            continue
        count = 0
        for piece in _chunks_of(archive, info, b"<"):
            count += len(_STRING_ITEM.findall(piece))
            if count > max_strings:
                raise UploadRefused(UploadRefused.TOO_MANY_STRINGS)


# Spreadsheets for calamine: .xlsx, .xls, .ods ----------------------------------------------

XLSX, XLS, ODS = "xlsx", "xls", "ods"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE compound file: .xls, .doc, encrypted .xlsx
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_CHUNK = 4 * 1024 * 1024
_MAX_PIECE = 64 * 1024 * 1024


def sniff_spreadsheet(head: bytes) -> str | None:
    """The format the first bytes of a file announce (at least 100 bytes for .ods), or None.
    A zip is .ods when its first member is the ODF ``mimetype`` naming a spreadsheet (as ODF
    requires), else taken for .xlsx; ``check_spreadsheet`` looks inside."""
    if head.startswith(OLE_MAGIC):
        return XLS
    if head.startswith(ZIP_MAGIC):
        return ODS if head[30:38] == b"mimetype" and ODS_MIMETYPE in head[38:120] else XLSX
    return None


def check_spreadsheet(
    source,
    *,
    max_bytes: int,
    max_rows: int,
    max_cells: int,
    max_member: int | None = None,
    max_strings: int | None = None,
) -> str:
    """The format (XLSX, XLS or ODS) of ``source`` — a path, a file object (rewound
    afterwards) or bytes — told from its bytes; UploadRefused when it is none of them, too
    big, a zip bomb (the archive, or any one member by its own size or ratio), holds more
    than ``max_strings`` shared strings, or when its filled cells reach beyond row
    ``max_rows`` or span grids of more than ``max_cells`` cells in all (what calamine would
    allocate)."""
    size = file_size(source)
    if size == 0:
        raise UploadRefused(UploadRefused.EMPTY)
    if size > max_bytes:
        raise UploadRefused(UploadRefused.TOO_BIG)
    opened = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    own = isinstance(opened, str | os.PathLike)
    handle = open(opened, "rb") if own else opened  # closed below
    try:
        handle.seek(0)
        head = handle.read(len(OLE_MAGIC))
        handle.seek(0)
        if head == OLE_MAGIC:
            extent = _xls_extent(handle)
            kind = XLS
        else:
            kind, extent = _zip_extent(handle, size, max_member, max_strings)
    finally:
        if own:
            handle.close()
        else:
            handle.seek(0)
    tallest, cells = extent
    if tallest > max_rows:
        raise UploadRefused(UploadRefused.TOO_MANY_ROWS)
    if cells > max_cells:
        raise UploadRefused(UploadRefused.TOO_MANY_CELLS)
    return kind


def _zip_extent(
    handle, size: int, max_member: int | None = None, max_strings: int | None = None
) -> tuple[str, tuple[int, int]]:
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRefused(UploadRefused.NOT_SPREADSHEET) from exc
    with archive:
        infos = archive.infolist()
        _check_expansion(infos, size, max_member=max_member)
        names = {info.filename: info for info in infos}
        try:
            mimetype = names.get("mimetype")
            if mimetype is not None and mimetype.file_size <= 200 and "content.xml" in names:
                if archive.read(mimetype).strip() == ODS_MIMETYPE:
                    return ODS, _ods_extent(archive, names["content.xml"])
                raise UploadRefused(UploadRefused.NO_SHEETS)  # another ODF file (.odt …)
            if any(name.startswith("xl/worksheets/") for name in names):
                if max_strings is not None:
                    _check_shared_strings(archive, infos, max_strings)
                return XLSX, _xlsx_extent(archive, infos)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise UploadRefused(UploadRefused.DAMAGED) from exc
    raise UploadRefused(UploadRefused.NO_SHEETS)


def _chunks_of(archive, info, boundary: bytes):
    """The member's bytes in pieces of a few MB, each cut after the last ``boundary`` so
    that no tag (or row) is split between two pieces."""
    with archive.open(info) as member:
        tail = b""
        while chunk := member.read(_CHUNK):
            data = tail + chunk
            cut = data.rfind(boundary)
            if cut < 0:
                if len(data) > _MAX_PIECE:  # one tag or row of many megabytes
                    raise UploadRefused(UploadRefused.TOO_MANY_CELLS)
                tail = data
                continue
            cut += 0 if boundary == b"<" else len(boundary)
            yield data[:cut]
            tail = data[cut:]
        if tail:
            yield tail


# A cell (``<c r="AB12">``) or row (``<row r="12">``) reference in an .xlsx sheet (a theme's
# ``<a:fillToRect r="50000"/>`` is not one).
_XLSX_REF = re.compile(rb'<(?:\w+:)?(?:c|row)(?=\s)[^>]*?\sr\s*=\s*"([A-Z]{0,3})([0-9]{1,9})"')
# Scanning every reference costs more than calamine's own read. A reference of two or more
# letters or six or more digits is rare in a ledger, and found in C: letters become A, digits
# 0 and white space a space, then three substrings are looked for. A piece without them has
# nothing beyond column Z or row 99,999; only a piece with them is scanned reference by
# reference.
_REF_SHAPES = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\t\n\r", b"A" * 26 + b"0" * 10 + b"   "
)
_FAR_OR_WIDE = (b' r="AA', b' r="000000', b' r="A000000')
_NARROW = 26
# References written otherwise (r='B3', r = "B3") go the slow way, after quotes are made
# double; a row or cell without any reference is placed by calamine after the previous one,
# so those are counted.
_ODD_REF = re.compile(rb"\sr(?:\s+=|=\s+|\s*=\s*')")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_UNREF_CELL = re.compile(rb"<(?:\w+:)?c(?=[\s>/])(?![^>]*\sr\s*=)")
_ODD_FORMS = (b"r='", b"r =", b"r= ")
_QUOTES = bytes.maketrans(b"'", b'"')


def _has_unreferenced(piece: bytes) -> bool:
    """Cheaply: may the piece hold a row or cell without ``r``? (Counted exactly only then.)"""
    if b":c" in piece or b":row" in piece:  # a namespace prefix: count exactly
        return True
    return piece.count(b" r=") < piece.count(b"<c") + piece.count(b"<row")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _refs_extent(found) -> tuple[int, int]:
    rows = max(int(number) for _letters, number in found)
    widest = max((letters for letters, _number in found), key=lambda x: (len(x), x))
    return rows, _column_number(widest)


def _xlsx_extent(archive, infos) -> tuple[int, int]:
    """The tallest grid and the biggest one calamine would build for one sheet (it builds
    only the sheet asked for). Every member is read, since a workbook may point at a
    worksheet anywhere in the package."""
    tallest = biggest = 0
    for info in infos:
        if info.is_dir():
            continue
        rows = columns = row_tags = unreferenced = 0
        for piece in _chunks_of(archive, info, b"<"):
            if _has_unreferenced(piece):
                row_tags += len(_ROW_TAG.findall(piece))
                unreferenced += len(_UNREF_CELL.findall(piece))
            odd = any(form in piece for form in _ODD_FORMS) and _ODD_REF.search(piece) is not None
            if odd:
                piece = piece.translate(_QUOTES)
            shapes = piece.translate(_REF_SHAPES)
            if odd or any(shape in shapes for shape in _FAR_OR_WIDE):
                found = _XLSX_REF.findall(piece)
            else:  # rows in order: the last references of the piece are its furthest
                found = _XLSX_REF.findall(piece[-65536:])
                columns = max(columns, _NARROW) if found else columns
            if found:
                piece_rows, piece_columns = _refs_extent(found)
                rows, columns = max(rows, piece_rows), max(columns, piece_columns)
        rows, columns = max(rows, row_tags), max(columns, unreferenced)
        tallest = max(tallest, rows)
        biggest = max(biggest, rows * max(columns, 1))
    return tallest, biggest


_ODS_TABLE_END = re.compile(rb"</table:table>")
_ODS_ROW = re.compile(
    rb"<table:table-row\b([^>]*?)/>|<table:table-row\b([^>]*)>(.*?)</table:table-row>", re.S
)
_ODS_CELL = re.compile(rb"<table:(?:covered-)?table-cell\b([^>]*?)(/?)>")
_ODS_REPEAT = re.compile(rb'number-(?:rows|columns)-repeated="([0-9]+)"')
_ODS_FILLED = (b"office:value-type", b"<text:")


def _repeat(attributes: bytes) -> int:
    found = _ODS_REPEAT.search(attributes)
    return int(found.group(1)) if found else 1


def _ods_row_width(body: bytes) -> int:
    """How far into the row its last filled cell reaches (0 for an empty row)."""
    if b"columns-repeated" not in body:
        if not any(mark in body for mark in _ODS_FILLED):
            return 0
        return body.count(b"<table:table-cell") + body.count(b"<table:covered-table-cell")
    width = position = 0
    cells = list(_ODS_CELL.finditer(body))
    for index, cell in enumerate(cells):
        span = _repeat(cell.group(1))
        if cell.group(2):  # <table:table-cell … />: filled only through its attributes
            filled = b"office:value-type" in cell.group(1)
        else:
            end = cells[index + 1].start() if index + 1 < len(cells) else len(body)
            filled = any(mark in body[cell.start() : end] for mark in _ODS_FILLED)
        position += span
        if filled:
            width = position
    return width


def _ods_extent(archive, info) -> tuple[int, int]:
    """Rows repeated (``number-rows-repeated``) and cells repeated (``…-columns-repeated``)
    count as many times as they say, up to the last filled row and cell — the trailing empty
    rows and columns LibreOffice writes repeated a million times do not count."""
    tallest = cells = 0
    rows = columns = position = 0

    def end_table():
        nonlocal tallest, cells, rows, columns, position
        tallest = max(tallest, rows)
        cells += rows * columns
        rows = columns = position = 0

    for piece in _chunks_of(archive, info, b"</table:table-row>"):
        ends = [m.start() for m in _ODS_TABLE_END.finditer(piece)]
        for row in _ODS_ROW.finditer(piece):
            while ends and ends[0] < row.start():
                ends.pop(0)
                end_table()
            empty = row.group(3) is None  # <table:table-row … />
            span = _repeat(row.group(1) if empty else row.group(2))
            width = 0 if empty else _ods_row_width(row.group(3))
            position += span
            if width:
                rows = position
                columns = max(columns, width)
        for _ in ends:
            end_table()
    end_table()
    return tallest, cells


# The BIFF records of an .xls that hold a cell: (row, column) first; MULRK and MULBLANK
# (0x00BD, 0x00BE) hold a run of cells and end with the run's last column.
_BIFF_CELLS = {0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x00D6, 0x00FD, 0x0201, 0x0203,
               0x0204, 0x0205, 0x0206, 0x027E, 0x0406}  # fmt: skip
_BIFF_RUNS = {0x00BD, 0x00BE}
_BIFF_BOF = {0x0809, 0x0409, 0x0209, 0x0009}
_WORD = struct.Struct("<HH")


def _xls_extent(handle) -> tuple[int, int]:
    try:
        ole = olefile.OleFileIO(handle)
    except Exception as exc:  # olefile raises OSError and others on a damaged file
        raise UploadRefused(UploadRefused.DAMAGED) from exc
    try:
        streams = {"/".join(path) for path in ole.listdir()}
        if "EncryptedPackage" in streams:
            raise UploadRefused(UploadRefused.ENCRYPTED)  # a password-protected .xlsx
        name = next((n for n in ("Workbook", "Book") if n in streams), None)
        if name is None:
            raise UploadRefused(UploadRefused.NOT_WORKBOOK)
        try:
            data = ole.openstream(name).read()
        except Exception as exc:
            raise UploadRefused(UploadRefused.DAMAGED) from exc
    finally:
        ole.close()
    return _biff_extent(data)


def _biff_extent(data: bytes) -> tuple[int, int]:
    """Rows and cells of the grid of every sheet substream (calamine reads them all)."""
    tallest = cells = 0
    rows = columns = 0
    unpack = _WORD.unpack_from
    position, end = 0, len(data) - 4
    while position <= end:
        kind, length = unpack(data, position)
        body = position + 4
        if kind in _BIFF_CELLS and length >= 4:
            row, column = unpack(data, body)
            rows = max(rows, row + 1)
            columns = max(columns, column + 1)
        elif kind in _BIFF_RUNS and length >= 6:
            row, _first = unpack(data, body)
            (last,) = struct.unpack_from("<H", data, body + length - 2)
            rows = max(rows, row + 1)
            columns = max(columns, last + 1)
        elif kind in _BIFF_BOF:
            tallest = max(tallest, rows)
            cells += rows * columns
            rows = columns = 0
        position = body + length
    tallest = max(tallest, rows)
    cells += rows * columns
    return tallest, cells


class BadImage(Exception):
    """Why an uploaded image is refused; ``message(name, what)`` words it in Chinese.

    ``reason`` is NOT_IMAGE (Pillow cannot read it: not an image, truncated, damaged),
    FORMAT (an image, but not one of the formats asked for; ``format`` names it when known) or
    TOO_LARGE (its header announces more pixels or a longer side than allowed — a "pixel
    bomb"; ``size`` is the announced width and height). Nothing is decoded for the last two."""

    NOT_IMAGE, FORMAT, TOO_LARGE = "not_image", "format", "too_large"

    def __init__(
        self,
        reason: str = NOT_IMAGE,
        *,
        format: str | None = None,
        size: tuple[int, int] | None = None,
        allowed: tuple[str, ...] = (),
    ):
        super().__init__(reason)
        self.reason, self.format, self.size, self.allowed = reason, format, size, allowed

    def message(self, name: str, what: str = "图片") -> str:
        if self.reason == self.TOO_LARGE:
            size = f"（{self.size[0]}×{self.size[1]} 像素）" if self.size else ""
            return f"{what}“{name}”尺寸过大{size}，请降低分辨率后再上传。"
        if self.reason == self.FORMAT:
            found = f"格式为 {self.format}，" if self.format else ""
            allowed = "、".join("WebP" if f == "WEBP" else f for f in self.allowed)
            return f"{what}“{name}”{found}只接受 {allowed} 格式。"
        return f"“{name}”不是可识别的{what}文件。"


# Every image we accept is at most this many pixels (a 50 MP phone sensor is 8160×6144 =
# 50.1 MP). Pillow's own bomb guard is set a little above it — it warns above
# MAX_IMAGE_PIXELS and refuses above twice that — so that no upload of ours, and no image
# opened elsewhere in the process, can ask for gigabytes; ``open_image`` checks its callers'
# smaller limits from the header first and turns the warning into a refusal too.
MAX_IMAGE_PIXELS = 52_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
DEFAULT_FORMATS = ("JPEG", "PNG", "WEBP")

_PILLOW_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


def _format_of(data: bytes) -> str | None:
    """What Pillow takes ``data`` for (header only, nothing decoded), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as probe:
                return probe.format
    except Exception:  # any parse failure: not an image we can name
        return None


def open_image(
    data: bytes,
    *,
    formats=DEFAULT_FORMATS,
    max_pixels: int = MAX_IMAGE_PIXELS,
    max_side: int | None = None,
    verify: bool = False,
) -> Image.Image:
    """The decoded image in ``data``; BadImage when it is refused.

    The format is judged by content (Pillow tries only the plugins of ``formats``, never the
    file name), and the width and height from the header are checked against ``max_pixels``
    (and ``max_side``) before a single pixel is decoded. ``verify`` then runs Pillow's
    integrity check (which catches truncated files that still decode)."""
    allowed = tuple(formats)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(io.BytesIO(data), formats=allowed)
            except UnidentifiedImageError as exc:
                found = _format_of(data)
                if found is None:
                    raise BadImage(BadImage.NOT_IMAGE) from exc
                raise BadImage(BadImage.FORMAT, format=found, allowed=allowed) from exc
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise BadImage(BadImage.TOO_LARGE, size=_announced_size(data, allowed)) from exc
            width, height = image.size
            if (
                image.format not in allowed
                or width * height > max_pixels
                or (max_side is not None and max(width, height) > max_side)
            ):
                image.close()
                if image.format not in allowed:
                    raise BadImage(BadImage.FORMAT, format=image.format, allowed=allowed)
                raise BadImage(BadImage.TOO_LARGE, size=(width, height))
            if verify:
                with Image.open(io.BytesIO(data), formats=allowed) as probe:
                    probe.verify()
            image.load()
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(BadImage.TOO_LARGE, size=_announced_size(data, allowed)) from exc
    except _PILLOW_ERRORS as exc:
        raise BadImage(BadImage.NOT_IMAGE) from exc
    return image


def _announced_size(data: bytes, allowed: tuple[str, ...]) -> tuple[int, int] | None:
    """Width and height from the header of an image Pillow's guard refused (its plugin read
    without the guard; nothing is decoded)."""
    for kind in allowed:
        factory, accept = Image.OPEN.get(kind, (None, None))
        if factory is None or (accept is not None and not accept(data[:16])):
            continue
        try:
            with factory(io.BytesIO(data), None) as probe:
                return probe.size
        except Exception:  # any parse failure: the size stays unknown
            continue
    return None


# Where a stored image is written (extension) and what it is (the format written).
STORED_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
STORED_MAX_SIDE = 4096


def reencode(
    image: Image.Image,
    *,
    format: str,
    max_side: int = STORED_MAX_SIDE,
    exif: Image.Exif | None = None,
) -> bytes:
    """A fresh file of ``image`` in ``format`` (JPEG, PNG or WebP): its EXIF orientation
    applied, its longest side at most ``max_side``, only the first frame, and no metadata but
    ``exif`` — so what is stored and served is never the uploaded file itself."""
    picture = ImageOps.exif_transpose(image)
    if format == "JPEG":
        if picture.mode not in ("RGB", "L"):
            picture = _flatten(picture)
    elif picture.mode not in ("RGB", "RGBA", "L", "LA", "P") or (
        format == "WEBP" and picture.mode not in ("RGB", "RGBA")
    ):
        picture = picture.convert(
            "RGBA" if "A" in picture.mode or "transparency" in picture.info else "RGB"
        )
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    options = {}
    if format in ("JPEG", "WEBP"):
        options["quality"] = 90
    if exif is not None and format in ("JPEG", "WEBP", "PNG"):
        options["exif"] = exif
    buffer = io.BytesIO()
    picture.save(buffer, format, **options)
    return buffer.getvalue()


def _flatten(picture: Image.Image) -> Image.Image:
    """RGB over white (a JPEG has no transparency)."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, "white")
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return picture.convert("RGB")

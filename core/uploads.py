"""Upload safety: the checks every uploaded spreadsheet and image passes before it is parsed.

An .xlsx is a zip: before openpyxl sees one, its size, that it is a zip at all, how far it
expands (an "xlsx bomb" is a small file that unpacks to gigabytes) and that it holds a
worksheet are checked, with one set of limits. An image is opened by Pillow only through
``open_image``, which turns every way Pillow can fail into one ``BadImage``.
"""

import io
import os
import zipfile

from PIL import Image, UnidentifiedImageError

MAX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_RATIO = 100  # spreadsheets compress ~5–20×; far beyond that is a bomb
RATIO_SLACK = 10 * 1024 * 1024  # small files may compress better than that, harmlessly


class UploadRefused(Exception):
    """What is wrong with an uploaded container; the caller words the message for its page.

    ``reason`` is one of EMPTY, TOO_BIG, NOT_XLSX, BOMB, NO_SHEETS."""

    EMPTY, TOO_BIG, NOT_XLSX, BOMB, NO_SHEETS = "empty", "too_big", "not_xlsx", "bomb", "no_sheets"

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


def check_xlsx(source, *, max_bytes: int) -> None:
    """Refuse (UploadRefused) what is not a sane .xlsx of at most ``max_bytes``, before it is
    parsed. ``source`` is a path, a file object (rewound afterwards) or bytes."""
    size = file_size(source)
    if size == 0:
        raise UploadRefused(UploadRefused.EMPTY)
    if size > max_bytes:
        raise UploadRefused(UploadRefused.TOO_BIG)
    opened = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with zipfile.ZipFile(opened) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRefused(UploadRefused.NOT_XLSX) from exc
    finally:
        if hasattr(opened, "seek"):
            opened.seek(0)
    expanded = sum(info.file_size for info in infos)
    if expanded > MAX_UNCOMPRESSED or expanded > MAX_RATIO * size + RATIO_SLACK:
        raise UploadRefused(UploadRefused.BOMB)
    if not any(info.filename.startswith("xl/worksheets/") for info in infos):
        raise UploadRefused(UploadRefused.NO_SHEETS)


class BadImage(Exception):
    """Pillow cannot read the upload as an image (not an image, truncated, or a bomb)."""


_PILLOW_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError)


def open_image(data: bytes, *, verify: bool = False) -> Image.Image:
    """The decoded image in ``data``; BadImage when it cannot be read. ``verify`` first runs
    Pillow's integrity check (which catches truncated files that still decode)."""
    try:
        if verify:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except _PILLOW_ERRORS as exc:
        raise BadImage() from exc
    return image

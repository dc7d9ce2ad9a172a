"""The close-out evidence of a work-process problem: photos and documents, checked before they
are stored (``core.uploads``).

- Every file's size is checked from the upload before a byte is read, and at most that many
  bytes are read.
- A photo (JPEG, PNG, WebP) is opened only through ``open_image``: format by content, width ×
  height from the header against ``PHOTO_MAX_PIXELS`` before anything is decoded; what is
  stored is a re-encoded JPEG without metadata, never the upload.
- A PDF is recognised by its header and stored as it came (it is never parsed here, and is
  served as a download).
- A spreadsheet (.xlsx, .xls, .ods: an inspection sheet, a list) passes
  ``check_spreadsheet`` (zip bombs, grids too big) and is stored as it came.
"""

import hashlib
import os
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from core.uploads import (
    BadImage,
    UploadRefused,
    check_spreadsheet,
    open_image,
    reencode,
    sniff_spreadsheet,
)

from .choices import EvidenceKind

MAX_FILES = 10
PHOTO_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_STORED_MAX_SIDE = 2048
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")
SHEET_MAX_ROWS = 100_000
SHEET_MAX_CELLS = 5_000_000
PDF_MAGIC = b"%PDF-"
NAME_MAX = 120

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
ACCEPTED = "只接受照片（JPEG、PNG、WebP）、PDF 文件或 Excel 表格（.xlsx、.xls、.ods）。"


@dataclass
class CleanFile:
    kind: str
    content: ContentFile
    name: str  # the sender's file name, for the list and the download
    content_type: str
    size: int
    sha256: str


def _display_name(upload, extension: str) -> str:
    name = os.path.basename(getattr(upload, "name", "") or "").strip() or f"佐证材料.{extension}"
    stem, _dot, ext = name.rpartition(".")
    if not stem or ext.lower() != extension:
        name = f"{stem or name}.{extension}"
    return name[-NAME_MAX:]


def _stored(data: bytes, kind: str, extension: str, upload) -> CleanFile:
    digest = hashlib.sha256(data).hexdigest()
    return CleanFile(
        kind=kind,
        content=ContentFile(data, name=f"{digest[:20]}.{extension}"),
        name=_display_name(upload, extension),
        content_type=CONTENT_TYPES[extension],
        size=len(data),
        sha256=digest,
    )


def clean_file(upload) -> CleanFile:
    """One uploaded file checked and made ready to store; ValidationError (Chinese) if not."""
    name = os.path.basename(getattr(upload, "name", "") or "") or "文件"
    size = upload.size
    if not size:
        raise ValidationError(f"“{name}”是空文件。")
    if size > DOCUMENT_MAX_BYTES:
        raise ValidationError(
            f"“{name}”超过 {DOCUMENT_MAX_BYTES // (1024 * 1024)} MB，请压缩或拆分后再上传。"
        )
    upload.seek(0)
    head = upload.read(128)
    upload.seek(0)
    if head.startswith(PDF_MAGIC):
        return _stored(upload.read(DOCUMENT_MAX_BYTES + 1), EvidenceKind.DOCUMENT, "pdf", upload)
    kind = sniff_spreadsheet(head)
    if kind is not None:
        try:
            kind = check_spreadsheet(
                upload.file,
                max_bytes=DOCUMENT_MAX_BYTES,
                max_rows=SHEET_MAX_ROWS,
                max_cells=SHEET_MAX_CELLS,
            )
        except UploadRefused as exc:
            raise ValidationError(f"“{name}”不是可用的表格文件。{ACCEPTED}") from exc
        upload.seek(0)
        return _stored(upload.read(DOCUMENT_MAX_BYTES + 1), EvidenceKind.DOCUMENT, kind, upload)
    if size > PHOTO_MAX_BYTES:
        raise ValidationError(
            f"照片“{name}”超过 {PHOTO_MAX_BYTES // (1024 * 1024)} MB，请压缩后再上传。"
        )
    data = upload.read(PHOTO_MAX_BYTES + 1)
    try:
        image = open_image(data, formats=PHOTO_FORMATS, max_pixels=PHOTO_MAX_PIXELS, verify=True)
    except BadImage as exc:
        if exc.reason == BadImage.NOT_IMAGE:
            raise ValidationError(f"“{name}”无法识别。{ACCEPTED}") from exc
        raise ValidationError(exc.message(name, "照片")) from exc
    with image:
        stored = reencode(image, format="JPEG", max_side=PHOTO_STORED_MAX_SIDE)
    return _stored(stored, EvidenceKind.PHOTO, "jpg", upload)


def clean_files(uploads) -> list[CleanFile]:
    """Every file checked; all problems reported at once (one message per file)."""
    uploads = [u for u in uploads or [] if u]
    if not uploads:
        raise ValidationError({"files": "销号须上传至少一张照片或一份文件作为佐证。"})
    if len(uploads) > MAX_FILES:
        raise ValidationError({"files": f"一次最多上传 {MAX_FILES} 个文件。"})
    cleaned, errors = [], []
    for upload in uploads:
        try:
            cleaned.append(clean_file(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"files": errors})
    return cleaned

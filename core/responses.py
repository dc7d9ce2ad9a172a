"""File responses: the one way a download names its attachment (UTF-8 file names, RFC 6266),
and the one way a stored private file (a photo, a job's result) is sent."""

from urllib.parse import quote

from django.http import FileResponse, Http404, HttpResponse

from .xlsx import XLSX_CONTENT_TYPE

IMAGE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def quote_filename(name: str) -> str:
    return quote(name, safe="")


def content_disposition(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote_filename(filename)}"


def attachment(content: bytes, filename: str, content_type: str = XLSX_CONTENT_TYPE):
    """``content`` sent as a download named ``filename`` (an xlsx unless told otherwise)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition(filename)
    return response


def _open(field, missing: str):
    try:
        return field.open("rb")
    except FileNotFoundError as exc:
        raise Http404(missing) from exc


def stored_attachment(field, filename: str, *, missing: str, content_type=XLSX_CONTENT_TYPE):
    """A stored file (FieldFile) as a download named ``filename``; 404 when it is gone."""
    response = FileResponse(_open(field, missing), content_type=content_type)
    response["Content-Disposition"] = content_disposition(filename)
    return response


def private_image(field, *, missing: str = "文件不存在。"):
    """A stored photo shown in the page (never public media: the caller has looked its row up
    through the scoping); 404 when the file is gone."""
    extension = field.name.rsplit(".", 1)[-1].lower()
    response = FileResponse(_open(field, missing), content_type=IMAGE_TYPES.get(extension))
    response["Cache-Control"] = "private, max-age=3600"
    return response

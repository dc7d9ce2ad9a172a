"""On-site photos: type and size limits, EXIF time and GPS, thumbnails, content hash."""

import datetime
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from core.uploads import BadImage, open_image, reencode

from .choices import PHOTO_FORMATS, PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS, PHOTO_STORED_MAX_SIDE

THUMBNAIL_SIZE = (360, 360)
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 36867
_DATETIME = 306


@dataclass
class ProcessedPhoto:
    image: ContentFile
    thumbnail: ContentFile
    sha256: str
    taken_at: datetime.datetime | None
    latitude: Decimal | None
    longitude: Decimal | None


def _ratio(value) -> float:
    try:
        return float(value)
    except (TypeError, ZeroDivisionError, ValueError):
        numerator, denominator = value
        return numerator / denominator


def _gps(exif) -> tuple[Decimal | None, Decimal | None]:
    gps = exif.get_ifd(_GPS_IFD)
    try:
        lat = sum(_ratio(v) / 60**i for i, v in enumerate(gps[2]))
        lon = sum(_ratio(v) / 60**i for i, v in enumerate(gps[4]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None, None
    if gps.get(1) == "S":
        lat = -lat
    if gps.get(3) == "W":
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}")


def _taken_at(exif) -> datetime.datetime | None:
    raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not raw:
        return None
    try:
        naive = datetime.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    # Phone cameras write local time without a zone: the county's time zone.
    return timezone.make_aware(naive)


def process_photo(upload) -> ProcessedPhoto:
    """Check one uploaded photo and derive what we keep of it; ValidationError if unusable."""
    name = getattr(upload, "name", "照片")
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(
            f"照片“{name}”超过 {PHOTO_MAX_BYTES // (1024 * 1024)} MB，请压缩后再上传。"
        )
    data = upload.read()
    try:
        image = open_image(data, formats=PHOTO_FORMATS, max_pixels=PHOTO_MAX_PIXELS, verify=True)
    except BadImage as exc:
        raise ValidationError(exc.message(name, "照片")) from exc
    with image:
        # Time and GPS are read from the upload before it is re-encoded; the stored copy is
        # ours (orientation applied, longest side bounded), never the uploaded file itself.
        exif = image.getexif()
        latitude, longitude = _gps(exif)
        taken_at = _taken_at(exif)
        stored = reencode(
            image, format=image.format, max_side=PHOTO_STORED_MAX_SIDE, exif=_kept_exif(exif)
        )
        ext = PHOTO_FORMATS[image.format]
    digest = hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(stored)) as copy:
        thumb = copy.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=80)
    return ProcessedPhoto(
        image=ContentFile(stored, name=f"{digest[:16]}.{ext}"),
        thumbnail=ContentFile(buffer.getvalue(), name=f"{digest[:16]}_thumb.jpg"),
        sha256=digest,
        taken_at=taken_at,
        latitude=latitude,
        longitude=longitude,
    )


def _kept_exif(exif) -> Image.Exif:
    """Only the shooting time and the GPS position of the upload (the orientation is applied
    to the pixels, and nothing else of the camera's or the sender's travels on)."""
    kept = Image.Exif()
    original = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
    if original:
        kept.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL] = original
    if exif.get(_DATETIME):
        kept[_DATETIME] = exif[_DATETIME]
    gps = exif.get_ifd(_GPS_IFD)
    if gps:
        kept.get_ifd(_GPS_IFD).update(gps)
    return kept


def process_photos(uploads) -> list[ProcessedPhoto]:
    """Every upload checked; ValidationError({"photos": …}) naming every unusable one at once,
    so the user replaces them all in one go."""
    processed, problems = [], []
    for upload in uploads:
        try:
            processed.append(process_photo(upload))
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        raise ValidationError({"photos": problems})
    return processed

"""Small real images for photo tests, with or without EXIF time and GPS, and hostile ones:
a "pixel bomb" (a small PNG announcing a huge width × height) and images of other formats
dressed up as a .jpg."""

import functools
import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def jpeg(
    name="photo.jpg",
    *,
    color=(120, 160, 90),
    taken="2022:05:01 10:30:00",
    gps=None,
    size=(640, 480),
    orientation=None,
):
    """A JPEG; ``gps`` = (lat, lon) in decimal degrees, north/east; ``orientation`` the EXIF
    orientation tag (6: the camera was turned, the picture is to be rotated 90° clockwise)."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if taken:
        exif.get_ifd(0x8769)[36867] = taken
    if gps:
        lat, lon = gps

        def dms(value):
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
            return (float(degrees), float(minutes), float(seconds))

        exif.get_ifd(0x8825).update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def png(name="photo.png", color=(10, 20, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (50, 50), color).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def gif(name="anim.gif"):
    buffer = io.BytesIO()
    Image.new("P", (20, 20)).save(buffer, "GIF")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/gif")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def png_bomb_bytes(width=12000, height=12000) -> bytes:
    """A valid, fully decodable PNG of one colour: 12000×12000 (144 megapixels, 432 MB as RGB)
    in about 420 KB. Written row by row, so making it costs no memory."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (3 * width)  # filter byte, then black RGB pixels
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def png_bomb(name="bomb.png", width=12000, height=12000):
    return SimpleUploadedFile(name, png_bomb_bytes(width, height), content_type="image/png")


def disguised(fmt: str, name="photo.jpg"):
    """A real GIF, BMP or TIFF (``fmt`` as Pillow names it) uploaded as a .jpg."""
    buffer = io.BytesIO()
    Image.new("RGB" if fmt != "GIF" else "P", (64, 48), 0).save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")

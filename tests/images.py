"""Small real images for photo tests, with or without EXIF time and GPS."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def jpeg(name="photo.jpg", *, color=(120, 160, 90), taken="2022:05:01 10:30:00", gps=None):
    """A JPEG; ``gps`` = (lat, lon) in decimal degrees, north/east."""
    image = Image.new("RGB", (640, 480), color)
    exif = Image.Exif()
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

"""Image pixel bombs (issue 16, finding 3): a small file announcing a huge width × height is
refused from its header, before a pixel is decoded, wherever an image is uploaded —
inspection photo, evidence photo, seal, drawn signature, paper consent photo; formats are
judged by content; a large real photo is kept, re-encoded to a bounded size."""

import io
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from core.uploads import BadImage, open_image
from rectification.choices import ConsentMethod
from rectification.models import Consent, EvidencePhoto
from reports.services import clean_seal
from surveys.choices import PHOTO_MAX_PIXELS, PHOTO_STORED_MAX_SIDE
from surveys.models import Inspection, ProblemCategory, SurveyRound
from surveys.photos import process_photo
from surveys.services import save_inspection
from tests.factories import SurveyRoundFactory
from tests.images import disguised, jpeg, png_bomb, png_bomb_bytes
from tests.ledger import consent, drive, move, open_entry, signature_png

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def media_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def refused_cheaply(call):
    """Run ``call`` (which must refuse) and return its ValidationError, checking that Pillow
    allocated no image for it and that Python's own allocations stayed small."""
    before = Image.core.get_stats()["new_count"]
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError) as refused:
            call()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert Image.core.get_stats()["new_count"] == before, "pixels were decoded"
    assert peak < 100 * MB
    return refused.value


def messages(error: ValidationError) -> str:
    return " ".join(error.messages)


# open_image itself ----------------------------------------------------------------------


def test_the_bomb_is_refused_from_its_header_with_the_process_staying_small(tmp_path):
    """In a fresh interpreter (so that the peak RSS is this refusal's own), refusing the
    144-megapixel PNG adds well under 100 MB; decoding it would add over 400 MB."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb_bytes())
    script = f"""
import json, resource, sys
sys.path.insert(0, {str(ROOT)!r})
from core.uploads import BadImage, open_image
data = open({str(bomb)!r}, "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for verify in (False, True):
    try:
        open_image(data, verify=verify)
        result = "accepted"
    except BadImage as exc:
        result = exc.reason
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"result": result, "grown_kb": after - before}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(done.stdout)
    assert report["result"] == BadImage.TOO_LARGE
    assert report["grown_kb"] < 100 * 1024


def test_open_image_checks_pixels_and_sides_from_the_header():
    small = png_bomb_bytes(300, 200)
    assert open_image(small, max_pixels=60_000).size == (300, 200)
    for limits in ({"max_pixels": 59_999}, {"max_side": 299}):
        with pytest.raises(BadImage) as refused:
            open_image(small, **limits)
        assert refused.value.reason == BadImage.TOO_LARGE
        assert refused.value.size == (300, 200)
        assert "300×200" in refused.value.message("a.png", "照片")


def test_pillows_own_bomb_guard_is_lowered_and_worded_in_chinese():
    assert Image.MAX_IMAGE_PIXELS <= 64_000_000
    with pytest.raises(BadImage) as refused:
        open_image(png_bomb_bytes(), max_pixels=10**12)
    assert refused.value.reason == BadImage.TOO_LARGE
    assert refused.value.message("bomb.png", "照片").startswith("照片“bomb.png”尺寸过大")


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_the_format_is_judged_by_content_not_by_the_name(fmt):
    with pytest.raises(BadImage) as refused:
        open_image(disguised(fmt).read(), formats=("JPEG", "PNG", "WEBP"))
    assert refused.value.reason == BadImage.FORMAT
    assert refused.value.format == fmt


# Inspection photos ------------------------------------------------------------------------


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2024年问题摸排")


def inspect_with(surveyor, survey_round: SurveyRound, toilet, photo):
    inspection = Inspection(
        round=survey_round,
        toilet=toilet,
        usability="unusable",
        check_method="on_site",
        partner_name="李四",
        inspected_at=timezone.now(),
        signed=True,
    )
    return save_inspection(
        actor=surveyor,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code__in=["tank"])),
        photos=[photo],
    )


@pytest.mark.django_db
def test_a_bomb_inspection_photo_is_refused_and_nothing_is_stored(users, register, survey):
    error = refused_cheaply(
        lambda: inspect_with(users.surveyor, survey, register.t1, png_bomb("现场.png"))
    )
    assert "照片“现场.png”尺寸过大（12000×12000 像素）" in messages(error)
    assert not Inspection.objects.exists()
    assert media_files() == []


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_a_disguised_inspection_photo_is_refused(users, register, survey, fmt):
    with pytest.raises(ValidationError) as refused:
        inspect_with(users.surveyor, survey, register.t1, disguised(fmt, "现场.jpg"))
    assert f"照片“现场.jpg”格式为 {fmt}，只接受 JPEG、PNG、WebP 格式" in messages(refused.value)
    assert not Inspection.objects.exists()
    assert media_files() == []


@pytest.mark.django_db
def test_a_large_real_photo_is_kept_re_encoded_with_its_time_and_gps(users, register, survey):
    photo = jpeg("大图.jpg", size=(6000, 4000), gps=(21.91, 108.61), orientation=6)
    inspection = inspect_with(users.surveyor, survey, register.t1, photo)
    stored = inspection.photos.get()
    assert float(stored.latitude) == pytest.approx(21.91, abs=1e-4)
    assert float(stored.longitude) == pytest.approx(108.61, abs=1e-4)
    assert stored.taken_at is not None
    assert stored.image.name.endswith(".jpg")
    with stored.image.open("rb") as handle:
        data = handle.read()
    assert data != photo.file.getvalue()
    with Image.open(io.BytesIO(data)) as kept:
        assert kept.format == "JPEG"
        width, height = kept.size  # turned upright, then bounded
        assert height == PHOTO_STORED_MAX_SIDE and abs(width - 2731) <= 1
        exif = kept.getexif()
        assert 0x0112 not in exif  # the orientation is in the pixels now
        assert exif.get_ifd(0x8825).get(1) == "N"  # the GPS travels with the stored copy


def test_a_photo_is_stored_as_what_it_is():
    buffer = io.BytesIO()
    Image.new("RGBA", (5000, 300), (10, 20, 30, 128)).save(buffer, "WEBP")
    processed = process_photo(SimpleUploadedFile("x.jpg", buffer.getvalue()))
    assert processed.image.name.endswith(".webp")
    with Image.open(io.BytesIO(processed.image.read())) as kept:
        assert kept.format == "WEBP"
        assert max(kept.size) == PHOTO_STORED_MAX_SIDE


def test_the_photo_limit_admits_a_50_megapixel_phone_photo():
    assert 8160 * 6144 <= PHOTO_MAX_PIXELS < 12000 * 12000


# Evidence photos, signatures, paper consent -----------------------------------------------


@pytest.fixture
def entry_at(users, register, survey):
    def make(state):
        entry = open_entry(users.surveyor, survey, register.t1)
        return drive(entry, township=users.township, surveyor=users.surveyor, to=state)

    return make


@pytest.mark.django_db
def test_a_bomb_evidence_photo_is_refused_and_nothing_is_stored(users, entry_at):
    entry = entry_at("in_progress")
    before = media_files()
    error = refused_cheaply(
        lambda: move(entry, "rectify", users.surveyor, photos=[png_bomb("整改后.png")])
    )
    assert "照片“整改后.png”尺寸过大" in messages(error)
    assert not EvidencePhoto.objects.exists()
    assert media_files() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method,image,message",
    [
        (ConsentMethod.SCREEN, png_bomb, "签字图片“signature.png”尺寸过大"),
        (ConsentMethod.PAPER, png_bomb, "签字纸质件照片“signature.png”尺寸过大"),
        (ConsentMethod.SCREEN, lambda: disguised("GIF"), "屏幕签字须为 PNG"),
        (ConsentMethod.PAPER, lambda: disguised("BMP"), "纸质件照片须为 JPEG、PNG 或 WebP"),
        (ConsentMethod.SCREEN, lambda: jpeg("s.jpg"), "屏幕签字须为 PNG"),
    ],
)
def test_a_bomb_or_disguised_signature_is_refused(users, entry_at, method, image, message):
    entry = entry_at("accepted")
    before = media_files()
    data = image().read()
    signed = consent(method=method, image=ContentFile(data, name="signature.png"))
    error = refused_cheaply(lambda: move(entry, "close", users.township, consent=signed))
    assert message in messages(error)
    assert not Consent.objects.exists()
    assert media_files() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method,image,fmt,ext,side",
    [
        (
            ConsentMethod.SCREEN,
            lambda: ContentFile(signature_png(), "signature.png"),
            "PNG",
            "png",
            300,
        ),
        (ConsentMethod.PAPER, lambda: jpeg("paper.jpg", size=(5000, 3000)), "JPEG", "jpg", 4096),
    ],
)
def test_the_stored_signature_or_paper_photo_is_re_encoded(
    users, entry_at, method, image, fmt, ext, side
):
    upload = image()
    original = upload.read()
    upload.seek(0)
    move(
        entry_at("accepted"), "close", users.township, consent=consent(method=method, image=upload)
    )
    stored = Consent.objects.get()
    assert stored.image.name.endswith(f".{ext}")
    with stored.image.open("rb") as handle:
        data = handle.read()
    if fmt == "JPEG":  # (Pillow writes the same small signature PNG byte for byte)
        assert data != original
    with Image.open(io.BytesIO(data)) as kept:
        assert kept.format == fmt
        assert max(kept.size) == side


# The seal -------------------------------------------------------------------------------


def test_a_bomb_seal_is_refused_before_decoding():
    error = refused_cheaply(lambda: clean_seal(png_bomb("印章.png")))
    assert "印章图片太大，宽和高不超过 4000 像素" in messages(error)


def test_a_seal_wider_than_4000_px_is_refused_from_its_header():
    error = refused_cheaply(lambda: clean_seal(png_bomb("印章.png", 4001, 200)))
    assert "不超过 4000 像素" in messages(error)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP"])
def test_a_disguised_seal_is_refused(fmt):
    upload = disguised(fmt, "印章.png")
    error = refused_cheaply(lambda: clean_seal(upload))
    assert "印章图片只能是 PNG 或 JPEG 格式" in messages(error)


def test_a_sound_seal_is_still_accepted():
    data, ext = clean_seal(png_bomb("印章.png", 400, 400))
    assert ext == "png" and data == png_bomb_bytes(400, 400)

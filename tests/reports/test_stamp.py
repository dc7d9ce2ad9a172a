"""The stamped county spreadsheet: the official layout, the seal, the code and the fingerprints,
protection and print setup; it re-validates clean, and LibreOffice opens it."""

import datetime
import io
import json
import shutil
import subprocess
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import load_workbook
from PIL import Image, ImageDraw

from reports import services
from reports.columns import COLUMNS
from reports.models import Seal
from reports.sheet import read_summary
from reports.stamp import code_in_file, data_digest, seal_png, stamped_workbook
from tests.factories import SurveyRoundFactory, ToiletFactory, UserFactory
from tests.ledger import drive, open_entry
from tests.reports.complete import complete_round

CODE = "ABCDE23456"
SUBMITTED_AT = datetime.datetime(2022, 5, 10, 10, 30, tzinfo=datetime.UTC)


def seal_bytes(fmt="PNG", size=400) -> bytes:
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, size - 10, size - 10), outline=(200, 20, 20), width=14)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def consistent(seed: int) -> dict[int, int]:
    """One row that satisfies every rule."""
    values = dict.fromkeys(COLUMNS, 0)
    values.update(
        {1: 100 + seed, 2: 10, 3: 60, 4: 30 + seed, 5: 5, 6: 8, 7: 5, 8: 3, 9: 2, 10: 6, 11: 4,
         12: 3, 13: 4, 14: 5, 20: 7, 21: 3, 22: 2, 23: 2, 24: 2, 25: 1, 26: 1, 27: 1, 28: 1,
         29: 4, 30: 3, 31: 1, 32: 1, 33: 5}
    )  # fmt: skip
    return values


ROWS = [("沙埠镇", consistent(0)), ("康熙岭镇", consistent(1))]
TOTAL = {c: ROWS[0][1][c] + ROWS[1][1][c] for c in COLUMNS}


def stamped(seal=True, **overrides) -> bytes:
    kwargs = {
        "title": "钦南区农村厕所问题摸排整改情况汇总表（2022年摸排）",
        "unit": "钦南区",
        "row_label": "乡镇",
        "rows": ROWS,
        "total": TOTAL,
        "filler": "陈志明",
        "phone": "0777-1234567",
        "filled_on": datetime.date(2022, 5, 10),
        "bucket_labels": None,
        "code": CODE,
        "version": 2,
        "round_name": "2022年摸排",
        "submitted_at": SUBMITTED_AT,
        "seal": seal_bytes() if seal else None,
    }
    kwargs.update(overrides)
    return stamped_workbook(**kwargs)


@pytest.fixture(scope="module")
def data() -> bytes:
    return stamped()


@pytest.fixture
def sheet(data):
    return load_workbook(io.BytesIO(data)).active


def texts(sheet) -> list[str]:
    return [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]


def test_it_has_the_title_unit_and_the_merged_header_levels(sheet):
    assert sheet["A1"].value == "钦南区农村厕所问题摸排整改情况汇总表（2022年摸排）"
    assert sheet["A2"].value == "县区（盖章）：钦南区"
    assert "单位：个" in texts(sheet)
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A3:A5", "B3:F3", "G3:AC3", "AD3:AH3"} <= merged  # label, level 1
    assert {"G4:J4", "K4:L4", "M4:T4", "U4:V4", "W4:AC4"} <= merged  # level 2 groups
    assert {"B4:B5", "AD4:AD5", "AH4:AH5"} <= merged  # level-2 leaves span level 3
    assert sheet["B3"].value == "摸排情况" and sheet["G4"].value == "问题厕所数"
    assert sheet["G5"].value == "问题户厕总数" and sheet["W5"].value == "2013以前"


def test_it_numbers_the_columns_and_holds_the_rows_and_the_total(sheet):
    assert [sheet.cell(row=6, column=1 + n).value for n in COLUMNS] == COLUMNS
    assert sheet["A7"].value == "沙埠镇" and sheet["A8"].value == "康熙岭镇"
    assert sheet["A9"].value == "合计"
    assert [sheet.cell(row=9, column=1 + n).value for n in COLUMNS] == [TOTAL[n] for n in COLUMNS]


def test_the_footer_is_filled_from_the_submission(sheet):
    values = texts(sheet)
    assert "填报人：陈志明" in values
    assert "联系电话：0777-1234567" in values
    assert "填报日期：2022年5月10日" in values
    notes = "\n".join(v for v in values if v.startswith(("填报说明", "2.", "3.")))
    assert "1=2+3+4" in notes and "6+9≥29+32" in notes and "29=30+31" in notes


def test_the_footer_and_the_properties_carry_the_code_and_the_data_fingerprint(data, sheet):
    digest = data_digest(ROWS, TOTAL)
    values = texts(sheet)
    assert f"核验码：{CODE}" in values
    assert f"数据指纹（SHA-256）：{digest}" in values
    properties = load_workbook(io.BytesIO(data)).properties
    assert CODE in properties.keywords and digest in properties.keywords
    assert CODE in properties.description and digest in properties.description
    assert properties.identifier == CODE
    assert "钦南区" in properties.subject and "第2版" in properties.subject
    assert properties.title.startswith("钦南区")


def test_the_data_fingerprint_follows_the_numbers_only():
    assert data_digest(ROWS, TOTAL) == data_digest(
        [(name, {str(c): v for c, v in values.items()}) for name, values in ROWS], TOTAL
    )
    changed = {**TOTAL, 6: TOTAL[6] + 1}
    assert data_digest(ROWS, changed) != data_digest(ROWS, TOTAL)


def test_the_seal_image_sits_over_the_unit_at_about_four_cm(data, sheet):
    assert len(sheet._images) == 1
    picture = sheet._images[0]
    marker = picture.anchor._from
    assert (marker.col, marker.row) == (0, 0)  # over 县区（盖章）：钦南区 in A2
    shown = max(picture.anchor.ext.width, picture.anchor.ext.height) / 9525  # EMU per pixel
    assert 145 <= shown <= 155  # 4 cm at 96 dpi is 151 px
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        media = [n for n in archive.namelist() if n.startswith("xl/media/")]
        assert len(media) == 1
        stored = Image.open(io.BytesIO(archive.read(media[0])))
    assert stored.mode == "RGBA"
    assert stored.getpixel((2, 2))[3] == 0  # the white paper is transparent


def test_a_jpeg_seal_is_accepted_and_made_transparent():
    image = Image.open(io.BytesIO(seal_png(seal_bytes("JPEG", size=1200))))
    assert image.mode == "RGBA" and image.getpixel((1, 1))[3] == 0
    assert max(image.size) == 472  # 4 cm at 300 dpi is enough for print


def test_without_a_seal_there_is_no_picture():
    sheet = load_workbook(io.BytesIO(stamped(seal=False))).active
    assert sheet._images == []


def test_the_sheet_is_protected_and_prints_landscape_on_a4_fit_to_width(sheet):
    assert sheet.protection.sheet is True
    assert sheet.protection.password  # stored hashed
    setup = sheet.page_setup
    assert setup.orientation == "landscape"
    assert str(setup.paperSize) == sheet.PAPERSIZE_A4
    assert int(setup.fitToWidth) == 1 and int(setup.fitToHeight) == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True


def test_it_revalidates_clean(data, tmp_path, capsys):
    parsed = read_summary(data)
    assert parsed.errors == [] and parsed.violations == []
    assert [label for label, _ in parsed.rows] == ["沙埠镇", "康熙岭镇"]
    assert parsed.total[1] == TOTAL
    path = tmp_path / "stamped.xlsx"
    path.write_bytes(data)
    call_command("validate_summary", str(path), "--format", "json")
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_the_code_is_read_back_from_the_properties_or_else_the_footer(data):
    assert code_in_file(data) == CODE
    workbook = load_workbook(io.BytesIO(data))
    properties = workbook.properties
    properties.keywords = properties.description = properties.identifier = None
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert code_in_file(buffer.getvalue()) == CODE
    assert code_in_file(b"not a workbook") == ""


OFFICE = shutil.which("libreoffice") or shutil.which("soffice")
needs_libreoffice = pytest.mark.skipif(OFFICE is None, reason="LibreOffice is not installed")


def convert(data: bytes, tmp_path, to: str) -> bytes:
    """``libreoffice --headless --convert-to`` in a profile of its own (tests run in parallel)."""
    source = tmp_path / "汇总表.xlsx"
    source.write_bytes(data)
    out = tmp_path / "out"
    result = subprocess.run(
        [
            OFFICE,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            to,
            "--outdir",
            str(out),
            str(source),
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return (out / f"汇总表.{to}").read_bytes()


@needs_libreoffice
def test_libreoffice_converts_it_to_pdf(data, tmp_path):
    assert convert(data, tmp_path, "pdf").startswith(b"%PDF")


@needs_libreoffice
def test_a_copy_resaved_by_libreoffice_keeps_the_code_and_the_numbers(data, tmp_path):
    copy = convert(data, tmp_path, "xlsx")
    assert copy != data and code_in_file(copy) == CODE
    parsed = read_summary(copy)
    assert parsed.errors == [] and parsed.violations == []
    assert data_digest(parsed.rows, parsed.total[1]) == data_digest(ROWS, TOTAL)


# The file a real county submission stores -------------------------------------------------


@pytest.mark.django_db
def test_a_county_submission_stores_a_stamped_file_that_revalidates(tree, users):
    from regions.choices import Role

    survey = SurveyRoundFactory(county=tree.county, name="2022年摸排")
    surveyor_v3 = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    entry = open_entry(users.surveyor, survey, ToiletFactory(household__village=tree.v1))
    drive(entry, township=users.township, surveyor=users.surveyor, to="closed")
    open_entry(surveyor_v3, survey, ToiletFactory(household__village=tree.v3))
    complete_round(survey)
    Seal.objects.create(
        region=tree.county,
        uploaded_by=users.county,
        image=SimpleUploadedFile("seal.png", seal_bytes()),
    )
    filler = {
        "filler_name": "陈志明",
        "filler_phone": "0777-1234567",
        "filled_on": SUBMITTED_AT.date(),
    }
    for actor, township in ((users.township, tree.t1), (users.township_t2, tree.t2)):
        submission = services.submit_township(
            actor=actor, survey_round=survey, township=township, **filler
        )
        services.accept_submission(actor=users.county, submission=submission)
    final = services.submit_county(
        actor=users.county, survey_round=survey, county=tree.county, **filler
    )

    data = final.file.read()
    parsed = read_summary(data)
    assert parsed.errors == [] and parsed.violations == []
    assert [label for label, _ in parsed.rows] == ["沙埠镇", "康熙岭镇"]
    assert parsed.total[1][6] == 2 and parsed.total[1][29] == 1
    sheet = load_workbook(io.BytesIO(data)).active
    assert f"核验码：{final.code}" in texts(sheet) and len(sheet._images) == 1
    assert load_workbook(io.BytesIO(data)).properties.identifier == final.code
    digest = data_digest(services.submission_rows(final), final.total)
    assert f"数据指纹（SHA-256）：{digest}" in texts(sheet)
    assert final.sources["seal"] is True

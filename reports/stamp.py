"""The county's stamped summary spreadsheet.

1. The official layout from ``reports.sheet.write_summary`` (title, 县区（盖章）, 单位：个, the
   merged header, the 1…33 row, the rows, 合计, 填报人/联系电话/填报日期, 填报说明).
2. The unit's seal image (white made transparent, about 4 cm) over 县区（盖章）：<unit>.
3. Under the notes, the verification code and the data fingerprint: the SHA-256 of the
   canonical JSON of the frozen numbers. The file's own SHA-256 cannot be inside the file; it
   is recorded on the submission and shown on its page and on the verify page.
4. The code and the fingerprint in the document properties too, so a re-saved copy can still
   be matched to its submission.
4a. Under them the frozen coverage (摸排覆盖) and the exceptions recorded for toilets without a
   verified inspection (例外说明), also in the description and as custom properties.
5. The sheet protected against accidental edits; printed landscape on A4, fit to the width.
"""

import datetime
import hashlib
import io
import json
import re

from openpyxl import Workbook, load_workbook
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, OneCellAnchor
from openpyxl.drawing.xdr import XDRPositiveSize2D
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.units import pixels_to_EMU
from openpyxl.worksheet.page import PageMargins
from PIL import Image, ImageChops, ImageOps

from .columns import COLUMNS
from .sheet import (
    HEADER_TOP,
    MAX_COLUMNS,
    MAX_MEMBER,
    NOTES,
    SheetFormatError,
    check_container,
    parse_limited,
    write_summary,
)

SEAL_CM = 4.0
SCREEN_DPI = 96  # openpyxl sizes a picture in pixels at 96 dpi
PRINT_DPI = 300
SEAL_PIXELS = round(SEAL_CM / 2.54 * SCREEN_DPI)  # the size it shows at (about 151 px)
SEAL_RENDER_PIXELS = round(SEAL_CM / 2.54 * PRINT_DPI)  # the size it is stored at, for print
SEAL_LEFT_PIXELS = 55  # the seal's centre falls on the unit's name after 县区（盖章）：
LEAF_ROW_POINTS = 66
WHITE_CUTOFF = 235  # paler than this (0–255 grey) is the paper behind the seal
# Protection against accidental edits only, as the printed form would be: the file's integrity
# is its SHA-256 recorded on the submission, not this password.
SHEET_PASSWORD = "huce-summary"
CREATOR = "农村户厕问题摸排整改系统"
CODE_LABEL = "核验码"
DIGEST_LABEL = "数据指纹（SHA-256）"
COVERAGE_LABEL = "摸排覆盖"
EXCEPTIONS_LABEL = "例外说明"
PROPERTY_MAX = 255  # Excel's limit for a custom document property's text
# "核验码：CODE" in the footer, "核验码:CODE" in the keywords ("核验码 CODE" once LibreOffice
# has re-saved them).
CODE_PATTERN = re.compile(r"核验码\s*[:：]?\s*([A-Za-z0-9]{6,16})")
BARE_CODE = re.compile(r"[A-Za-z0-9]{6,16}")
SCAN_ROWS = 3000  # a stamped sheet's footer is within its first rows


def _values(values: dict) -> list[int]:
    return [int(values.get(str(c), values.get(c, 0))) for c in COLUMNS]


def canonical_numbers(rows: list[tuple[str, dict]], total: dict) -> bytes:
    """The frozen numbers as canonical JSON: each row's label with its 33 values in column order,
    then 合计. A stored submission and a sheet read back from a file give the same bytes when
    their numbers are the same."""
    data = {
        "rows": [[str(name), _values(values)] for name, values in rows],
        "total": _values(total),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def data_digest(rows: list[tuple[str, dict]], total: dict) -> str:
    return hashlib.sha256(canonical_numbers(rows, total)).hexdigest()


def _property(lines: list[str]) -> str:
    text = "；".join(line.strip() for line in lines) or "无"
    return text if len(text) <= PROPERTY_MAX else text[: PROPERTY_MAX - 1] + "…"


def seal_png(data: bytes) -> bytes:
    """The seal at print size with its white paper made transparent, so that it sits over the
    text like a real stamp."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGBA")
    image.thumbnail((SEAL_RENDER_PIXELS, SEAL_RENDER_PIXELS))
    ink = image.convert("L").point(lambda v: 0 if v > WHITE_CUTOFF else 255)
    image.putalpha(ImageChops.multiply(image.getchannel("A"), ink))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _place_seal(sheet, data: bytes):
    """Over 县区（盖章）：<unit> (A2), the way a stamp is pressed over the unit's name; from the
    top of the sheet since the seal is taller than the two rows above the header."""
    picture = SheetImage(io.BytesIO(seal_png(data)))
    scale = SEAL_PIXELS / max(picture.width, picture.height)
    width, height = round(picture.width * scale), round(picture.height * scale)
    picture.width, picture.height = width, height
    picture.anchor = OneCellAnchor(
        _from=AnchorMarker(col=0, colOff=pixels_to_EMU(SEAL_LEFT_PIXELS), row=0, rowOff=0),
        ext=XDRPositiveSize2D(pixels_to_EMU(width), pixels_to_EMU(height)),
    )
    sheet.add_image(picture)


def stamped_workbook(
    *,
    title: str,
    unit: str,
    row_label: str,
    rows: list[tuple[str, dict]],
    total: dict,
    filler: str,
    phone: str,
    filled_on: datetime.date,
    bucket_labels: list[str] | None,
    code: str,
    version: int,
    round_name: str,
    submitted_at: datetime.datetime,
    seal: bytes | None = None,
    coverage_notes: list[str] | None = None,
) -> bytes:
    """The stamped .xlsx of one county submission (see the module docstring)."""
    digest = data_digest(rows, total)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "汇总表"
    layout = write_summary(
        sheet,
        title=title,
        unit=unit,
        row_label=row_label,
        rows=rows,
        total=total,
        filler=filler,
        phone=phone,
        filled_on=filled_on,
        bucket_labels=bucket_labels,
    )
    for row in (HEADER_TOP + 1, HEADER_TOP + 2):
        # the longest leaf titles (第3、7、30列) take five lines in a column 7 characters wide
        sheet.row_dimensions[row].height = LEAF_ROW_POINTS
    if seal:
        _place_seal(sheet, seal)

    proof_row = layout.footer_row + len(NOTES) + 2
    sheet.cell(row=proof_row, column=1, value=f"{CODE_LABEL}：{code}").font = Font(bold=True)
    sheet.cell(row=proof_row + 1, column=1, value=f"{DIGEST_LABEL}：{digest}")
    sheet.cell(
        row=proof_row + 2,
        column=1,
        value=(
            f"{round_name} · 第{version}版 · 报送时间 "
            f"{submitted_at:%Y-%m-%d %H:%M}。核验：在系统“汇总表核验”页输入核验码或上传本文件。"
        ),
    )

    coverage_notes = list(coverage_notes or [])
    for offset, line in enumerate(coverage_notes, start=3):
        sheet.cell(row=proof_row + offset, column=1, value=line)
    last_row = proof_row + 2 + len(coverage_notes)

    properties = workbook.properties
    properties.title = title
    properties.subject = f"{unit} · {round_name} · 第{version}版"
    properties.keywords = f"{CODE_LABEL}:{code}; 数据指纹:{digest}"
    properties.description = "\n".join(
        [f"{CODE_LABEL}：{code}", f"{DIGEST_LABEL}：{digest}", *coverage_notes]
    )
    properties.identifier = code
    properties.creator = CREATOR
    properties.created = submitted_at.astimezone(datetime.UTC).replace(tzinfo=None)
    workbook.custom_doc_props.append(StringProperty(name=CODE_LABEL, value=code))
    workbook.custom_doc_props.append(StringProperty(name="数据指纹", value=digest))
    if coverage_notes:
        workbook.custom_doc_props.append(
            StringProperty(name=COVERAGE_LABEL, value=_property(coverage_notes[:1]))
        )
        workbook.custom_doc_props.append(
            StringProperty(name=EXCEPTIONS_LABEL, value=_property(coverage_notes[1:]))
        )

    sheet.protection.sheet = True
    sheet.protection.set_password(SHEET_PASSWORD)

    setup = sheet.page_setup
    setup.orientation = "landscape"
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    last_letter = get_column_letter(1 + len(COLUMNS))
    sheet.print_area = f"A1:{last_letter}{last_row}"

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def code_in_file(data: bytes, *, max_member: int = MAX_MEMBER) -> str:
    """The verification code a (possibly re-saved) stamped file carries: from its document
    properties, else from the footer line; '' when there is none or the file can't be read.
    Checked and read under the limits of ``sheet.read_summary``."""
    try:
        check_container(data, max_member=max_member)
        return parse_limited(_code_in_file, data)
    except SheetFormatError:
        return ""


def _code_in_file(data: bytes) -> str:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file
        return ""
    try:
        properties = workbook.properties
        if properties.identifier and BARE_CODE.fullmatch(properties.identifier):
            return properties.identifier.upper()
        for text in (properties.keywords, properties.description):
            match = CODE_PATTERN.search(text or "")
            if match:
                return match.group(1).upper()
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(max_row=SCAN_ROWS, max_col=MAX_COLUMNS, values_only=True)
            for row in rows:
                for value in row:
                    match = CODE_PATTERN.search(value) if isinstance(value, str) else None
                    if match:
                        return match.group(1).upper()
    finally:
        workbook.close()
    return ""

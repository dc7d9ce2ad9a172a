"""Hostile spreadsheets, built in the tests themselves (issue 16, findings 1 and 2).

``shared_strings_bomb(mb)``: a real workbook whose ``xl/sharedStrings.xml`` is replaced by
``mb`` megabytes of one repeated string, deflated (a few hundred KB on disk).
``padding=`` adds a member of that many random bytes stored uncompressed, which lifts the
whole file's size so that a ratio taken over the whole archive lets the bomb through.
"""

import io
import os
import zipfile

from openpyxl import Workbook

SST_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
SST_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
SST_REL = (
    b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/sharedStrings" Target="sharedStrings.xml" Id="rId99"/>'
)
SST_ITEM = b"<si><t>x</t></si>"  # 17 bytes: many strings, the costly kind


def base_workbook(rows=(("乡镇", "区划代码", "身份证号"), ("沙埠镇", "450702", "x"))) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def shared_strings_bomb(mb: float, *, padding: int = 0, item: bytes = SST_ITEM) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(base_workbook()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", SST_TYPE + b"</Types>")
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", SST_REL + b"</Relationships>")
            archive.writestr(info.filename, data)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            member.write(SST_HEAD)
            left = int(mb * 1024 * 1024 // len(item))  # items still to write
            per_block = 1024 * 1024 // len(item)
            while left > 0:
                member.write(item * min(left, per_block))
                left -= per_block
            member.write(b"</sst>")
        if padding:
            archive.writestr(
                zipfile.ZipInfo("xl/media/padding.bin"),
                os.urandom(padding),
                compress_type=zipfile.ZIP_STORED,
            )
    return buffer.getvalue()


def expanded(data: bytes) -> int:
    return sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())

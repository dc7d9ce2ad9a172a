"""Writes to the region tree: importing the official 统计用区划代码 list."""

import csv
import io
import logging
from dataclasses import dataclass, field

from django.db import transaction

from . import codes
from .choices import Level
from .models import Region

logger = logging.getLogger(__name__)

CODE_HEADER = "区划代码"
NAME_HEADER = "名称"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class RegionImportError(Exception):
    """The whole file is refused; ``errors`` has one Chinese message per bad line."""

    errors: list[str] = field(default_factory=list)

    def __str__(self):
        return "\n".join(self.errors)


def decode_region_file(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GBK/GB18030 as exported by Excel on Windows."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise RegionImportError(
            ["文件编码无法识别：请保存为 UTF-8 或 GBK 编码的 CSV 文件。"]
        ) from exc


def parse_region_rows(text: str) -> dict[str, str]:
    """Parse and check the file; returns {code: name} or raises RegionImportError.

    1. The header must name the columns 区划代码 and 名称 (other columns are ignored).
    2. Each line needs a 12-digit code and a name; a code repeated with another name is refused.
    3. Every code's parent (derived from its digits) must be in the file or already loaded.
    """
    reader = csv.reader(io.StringIO(text))
    errors: list[str] = []
    header = next(reader, None)
    header = [cell.strip() for cell in header] if header else []
    if CODE_HEADER not in header or NAME_HEADER not in header:
        raise RegionImportError(
            [
                f"第 1 行：表头必须包含“{CODE_HEADER}”和“{NAME_HEADER}”两列，实际为：{','.join(header)}"
            ]
        )
    code_col, name_col = header.index(CODE_HEADER), header.index(NAME_HEADER)

    names: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        code = row[code_col].strip() if len(row) > code_col else ""
        name = row[name_col].strip() if len(row) > name_col else ""
        if not codes.is_valid_code(code):
            errors.append(f"第 {line_no} 行：区划代码“{code}”不是有效的 12 位数字代码")
            continue
        if not name:
            errors.append(f"第 {line_no} 行：区划代码 {code} 缺少名称")
            continue
        if code in names:
            if names[code] != name:
                errors.append(
                    f"第 {line_no} 行：区划代码 {code} 与第 {first_line[code]} 行重复，"
                    f"但名称不同（“{names[code]}”与“{name}”）"
                )
            continue
        names[code] = name
        first_line[code] = line_no

    parents = {code: codes.parent_code(code) for code in names}
    wanted = {p for p in parents.values() if p and p not in names}
    known = set(Region.objects.filter(code__in=wanted).values_list("code", flat=True))
    for code, parent in parents.items():
        if parent and parent not in names and parent not in known:
            errors.append(
                f"第 {first_line[code]} 行：区划代码 {code}（{names[code]}）的上级 {parent} "
                "既不在文件中，也不在系统中"
            )
    if errors:
        raise RegionImportError(sorted(errors, key=_line_of))
    return names


def _line_of(message: str) -> int:
    return int(message.split(" ")[1]) if message.startswith("第 ") else 0


@transaction.atomic
def import_regions(raw: bytes, *, actor=None, dry_run: bool = False) -> ImportResult:
    """Load a region file all-or-nothing; re-importing the same file changes nothing.

    Names of existing codes are updated (codes are re-issued yearly); nothing is deleted.
    """
    names = parse_region_rows(decode_region_file(raw))
    existing = {r.code: r for r in Region.objects.filter(code__in=names)}
    result = ImportResult()
    renamed = []
    for code, name in names.items():
        region = existing.get(code)
        if region is None:
            continue
        if region.name != name:
            region.name = name
            renamed.append(region)
        else:
            result.unchanged += 1
    result.updated = len(renamed)
    if dry_run:
        result.created = len(names) - len(existing)
        transaction.set_rollback(True)
        return result
    Region.objects.bulk_update(renamed, ["name"], batch_size=1000)

    # Create top-down so that every parent has an id before its children are written.
    new_codes = [c for c in names if c not in existing]
    ids = dict(Region.objects.filter(code__in=_all_parents(names)).values_list("code", "id"))
    for level in Level:
        batch = [
            Region(
                code=c,
                name=names[c],
                level=level,
                parent_id=ids.get(codes.parent_code(c)) if codes.parent_code(c) else None,
            )
            for c in new_codes
            if codes.level_of(c) == level
        ]
        if not batch:
            continue
        Region.objects.bulk_create(batch, batch_size=1000)
        ids.update(
            Region.objects.filter(code__in=[r.code for r in batch]).values_list("code", "id")
        )
        result.created += len(batch)
    logger.info(
        "regions imported by %s: %s created, %s updated, %s unchanged",
        actor or "command line",
        result.created,
        result.updated,
        result.unchanged,
    )
    return result


def _all_parents(names: dict[str, str]) -> set[str]:
    return {p for p in (codes.parent_code(c) for c in names) if p}

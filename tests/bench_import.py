"""The ledger import benchmark (``python -m tests.bench --only import --import-rows N``).

Writes an N-row ledger (one row per toilet, ~2 % public toilets, ~5 % second toilets of a
household, ~15 % problem toilets of which a third closed out) into a county of 20 townships ×
20 villages, then times, on the same file:

1. calamine alone reading every row (what ``imports.reader`` uses) — the floor;
2. the upload check before calamine sees the file (``core.uploads.check_spreadsheet``);
3. ``import_ledger`` into an empty county (check + write), rows per second;
4. the same file again (every row matched, nothing written) — the re-import;
5. openpyxl's read-only read of the same file, once, for comparison (the reader before).

The goal: the import adds at most 2× on top of reading (import ≤ 3 × read).
"""

import os
import platform
import random
import resource
import tempfile
import time

from django.db import connection
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook

SECTION = "## Ledger import"
TOWNSHIPS = 20
VILLAGES = 20


def _regions():
    from regions.choices import Level
    from regions.models import Region

    def region(code, name, level, parent):
        return Region.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "parent": parent}
        )[0]

    province = region("460000000000", "海南省", Level.PROVINCE, None)
    city = region("460100000000", "海口市", Level.CITY, province)
    county = region("460105000000", "秀英区", Level.COUNTY, city)
    villages = []
    for t in range(TOWNSHIPS):
        township = region(f"460105{100 + t:03d}000", f"镇{t}", Level.TOWNSHIP, county)
        for v in range(VILLAGES):
            code = f"460105{100 + t:03d}{200 + v:03d}"
            villages.append(region(code, f"村{t}-{v}", Level.VILLAGE, township))
    return county, villages


def write_file(path, n_rows, villages, rng):
    from imports.columns import HEADERS
    from surveys.choices import PROBLEM_CATEGORIES
    from toilets.identity import check_character

    techs = ["三格化粪池式", "双瓮漏斗式", "完整下水道水冲式", "双坑交替式"]
    names = [name for _code, name, _column in PROBLEM_CATEGORIES]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("摸排台账")
    sheet.append(HEADERS)
    household = 0
    for i in range(n_rows):
        village = villages[i % len(villages)]
        tech = techs[i % len(techs)]
        problem = rng.random() < 0.15
        usability = rng.choice(["不能使用", "不能全年使用"]) if problem else "正常使用"
        categories = "、".join(rng.sample(names, rng.randint(1, 3))) if problem else ""
        closed = ("已销号" if rng.random() < 0.33 else "未销号") if problem else ""
        if rng.random() < 0.02:
            kind, head, number, public = "公厕", "", "", f"公厕{i}"
        else:
            if rng.random() >= 0.05 or household == 0:
                household += 1  # else: the previous household's second toilet
            day = household // 1000  # a birth date per 1,000 households: 1950-01-01, 1950-02-01 …
            born = f"{1950 + day // 12}{1 + day % 12:02d}01"
            first17 = f"460105{born}{household % 1000:03d}"
            kind, head, number, public = "户厕", f"户主{household}", "", ""
            number = first17 + check_character(first17)
            village = villages[household % len(villages)]
        sheet.append(
            [
                village.code, "一组", kind, head, number, "13812345678", public, tech,
                "旱厕" if tech == "双坑交替式" else "水冲厕所", 2010 + i % 12,
                "财政支持" if i % 3 else "自建", usability, categories, closed,
                "李明", "2022-05-10",
            ]
        )  # fmt: skip
    workbook.save(path)


def calamine_read(path) -> float:
    start = time.perf_counter()
    with open(path, "rb") as handle:
        workbook = CalamineWorkbook.from_filelike(handle)
        count = sum(1 for _ in workbook.get_sheet_by_index(0).iter_rows())
        workbook.close()
    assert count > 0
    return time.perf_counter() - start


def openpyxl_read(path) -> float:
    start = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert count > 0
    return time.perf_counter() - start


def container_check(path) -> float:
    from imports.reader import check_container

    start = time.perf_counter()
    check_container(path)
    return time.perf_counter() - start


def import_section(args, command_line) -> str:
    from imports.engine import import_ledger

    n_rows = args.import_rows
    rng = random.Random(2022)
    _county, villages = _regions()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ledger.xlsx")
        start = time.perf_counter()
        write_file(path, n_rows, villages, rng)
        write_s = time.perf_counter() - start
        size_mb = os.path.getsize(path) / 1024 / 1024

        read_s = min(calamine_read(path) for _ in range(3))
        check_s = min(container_check(path) for _ in range(3))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        result = import_ledger(path, round_name="2022年摸排")
        import_s = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert result.saved, result.errors[:5]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        start = time.perf_counter()
        again = import_ledger(path, round_name="2022年摸排")
        reimport_s = time.perf_counter() - start
        assert again.saved and again.counts["toilets_created"] == 0
        assert again.counts["inspections_updated"] == 0
        openpyxl_s = openpyxl_read(path)

    counts = result.counts
    ratio = import_s / read_s
    lines = [
        SECTION,
        "",
        f"Command: `{command_line}` with `DATABASE_URL` on {connection.vendor}.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; measured {time.strftime('%Y-%m-%d')}.",
        f"File: {n_rows} rows × 16 columns, {size_mb:.1f} MB (written in {write_s:.1f} s); "
        f"{counts['households_created']} households, {counts['toilets_created']} toilets, "
        f"{counts['inspections_created']} inspections, {counts['entries_opened']} ledger "
        f"entries ({counts['entries_closed']} closed out) created.",
        "",
        "| what | seconds | rows/s | × calamine read |",
        "|---|---:|---:|---:|",
        f"| calamine alone: read every row (best of 3) | {read_s:.1f} | "
        f"{n_rows / read_s:,.0f} | 1.00 |",
        f"| upload check before reading (`check_spreadsheet`, best of 3) | {check_s:.2f} | "
        f"{n_rows / check_s:,.0f} | {check_s / read_s:.2f} |",
        f"| `import_ledger` into an empty county (check + write) | {import_s:.1f} | "
        f"{n_rows / import_s:,.0f} | {ratio:.2f} |",
        f"| the same file again (all matched, nothing written) | {reimport_s:.1f} | "
        f"{n_rows / reimport_s:,.0f} | {reimport_s / read_s:.2f} |",
        f"| for comparison: openpyxl read-only, every row (once) | {openpyxl_s:.1f} | "
        f"{n_rows / openpyxl_s:,.0f} | {openpyxl_s / read_s:.2f} |",
        "",
        f"The import adds {ratio - 1:.2f}× on top of reading (goal: at most 2×). "
        f"Peak resident memory of the process grew from {rss_before / 1024:.0f} MB to "
        f"{rss_after / 1024:.0f} MB during the import (rows are kept as slotted tuples between "
        "checking and writing; writes go in chunks of 5,000 rows, 2,000 per statement).",
        "",
    ]
    print(
        f"import: calamine read {read_s:.1f}s, check {check_s:.2f}s, import {import_s:.1f}s "
        f"({ratio:.2f}× read), re-import {reimport_s:.1f}s, openpyxl read {openpyxl_s:.1f}s"
    )
    return "\n".join(lines)

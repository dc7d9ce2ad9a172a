"""The ledger import benchmark (``python -m tests.bench --only import --import-rows N``).

Writes an N-row ledger (one row per toilet, ~2 % public toilets, ~5 % second toilets of a
household, ~15 % problem toilets of which a third closed out) into a county of 20 townships ×
20 villages, then times, on the same file:

1. calamine alone reading every row (what ``imports.reader`` uses) — the floor;
2. the upload check before calamine sees the file (``core.uploads.check_spreadsheet``);
3. ``import_ledger`` into an empty county (check + write), rows per second;
4. the same file again (every row matched, nothing written) — the re-import;
5. openpyxl's read-only read of the same file, once, for comparison (the reader before).

The goal (issue 12): import and re-import each ≤ 4 × calamine's read, peak memory ≤ 500 MB.
Both imports run with light timers around the engine's phases (``Phases``), for the "where
the time goes" table.
"""

import contextlib
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
NOTES = """Notes on the ledger import (issue 12, "Speed"):

- The figures above were taken on a quiet machine (load average about 1). The host differs
  from session to session (the same load cycle cost 2.2× less CPU on 2026-12-06 evening than
  that morning), and wall times vary by a factor of two or more when others run suites on
  it, which is why the ratio is against calamine's read in the same run and why CPU seconds
  are given too.
- The latest round (2026-12-06 evening, surveys 0009 and toilets 0003): indexes that another
  index already leads with were dropped (an inspection's round and surveyor; a household's
  and a toilet's village), and the history tables' indexes by village, household, round,
  surveyor and verifier, which nothing reads by; the history rows' user and the
  inspection's copy of its toilet's village are no longer checked by a foreign key (the
  triggers take the village from the toilet, whose own foreign key is checked). Per
  100,000-row import that is about 1 million fewer index entries and 400,000 fewer
  foreign-key checks. Measured back to back on the quiet machine: first import 17.0 s →
  14.8 s (14.7× → 12.3× a 1.2 s read), the backend's CPU 11.6 → 9.4 s; the re-import did
  not change (7.6 s, 6.4–6.6×). A lock on the toilet in the inspection's trigger (tried for
  issue 16 and withdrawn: it deadlocked) cost nothing measurable here (17.5 s without it,
  17.0 s with).
- History: with openpyxl the import took 54.4 s and the re-import 54.6 s (2026-11-23); with
  calamine, before the first round of work, 32.6 s and 26.9 s (16× a 2.0 s read); after it,
  17.5 s and 9.6 s on a quiet machine (13.6× and 7.5×). Since then triggers were added that
  fire on the import's writes (surveys 0005/0006: an inspection's village follows its
  toilet; reports 0005: village version counters). Measured again before this round
  (2026-12-06, same command, machine less busy): 28.5 s and 18.5 s against a 1.8 s read
  (16.2× and 10.3×); the commit (deferred foreign-key checks) alone 6.9 s.
- What changed in this round, behaviour unchanged (same rows, history and log rows, every
  error of every row, all or nothing, scoping):
  - Reading and checking run side by side: the reading child (`imports.reader`, calamine
    under a time and memory limit) writes its rows as numbered frames to the temporary file
    and the import checks each frame as it lands (`os.pread` at its own offset), instead of
    waiting for the whole sheet. `rows.clean_row` asks the date once a day rather than per
    row; an ID number whose birth date was already found valid only has its check character
    worked out (one weighted sum over its bytes), the full check otherwise.
  - On PostgreSQL the COPYs run in a thread of their own on the same connection
    (`bulk.Pipeline`): the server stores a chunk's households while Python makes its
    toilets, and so on; foreign keys are checked as each COPY ends (`SET CONSTRAINTS ALL
    IMMEDIATE` for the write, every row being written after the rows it refers to) instead
    of all at the commit, when nothing else could go on. A constraint violation in the
    thread is raised as Django's `IntegrityError` and refused like one at the commit. Ids are
    drawn once per table; category and log rows are numbered by the database.
  - The re-import: `IN` lists go as one text array literal (psycopg adapting 100,000
    values was seconds); the round's inspections and the ledger's entries of the registered
    toilets are read once for all chunks (57 queries instead of 150); the local day of an
    inspection comes from the database (no aware datetimes loaded); a usable row whose
    finding has not changed skips the ledger decision (`findings.decide` does nothing for
    it); stored values are compared as lists.
- Where the first import's time goes now: the PostgreSQL backend. Its CPU for the import is
  18–21 s against 1.7–2.4 s of CPU for calamine's read, so no change to the import's own
  code can bring the first import to 4×. Inserting the same 100,000 rows again inside a
  transaction with `EXPLAIN ANALYZE` (rolled back, busy machine) showed: storing rows with
  their index entries about 7.6 s (households 1.3 s and their history 0.65 s, toilets 1.2 s
  and 0.9 s, inspections 2.4 s and 1.0 s, categories 0.2 s), of which the
  `surveys_inspection_village` row trigger (surveys 0006, one plpgsql call and lookup per
  inspection) 1.1 s; the reports' statement-level version triggers 0.03–0.05 s each;
  checking the foreign keys about 7 s (some 1.3 million checks: an inspection has five, each
  history row one to its user).
- The two reference rows (2026-12-06, from this benchmark on) run the first import again into
  the emptied county with the database's own checks switched off for the session
  (`session_replication_role = replica`; superuser, the throw-away database only): once
  without the foreign keys' row-by-row checks, once without triggers too. They are what no
  change to the import's code can beat while it keeps writing the same rows. Three runs on
  2026-12-06 evening UTC, 12-07 Beijing time as the header dates it (real import / no
  foreign keys / no checks at all, against the read):
  20.0 / 16.6 / 15.3 s (1.4 s read: 14.5× / 12.0× / 11.1×), 17.1 / 15.1 / 13.3 s (1.2 s:
  14.2× / 12.6× / 11.2×), 15.8 / 15.0 / 11.6 s (1.2 s: 13.2× / 12.5× / 9.7×). In the last,
  with no checks at all, the backend still spent 4.8 s of CPU storing the rows (each
  household, toilet and inspection with its history row and index entries, one backend for
  one all-or-nothing transaction), this process 5.4 s and the reading child 2.9 s: 13.1 s
  of CPU, which even spread perfectly over this machine's 2 cores is 6.6 s, 5.5× the read.
  So the ≤ 4× goal for the first import is out of reach on this machine without writing
  fewer rows (no history row for an imported record, fewer indexes) or a database with
  cores of its own. The re-import (CPU 4.6 + 2.5 + 1.5 s in the last run: at least 4.3 s
  on 2 cores, 3.6× the read, before any wait) has no margin left either; its floor is the
  check phase (the reading child's calamine parse and cell conversion, about 2× the read on
  its own) plus reading what is registered.
- What is left of the server's work: storing about 600,000 rows with some 25 index entries
  per imported row, about 700,000 foreign-key checks (a household's village; a toilet's
  village and household; an inspection's round, toilet, surveyor and verifier), and the
  per-row village trigger. PostgreSQL checks a foreign key row by row, and one connection
  (one transaction: all or nothing) is one backend on one core, so the first import stays
  several times calamine's read whatever the import's own code does; 4× would take writing
  without those checks (dropping the constraints during an import would lock the tables
  for every other county). A larger `shared_buffers` than this server's 128 MB would help
  a little.
- The re-import (nothing written) is bounded by reading and checking the file: the reading
  child (calamine, then picking and converting 16 cells a row, 2.6 s of CPU against 1.2 s
  for calamine alone) is the slower side of the check phase, then about 1.6 s of the
  server reading the round's inspections and entries and 1.5 s of matching.
- Before and after, measured back to back on the same busy machine (load average 4–6, the
  version before this round from commit a832758): the first import took 47.1 s (13.2× a
  3.6 s read) before and 46.5 s (12.7× a 3.7 s read) after — on a saturated machine running
  two things at once gains nothing, and the first import's CPU is what it was (this
  process about 7 s, the reading child about 4 s, the backend 19–22 s). The re-import's
  client CPU fell from 9.1–9.3 s to 6.0–6.4 s and its query time from 9.3 s in 150 queries
  to 4.6 s in 57. On a machine with idle cores (or a database on a server of its own)
  the overlaps should show in wall time: the first import's
  write phase is then bounded by the backend's work alone, no longer by it plus Python's,
  and the check phase by the slower of reading and checking rather than their sum.
"""
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


class Phases:
    """Wall time spent in each phase of ``import_ledger``: timers wrapped around the engine's
    functions for the length of a ``with`` (a few hundred calls per import, so they cost
    nothing measurable). Nested phases (COPY inside a write step, history inside COPY) are
    counted in both."""

    ROWS = [
        ("check", "read + check every row (`_check_rows`: the reading child + `rows.clean_row`)"),
        ("resolve", "resolve villages, households, toilets (`_resolve`)"),
        ("write", "write (`_Writer.write`, all chunks)"),
        ("households", "… households (`_Writer._households`)"),
        ("toilets", "… toilets (`_Writer._toilets`)"),
        ("inspections", "… inspections (`_Writer._inspections`)"),
        ("ledger", "… ledger entries and log (`_Writer._ledger`, `findings.decide`)"),
        (
            "copy",
            "… new rows handed to `bulk.Inserter.insert` (PostgreSQL: tuples made and queued "
            "for the COPY thread; SQLite: `bulk_create`)",
        ),
        ("history", "… of which history rows' tuples (`Inserter._history_rows`, PostgreSQL)"),
        (
            "wait",
            "… waiting for the COPY thread (`bulk.Pipeline`: the server storing the rows, "
            "their history and index entries, checking foreign keys, running triggers)",
        ),
        ("commit", "commit"),
    ]
    TOP = ("check", "resolve", "write", "commit")

    def __init__(self):
        self.seconds = dict.fromkeys([key for key, _ in self.ROWS], 0.0)

    def _timed(self, key, function):
        seconds = self.seconds

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[key] += time.perf_counter() - start

        return timed

    @contextlib.contextmanager
    def timing(self):
        from imports import bulk, engine

        patches = [
            (engine, "_check_rows", "check"),
            (engine, "_resolve", "resolve"),
            (engine._Writer, "write", "write"),
            (engine._Writer, "_households", "households"),
            (engine._Writer, "_toilets", "toilets"),
            (engine._Writer, "_inspections", "inspections"),
            (engine._Writer, "_ledger", "ledger"),
            (bulk.Inserter, "insert", "copy"),
            (bulk.Inserter, "_history_rows", "history"),
            (bulk.Pipeline, "_result", "wait"),
        ]
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
        for (owner, name, key), (_, _, original) in zip(patches, originals, strict=True):
            setattr(owner, name, self._timed(key, original))
        connection.commit = self._timed("commit", connection.commit)
        try:
            yield self
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)
            del connection.commit


def reader_read(path) -> float:
    """``imports.reader.LedgerSheet`` handing on every row (calamine + header finding)."""
    from imports.reader import LedgerSheet

    start = time.perf_counter()
    with LedgerSheet(path) as sheet:
        count = sum(1 for _ in sheet.rows())
    assert count > 0
    return time.perf_counter() - start


SQLITE_NOTES = """Notes: on SQLite new rows go in through `bulk_create` (with
`bulk_create_with_history`), which is most of the first import; the notes on the
PostgreSQL section say where the time went and what changed. The benchmark's SQLite
database is in memory, inside the measured process, so its peak resident memory includes
the database itself (every table, index and history row written).
"""


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


class CPU:
    """CPU seconds spent in a ``with``: by this process (the COPY thread included), by the
    children that ended meanwhile (the reading child) and by the PostgreSQL backend serving
    this connection (from /proc, when the server runs on this machine; else None). Unlike
    wall time, they hardly change with what else the machine runs."""

    def __enter__(self):
        self._start = self._now()
        return self

    def __exit__(self, *exc):
        end = self._now()
        self.process, self.child, self.server = (
            None if a is None or b is None else b - a for a, b in zip(self._start, end, strict=True)
        )

    @staticmethod
    def _now():
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time(), children.ru_utime + children.ru_stime, _backend_cpu()

    def text(self) -> str:
        server = "unknown" if self.server is None else f"{self.server:.1f} s"
        return (
            f"this process {self.process:.1f} s, the reading child {self.child:.1f} s, "
            f"the PostgreSQL backend {server}"
        )


def _backend_cpu() -> float | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# (label, whether our triggers still fire: ENABLE ALWAYS under session_replication_role)
FLOORS = [
    (
        "reference: the first import again into the emptied county, foreign keys not checked "
        "(triggers kept)",
        True,
    ),
    (
        "reference: the same with neither foreign keys nor triggers (the server storing the "
        "rows and their index entries)",
        False,
    ),
]


def _floor_runs(path) -> list[tuple[str, float, "CPU"]]:
    """The first import again, into the emptied county, with the database's own checks
    switched off in this session (PostgreSQL, superuser only; the throw-away test database):
    what the server's storing costs without the foreign keys' row-by-row checks, and without
    the triggers too. References for the notes, not a way to import."""
    from imports.engine import import_ledger

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return []
        cursor.execute(
            "SELECT tgrelid::regclass::text, quote_ident(tgname) FROM pg_trigger "
            "WHERE NOT tgisinternal"
        )
        triggers = cursor.fetchall()
    runs = []
    for label, always in FLOORS:
        _empty_county()
        with connection.cursor() as cursor:
            if always:
                for table, name in triggers:
                    cursor.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")
            cursor.execute("SET session_replication_role = replica")
        try:
            start = time.perf_counter()
            with CPU() as cpu:
                result = import_ledger(path, round_name="2022年摸排")
            runs.append((label, time.perf_counter() - start, cpu))
            assert result.saved, result.errors[:5]
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
                for table, name in triggers if always else ():
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
    _empty_county()
    return runs


def _empty_county():
    """Everything the imports wrote, gone (the regions stay)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND (tablename IN "
            "('toilets_household', 'surveys_surveyround') OR tablename LIKE '%%historical%%')"
        )
        tables = ", ".join(f'"{row[0]}"' for row in cursor.fetchall())
        cursor.execute(f"TRUNCATE {tables} CASCADE")
        cursor.execute("ANALYZE")


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
        reader_s = min(reader_read(path) for _ in range(2))
        read_cpu = time.process_time()
        calamine_read(path)
        read_cpu = time.process_time() - read_cpu
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        first, second = Phases(), Phases()
        start = time.perf_counter()
        with first.timing(), CPU() as first_cpu:
            result = import_ledger(path, round_name="2022年摸排")
        import_s = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert result.saved, result.errors[:5]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        start = time.perf_counter()
        with second.timing(), CPU() as second_cpu:
            again = import_ledger(path, round_name="2022年摸排")
        reimport_s = time.perf_counter() - start
        rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert again.saved and again.counts["toilets_created"] == 0
        assert again.counts["inspections_updated"] == 0
        floors = _floor_runs(path)
        openpyxl_s = openpyxl_read(path)

    counts = result.counts
    ratio = import_s / read_s
    reratio = reimport_s / read_s
    goal = 4.0

    def verdict(value):
        return (
            "meets the goal" if value <= goal else f"misses the goal ({value:.1f}× > {goal:.0f}×)"
        )

    phase_rows = []
    for key, label in Phases.ROWS:
        a, b = first.seconds[key], second.seconds[key]
        phase_rows.append(
            f"| {label} | {a:.2f} | {100 * a / import_s:.0f} % | {b:.2f} | "
            f"{100 * b / reimport_s:.0f} % |"
        )
    rest_a = import_s - sum(first.seconds[k] for k in Phases.TOP)
    rest_b = reimport_s - sum(second.seconds[k] for k in Phases.TOP)
    phase_rows.append(
        f"| the rest (vocabulary, round, transaction, logging) | {rest_a:.2f} | "
        f"{100 * rest_a / import_s:.0f} % | {rest_b:.2f} | {100 * rest_b / reimport_s:.0f} % |"
    )
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
        f"| `imports.reader` handing on every row (calamine + header, best of 2) | "
        f"{reader_s:.1f} | {n_rows / reader_s:,.0f} | {reader_s / read_s:.2f} |",
        f"| `import_ledger` into an empty county (check + write) | {import_s:.1f} | "
        f"{n_rows / import_s:,.0f} | {ratio:.2f} |",
        f"| the same file again (all matched, nothing written) | {reimport_s:.1f} | "
        f"{n_rows / reimport_s:,.0f} | {reratio:.2f} |",
        f"| for comparison: openpyxl read-only, every row (once) | {openpyxl_s:.1f} | "
        f"{n_rows / openpyxl_s:,.0f} | {openpyxl_s / read_s:.2f} |",
        *(
            f"| {label} | {seconds:.1f} | {n_rows / seconds:,.0f} | {seconds / read_s:.2f} |"
            for label, seconds, _cpu in floors
        ),
        "",
        f"Goal: each import ≤ {goal:.0f}× calamine's read of the same file, peak memory ≤ "
        f"500 MB. First import {ratio:.1f}×: {verdict(ratio)}; re-import {reratio:.1f}×: "
        f"{verdict(reratio)}. Peak resident memory of the process: {rss_before / 1024:.0f} MB "
        f"before, {rss_after / 1024:.0f} MB after the first import, {rss_end / 1024:.0f} MB after "
        f"the re-import ({'meets' if rss_end / 1024 <= 500 else 'misses'} the 500 MB goal).",
        "",
        f"CPU seconds (less dependent than wall time on what else the machine runs): calamine's read "
        f"{read_cpu:.1f} s; the first import: {first_cpu.text()}; the re-import: "
        f"{second_cpu.text()}.",
        *(f"CPU, {label[len('reference: ') :]}: {cpu.text()}." for label, _s, cpu in floors),
        "",
        "Where the time goes (wall seconds per phase, timers around the engine's functions in "
        "the same two runs; rows that start with … are parts of the write):",
        "",
        "| phase | first import s | share | re-import s | share |",
        "|---|---:|---:|---:|---:|",
        *phase_rows,
        "",
        NOTES if connection.vendor == "postgresql" else SQLITE_NOTES,
    ]
    print(
        f"import: calamine read {read_s:.1f}s, check {check_s:.2f}s, import {import_s:.1f}s "
        f"({ratio:.2f}× read), re-import {reimport_s:.1f}s ({reratio:.2f}× read), openpyxl "
        f"read {openpyxl_s:.1f}s"
    )
    print(f"cpu: calamine {read_cpu:.1f}s; first: {first_cpu.text()}; again: {second_cpu.text()}")
    for line in phase_rows:
        print(line)
    return "\n".join(lines)

"""``python -m tests.bench --only rollups``: the summary table read through village rollups.

1. The summary benchmark's county (``--summary-toilets``, bulk-created as in
   ``tests.bench.load_county``): the county table through the rollups when nothing changed,
   after one write in one village, and from nothing (every village recomputed), next to the
   full build and to the hand-written SQL aggregate (PostgreSQL).
2. A city-sized county of ``--big-toilets`` toilets (PostgreSQL only), loaded with
   ``generate_series`` SQL in a few statements (the ORM would take an hour): the city table
   (rows per county) and the county table through the rollups, with ``EXPLAIN ANALYZE`` of the
   read's queries; the full build and the hand-written SQL timed once for comparison.
"""

import datetime
import os
import platform
import random
import statistics
import time

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

SECTION = "## Summary table through village rollups"
BIG_CITY = ("450800000000", "贵港市")
BIG_COUNTY = ("450821000000", "平南县")
BIG_TOWNSHIPS, BIG_VILLAGES_PER_TOWNSHIP = 100, 30


def timed(fn, repeat):
    samples, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            result = fn()
            samples.append((time.perf_counter() - start) * 1000)
        queries = len(captured)
    return statistics.median(samples), max(samples), queries, result


def same(read, built):
    assert [(r.code, r.values) for r in read.rows] == [(r.code, r.values) for r in built.rows]
    assert read.errors == [] and built.errors == []


def rollups_section(args, command) -> str:
    from reports.build import build_summary
    from reports.models import VillageRollup
    from reports.rollups import current_summary
    from tests.bench import hand_written_sql, load_county, run_sql
    from toilets.models import Toilet

    postgresql = connection.vendor == "postgresql"
    rng = random.Random(2022)
    start = time.perf_counter()
    county, survey_round, counts = load_county(args.summary_toilets, rng)
    load_seconds = time.perf_counter() - start
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    reset_queries()
    repeat = args.summary_repeat

    def read():
        return current_summary(survey_round, county, user=None)

    build_summary(survey_round, county)  # warm-up (connection, caches)
    cold_ms, _, cold_queries, first = timed(read, 1)
    same(first, build_summary(survey_round, county, first.cutoff))
    warm_ms, warm_max, warm_queries, summary = timed(read, repeat)
    same(summary, build_summary(survey_round, county, summary.cutoff))
    toilet_ids = list(Toilet.objects.order_by("pk").values_list("pk", flat=True)[::997])

    def one_write_then_read():
        pk = rng.choice(toilet_ids)
        Toilet.objects.filter(pk=pk).update(build_year=2000 + rng.randint(0, 21))
        return read()

    one_ms, one_max, one_queries, after = timed(one_write_then_read, repeat)
    same(after, build_summary(survey_round, county, after.cutoff))
    build_ms, build_max, build_queries, _ = timed(
        lambda: build_summary(survey_round, county), repeat
    )
    rows = [
        "| what | median ms | max ms | queries |",
        "|---|---:|---:|---:|",
        f"| county table through the rollups, nothing changed | {warm_ms:.1f} | {warm_max:.1f} "
        f"| {warm_queries} |",
        f"| the same after one write in one village (one village recomputed; the write not "
        f"timed) | {one_ms:.1f} | {one_max:.1f} | {one_queries} |",
        f"| the same from nothing (every village recomputed, once) | {cold_ms:.1f} | "
        f"{cold_ms:.1f} | {cold_queries} |",
        f"| full build `build_summary(round, county)` | {build_ms:.1f} | {build_max:.1f} "
        f"| {build_queries} |",
    ]
    verdict_line = ""
    if postgresql:
        sql, params = hand_written_sql(survey_round, county, summary.cutoff)
        run_sql(sql, params)
        sql_ms, sql_max, _, _ = timed(lambda: run_sql(sql, params), repeat)
        rows.append(
            f"| one hand-written SQL aggregate (`hand_written_sql` in tests/bench.py) | "
            f"{sql_ms:.1f} | {sql_max:.1f} | 1 |"
        )
        ratio, ratio_one = warm_ms / sql_ms, one_ms / sql_ms
        ok = max(ratio, ratio_one) <= 1.5 and max(warm_max, one_max) < 300
        verdict_line = (
            f"Ratio to the hand-written aggregate: {ratio:.3f}× nothing changed, "
            f"{ratio_one:.3f}× after one write (goal ≤ 1.5× and < 300 ms: "
            f"{'meets' if ok else 'misses'} it, every run: max {max(warm_max, one_max):.1f} ms)."
        )
    print(f"rollups county: warm {warm_ms:.1f} one-write {one_ms:.1f} cold {cold_ms:.1f} "
          f"build {build_ms:.1f}; {verdict_line}")  # fmt: skip
    lines = [
        SECTION,
        "",
        f"Command: `{command}` with `DATABASE_URL` on {connection.vendor}.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; measured {time.strftime('%Y-%m-%d')}.",
        "",
        f"### The county ({counts['toilets']} toilets, {counts['entries']} ledger entries, "
        f"216 villages; bulk-loaded in {load_seconds:.1f} s)",
        "",
        *rows,
        "",
        verdict_line,
        f"Every read equals `build_summary` at the same cut-off, row by row; {repeat} runs "
        "each. Rollup rows stored: "
        f"{VillageRollup.objects.filter(survey_round=survey_round).count()}.",
        "",
    ]
    if postgresql and args.big_toilets:
        lines += big_section(args)
    lines += NOTES
    return "\n".join(lines)


NOTES = [
    'Notes on the rollups (design in docs/architecture.md, "Village rollups"):',
    "",
    "- A read with nothing changed costs four small queries whatever the number of toilets:",
    "  the child rows, the regions under the prefix, their version counters and the round's",
    "  rollup rows (one JSON row per village, added up in Python).",
    "- A write bumps its village's counter by trigger; the next read recomputes that village",
    "  with the full build's own queries restricted to it (its toilets through the",
    "  `(village, kind, status)` index, its entries through the toilet join) and stores it.",
    "- From nothing, the read is the full build grouped by village plus the storing of one row",
    "  per village: what the first read after a deploy or a template change costs.",
    "",
]


def big_section(args) -> list[str]:
    from reports.build import build_summary
    from reports.rollups import current_summary
    from tests.bench import hand_written_sql, run_sql

    start = time.perf_counter()
    city, county, survey_round, counts = load_big(args.big_toilets)
    load_seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"big county loaded in {load_seconds:.0f} s: {counts}")

    def read_city():
        return current_summary(survey_round, city, user=None)

    cold_ms, _, cold_queries, _ = timed(read_city, 1)
    warm_ms, warm_max, warm_queries, summary = timed(read_city, args.summary_repeat)
    county_ms, county_max, county_queries, county_table = timed(
        lambda: current_summary(survey_round, county, user=None), args.summary_repeat
    )
    build_ms, _, build_queries, built = timed(
        lambda: build_summary(survey_round, county, county_table.cutoff), 1
    )
    same(county_table, built)
    same(summary, build_summary(survey_round, city, summary.cutoff))
    sql, params = hand_written_sql(survey_round, county, county_table.cutoff)
    sql_ms, _, _, by_hand = timed(lambda: run_sql(sql, params), 1)
    assert by_hand == {row.code[:9]: row.values for row in built.rows}
    with CaptureQueriesContext(connection) as captured:
        read_city()
    plans = []
    with connection.cursor() as cursor:
        for query in captured:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + query["sql"])
            plans.append(query["sql"][:300] + ("…" if len(query["sql"]) > 300 else ""))
            plans += ["    " + line for (line,) in cursor.fetchall()]
    print(f"big: city warm {warm_ms:.1f} county {county_ms:.1f} cold {cold_ms:.1f} "
          f"build {build_ms:.1f} sql {sql_ms:.1f}")  # fmt: skip
    total = summary.total
    ok = warm_max < 2000
    return [
        f"### A city of {counts['toilets']} toilets (one county of {BIG_TOWNSHIPS} townships × "
        f"{BIG_VILLAGES_PER_TOWNSHIP} villages; loaded with SQL in {load_seconds:.0f} s)",
        "",
        f"Data: {counts['toilets']} toilets, {counts['inspections']} inspections, "
        f"{counts['entries']} ledger entries ({counts['carried']} from an earlier round), "
        f"{counts['categories']} entry categories. The table: {total[1]} toilets, {total[5]} "
        f"villages reached, {total[6] + total[9]} problem toilets, {total[29] + total[32]} closed "
        "out.",
        "",
        "| what | median ms | max ms | queries |",
        "|---|---:|---:|---:|",
        f"| city table through the rollups, nothing changed | {warm_ms:.1f} | {warm_max:.1f} "
        f"| {warm_queries} |",
        f"| county table (100 township rows) through the rollups | {county_ms:.1f} | "
        f"{county_max:.1f} | {county_queries} |",
        f"| city table from nothing (all {BIG_TOWNSHIPS * BIG_VILLAGES_PER_TOWNSHIP} villages "
        f"recomputed, once) | {cold_ms:.1f} | {cold_ms:.1f} | {cold_queries} |",
        f"| full build of the county table, once | {build_ms:.1f} | {build_ms:.1f} | "
        f"{build_queries} |",
        f"| hand-written SQL aggregate of the county table, once | {sql_ms:.1f} | {sql_ms:.1f} "
        "| 1 |",
        "",
        f"Goal < 2 s: {'meets' if ok else 'misses'} it (max {warm_max:.1f} ms). "
        "Both reads equal `build_summary` at the same cut-off.",
        "",
        "`EXPLAIN ANALYZE` of the city read's queries (nothing changed):",
        "",
        "```",
        *plans,
        "```",
        "",
    ]


def load_big(n_toilets):
    """One county of ``n_toilets`` toilets under its own city, loaded with set-based SQL:
    every toilet inspected in the open round, ~10 % problem toilets with entries at every
    step (~1/7 closed), plus 1 % found in an earlier round (half closed before this one)."""
    from django.contrib.auth import get_user_model

    from regions.choices import Level
    from regions.models import Region
    from surveys.models import ReportTemplate, SurveyRound

    province = Region.objects.get(code="450000000000")
    city = Region.objects.create(code=BIG_CITY[0], name=BIG_CITY[1], level=Level.CITY,
                                 parent=province)  # fmt: skip
    county = Region.objects.create(code=BIG_COUNTY[0], name=BIG_COUNTY[1], level=Level.COUNTY,
                                   parent=city)  # fmt: skip
    townships = Region.objects.bulk_create(
        Region(
            code=f"{county.code[:6]}{100 + t:03d}000",
            name=f"平南第{t + 1}镇",
            level=Level.TOWNSHIP,
            parent=county,
        )
        for t in range(BIG_TOWNSHIPS)
    )
    villages = Region.objects.bulk_create(
        Region(
            code=f"{t.code[:9]}{201 + v:03d}",
            name=f"{t.name}{v + 1}村",
            level=Level.VILLAGE,
            parent=t,
        )
        for t in townships
        for v in range(BIG_VILLAGES_PER_TOWNSHIP)
    )
    surveyor = get_user_model().objects.create(username="bench_big_surveyor")
    template = ReportTemplate.objects.get(is_default=True)
    now = timezone.now()
    earlier = SurveyRound.objects.create(
        name="2021年摸排", kind="survey", county=county, template=template, status="closed",
        start_date="2021-04-01", end_date="2021-12-31",
        opened_at=now - datetime.timedelta(days=400), closed_at=now - datetime.timedelta(days=200),
    )  # fmt: skip
    survey_round = SurveyRound.objects.create(
        name="2022年摸排", kind="look_back", county=county, template=template, status="open",
        previous=earlier, start_date="2022-04-01", end_date="2022-12-31", opened_at=now,
    )  # fmt: skip
    n_villages = len(villages)
    code6 = county.code[:6]
    households = n_toilets - 2 * n_villages
    statements = [
        "CREATE TEMP TABLE big_villages (n int PRIMARY KEY, id bigint)",
        (
            "INSERT INTO big_villages SELECT ordinality - 1, id FROM unnest(%s::bigint[]) "
            "WITH ORDINALITY AS u(id)",
            [[v.pk for v in villages]],
        ),
        (
            "INSERT INTO toilets_household (county_code, group_name, head_name, id_number, phone,"
            " address, occupancy, version, created_at, updated_at, village_id) "
            "SELECT %s, '', '户主' || g, 'B' || g, '', '', 'resident', 1, now(), now(), v.id "
            "FROM generate_series(0, %s - 1) g JOIN big_villages v ON v.n = g %% %s",
            [code6, households, n_villages],
        ),
        # Type, year and funding from the row's id; the flush/dry follows the type's default.
        (
            "INSERT INTO toilets_toilet (kind, name, tech_type, flush_kind, placement, build_year,"
            " funding, lead_department, status, version, created_at, updated_at, village_id,"
            " household_id) "
            "SELECT kind, name, (ARRAY['three_compartment','double_urn','biogas','sewer',"
            "'urine_diversion','double_pit'])[1 + k %% 6], "
            "CASE WHEN k %% 6 < 4 THEN 'flush' ELSE 'dry' END, 'outdoor', 2000 + (k * 7) %% 22, "
            "CASE WHEN 2000 + (k * 7) %% 22 >= 2013 AND k %% 5 <> 0 THEN 'government' "
            "ELSE 'self_built' END, "
            "CASE WHEN 2000 + (k * 7) %% 22 BETWEEN 2013 AND 2016 THEN 'health' "
            "WHEN 2000 + (k * 7) %% 22 BETWEEN 2017 AND 2018 THEN 'housing' "
            "WHEN 2000 + (k * 7) %% 22 >= 2019 THEN 'agriculture' ELSE 'other' END, "
            "'active', 1, now(), now(), village_id, household_id FROM ("
            "SELECT 'household' AS kind, '' AS name, id AS k, village_id, id AS household_id "
            "FROM toilets_household WHERE county_code = %s "
            "UNION ALL SELECT 'public', '公厕', g, v.id, NULL "
            "FROM generate_series(0, %s - 1) g JOIN big_villages v ON v.n = g %% %s) src",
            [code6, 2 * n_villages, n_villages],
        ),
        "CREATE TEMP TABLE big_toilets AS SELECT t.id, t.village_id FROM toilets_toilet t "
        "JOIN big_villages v ON v.id = t.village_id",
        # The earlier round: 1 % of the toilets, their entries half closed before this round.
        (
            _inspections("t.id % 100 = 0", "'unusable'", "now() - interval '300 days'"),
            {"round": earlier.pk, "surveyor": surveyor.pk},
        ),
        (
            _entries(
                "CASE WHEN i.toilet_id % 200 = 0 THEN 'closed' ELSE 'in_progress' END",
                "now() - interval '100 days'",
            ),
            [earlier.pk],
        ),
        # This round: every toilet without an open entry of the earlier round; 10 % problems.
        (
            _inspections(
                "NOT (t.id % 100 = 0 AND t.id % 200 <> 0)",
                "CASE WHEN t.id % 10 = 5 THEN (CASE WHEN t.id % 20 = 5 THEN 'unusable' "
                "ELSE 'not_year_round' END) ELSE 'normal' END",
                "now()",
            ),
            {"round": survey_round.pk, "surveyor": surveyor.pk},
        ),
        (
            _entries(
                "(ARRAY['registered','planned','in_progress','rectified','accepted','closed',"
                "'closed'])[1 + (i.toilet_id / 10) % 7]",
                "now()",
            ),
            [survey_round.pk],
        ),
        "INSERT INTO rectification_ledgerentry_categories (ledgerentry_id, problemcategory_id) "
        "SELECT e.id, (ARRAY['room','fixture','tank','water','frost','waste','maintenance',"
        "'other'])[1 + e.id % 8] FROM rectification_ledgerentry e "
        "JOIN big_toilets t ON t.id = e.toilet_id "
        "UNION ALL SELECT e.id, (ARRAY['room','fixture','tank','water','frost','waste',"
        "'maintenance','other'])[1 + (e.id + 3) % 8] FROM rectification_ledgerentry e "
        "JOIN big_toilets t ON t.id = e.toilet_id WHERE e.id % 3 = 0",
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, None)
            step = time.perf_counter()
            cursor.execute(sql, params)
            print(f"  {time.perf_counter() - step:6.1f} s  {sql[:70]}")
        cursor.execute(
            "SELECT (SELECT count(*) FROM big_toilets), "
            "(SELECT count(*) FROM surveys_inspection WHERE round_id = %s), "
            "(SELECT count(*) FROM rectification_ledgerentry e JOIN big_toilets t "
            " ON t.id = e.toilet_id), "
            "(SELECT count(*) FROM rectification_ledgerentry WHERE found_in_id = %s), "
            "(SELECT count(*) FROM rectification_ledgerentry_categories c "
            " JOIN rectification_ledgerentry e ON e.id = c.ledgerentry_id "
            " JOIN big_toilets t ON t.id = e.toilet_id)",
            [survey_round.pk, earlier.pk],
        )
        toilets, inspections, entries, carried, categories = cursor.fetchone()
        cursor.execute("DROP TABLE big_toilets; DROP TABLE big_villages")
    counts = {
        "toilets": toilets,
        "inspections": inspections,
        "entries": entries,
        "carried": carried,
        "categories": categories,
    }
    return city, county, survey_round, counts


def _inspections(where, usability, when):
    return (
        "INSERT INTO surveys_inspection (partner_name, inspected_at, household_present,"
        " check_method, usability, minor_fixes, notes, signed, status, return_reason, version,"
        " created_at, updated_at, surveyor_id, toilet_id, round_id, evidence_reason, village_id) "
        f"SELECT '李四', {when}, true, 'on_site', {usability.replace('%', '%%')}, '', '', true, "
        "'submitted', '', 1, now(), now(), %(surveyor)s, t.id, %(round)s, '', t.village_id "
        f"FROM big_toilets t WHERE {where.replace('%', '%%')}"
    )


def _entries(state, closed_at):
    return (
        "INSERT INTO rectification_ledgerentry (usability, state, created_at, updated_at,"
        " found_in_id, last_inspection_id, opened_by_inspection_id, toilet_id, cause, closed_at,"
        " funding_source, measures, problem_class, responsible_person, responsible_phone,"
        " tech_route, version) "
        f"SELECT i.usability, s.state, {closed_at} - interval '1 day', now(), i.round_id, i.id, "
        f"i.id, i.toilet_id, '', CASE WHEN s.state = 'closed' THEN {closed_at} END, '', '', '', "
        "'', '', '', 1 FROM surveys_inspection i "
        f"CROSS JOIN LATERAL (SELECT {state.replace('%', '%%')} AS state) s "
        "WHERE i.round_id = %s AND i.usability <> 'normal'"
    )

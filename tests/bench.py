"""Benchmarks: ``make bench`` (or ``python -m tests.bench --households N``).

Builds the demo county at the given size in a throw-away test database (SQLite by default,
PostgreSQL when DATABASE_URL points there), then times the register's list pages and API as
each role sees them, and writes the results to docs/benchmarks.md.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SECTION = "## Register list pages"


def timed(client, url, repeat):
    samples = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples), max(samples), len(queries)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A database of its own, so a benchmark never collides with a test run.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        f"bench_{connection.settings_dict['NAME']}" if connection.vendor != "sqlite" else None
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from toilets.demo import DEMO_PASSWORD, seed_demo
        from toilets.models import Household, Toilet

        start = time.perf_counter()
        seed_demo(households=args.households)
        seed_seconds = time.perf_counter() - start
        if connection.vendor == "postgresql":
            # Fresh bulk inserts have no planner statistics yet; autovacuum would gather
            # them within minutes on a real server.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        households, toilets = Household.objects.count(), Toilet.objects.count()

        cases = [
            ("surveyor1", "/households/"),
            ("township1", "/households/"),
            ("county", "/households/"),
            ("county", "/households/?q=王"),
            ("county", "/households/?page=100"),
            ("county", "/toilets/?tech_type=three_compartment&built_from=2013"),
            ("county", "/api/households/"),
            ("county", "/api/toilets/?township=450702100000"),
        ]
        rows = []
        for username, url in cases:
            client = Client()
            client.login(username=username, password=DEMO_PASSWORD)
            median, worst, queries = timed(client, url, args.repeat)
            rows.append((username, url, median, worst, queries))
            print(
                f"{username:<10} {url:<60} median {median:7.1f} ms  max {worst:7.1f} ms  {queries} queries"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    vendor = connection.vendor
    command = (
        f"make bench  # python -m tests.bench --households {args.households} --repeat {args.repeat}"
    )
    lines = [
        SECTION,
        "",
        f"Command: `{command}` with `DATABASE_URL` on {vendor}.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"measured {time.strftime('%Y-%m-%d')}.",
        f"Data: {households} households, {toilets} toilets (seeded in {seed_seconds:.1f} s).",
        "Each URL requested in-process through Django's test client (no network), first page of",
        f"20 rows (API: 50), {args.repeat} requests each.",
        "",
        "| user | URL | median ms | max ms | queries |",
        "|---|---|---:|---:|---:|",
        *[f"| {u} | `{url}` | {m:.1f} | {w:.1f} | {q} |" for u, url, m, w, q in rows],
        "",
    ]
    if not args.no_write:
        write_section(vendor, "\n".join(lines))
    return 0


def write_section(vendor, text):
    """Keep one section per database vendor; replace it on every run."""
    heading = f"{SECTION} ({vendor})"
    text = text.replace(SECTION, heading, 1)
    existing = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\nResults of `make bench`.\n"
    parts = existing.split("\n## ")
    kept = [parts[0].rstrip() + "\n"] + [
        "## " + p.rstrip() + "\n" for p in parts[1:] if not ("## " + p).startswith(heading)
    ]
    DOCS.write_text("\n".join([*kept, text]))


if __name__ == "__main__":
    sys.exit(main())

"""Surveyors under load (``python -m tests.bench --only load``), issue 16.

A bounded, loopback-only load run against the real server: gunicorn (``DEBUG=false``,
whitenoise, the production settings) on a database of its own (PostgreSQL when
``DATABASE_URL`` points there), the demo county seeded with ``--load-households``
households. Each virtual user is one of the county's 16 village surveyors (three sessions
each, 48 in all, as in the issue's measurement), signed in through the login page, and
repeats what a surveyor does in the field: the worklist, the inspection form of a toilet of
their village not yet inspected, the save (正常使用, on site, signed). Two phases:

- capacity: no think time, for ``--load-seconds`` seconds: the requests per second the
  server sustains, and their latencies;
- field: a think time drawn from an exponential distribution (mean 5 s) between steps, the
  same duration: the latencies a surveyor feels on a busy Monday.

Every answer is checked (200 for pages, 302 back to the worklist for a save); afterwards
every save counted as done must be found in the database. Gunicorn's settings under test
come from ``--load-workers`` and ``--load-threads`` (threads > 1: the gthread worker).

The load generator is threads with ``requests`` in this process, so on a 2-core machine it
takes CPU from the server it measures; the figures are a floor for the same server on
separate machines.
"""

import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

SECTION = "## Surveyors under load"
BASE_DIR = Path(__file__).resolve().parent.parent
PORT = 8765
USERS_PER_SURVEYOR = 3
THINK_MEAN = 5.0
GOALS = {"capacity": 60.0, "p95": 300.0, "p99": 1000.0}
STEPS = ("worklist", "form", "save")


def _percentile(values, q):
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class VirtualSurveyor(threading.Thread):
    def __init__(self, base, username, password, round_pk, toilets, think, stop_at, log):
        super().__init__(daemon=True)
        self.base, self.username, self.password = base, username, password
        self.round_pk, self.toilets = round_pk, toilets
        self.think, self.stop_at, self.log = think, stop_at, log
        self.saved: list[int] = []
        self.rng = random.Random(username + str(id(self)))

    def _csrf(self, session):
        return session.cookies.get("csrftoken", "")

    def _timed(self, step, call, expect):
        start = time.perf_counter()
        try:
            response = call()
            ok = response.status_code == expect
        except requests.RequestException:
            response, ok = None, False
        elapsed = (time.perf_counter() - start) * 1000
        self.log.append((step, elapsed, ok, time.monotonic()))
        return response if ok else None

    def _pause(self):
        if self.think:
            time.sleep(min(self.rng.expovariate(1 / THINK_MEAN), 30))

    def sign_in(self):
        """Before the clock starts: a sign-in costs a password hash (hundreds of ms of CPU
        by design), which is not what this run measures."""
        self.session = requests.Session()
        login = f"{self.base}/accounts/login/"
        self.session.get(login, timeout=60)
        response = self.session.post(
            login,
            {"username": self.username, "password": self.password,
             "csrfmiddlewaretoken": self._csrf(self.session)},
            headers={"Referer": login}, timeout=60, allow_redirects=False,
        )  # fmt: skip
        assert response.status_code == 302, (self.username, response.status_code)

    def run(self):
        session = self.session
        # Surveyors don't all tap at the same second: with think time, each starts after
        # a think of its own (no synchronized first burst that no field ever sees).
        self._pause()
        worklist = f"{self.base}/surveys/worklist/?round={self.round_pk}"
        while self.toilets and time.monotonic() < self.stop_at:
            toilet = self.toilets.pop()
            if self._timed("worklist", lambda: session.get(worklist, timeout=60), 200) is None:
                continue
            self._pause()
            form_url = f"{self.base}/surveys/rounds/{self.round_pk}/toilets/{toilet}/inspect/"
            if self._timed("form", lambda u=form_url: session.get(u, timeout=60), 200) is None:
                continue
            self._pause()
            data = {
                "csrfmiddlewaretoken": self._csrf(session),
                "household_present": "True",
                "check_method": "on_site",
                "usability": "normal",
                "partner_name": "村干部",
                "inspected_at": time.strftime("%Y-%m-%dT%H:%M"),
                "signed": "on",
            }
            saved = self._timed(
                "save",
                lambda u=form_url, d=data: session.post(
                    u, d, headers={"Referer": u}, timeout=60, allow_redirects=False
                ),
                302,
            )
            if saved is not None:
                self.saved.append(toilet)
            self._pause()


def _env(database_url):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY="load-benchmark-only",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_COOKIES="false",
        PYTHONPATH=str(BASE_DIR),
    )
    env.pop("REDIS_URL", None)  # Celery eager: no worker in the loop
    return env


def _manage(env, *args):
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _serve(env, workers, threads):
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip
    if threads > 1:
        command += ["--threads", str(threads), "--worker-class", "gthread"]
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{PORT}/accounts/login/", timeout=2)
            return server
        except requests.RequestException:
            time.sleep(0.3)
    os.killpg(server.pid, signal.SIGTERM)
    raise RuntimeError("gunicorn did not start")


def _shares(surveyors, worklists):
    """Each virtual user's own toilets (three phones of a surveyor never share one); the
    lists are used up across both phases, so no toilet is inspected twice."""
    return [
        (username, worklists[username][k::USERS_PER_SURVEYOR])
        for username in surveyors
        for k in range(USERS_PER_SURVEYOR)
    ]


def _phase(base, shares, round_pk, think, seconds):
    from toilets.demo import DEMO_PASSWORD

    log: list = []
    users = [
        VirtualSurveyor(base, username, DEMO_PASSWORD, round_pk, share, think, 0, log)
        for username, share in shares
    ]
    for user in users:
        user.sign_in()
    stop_at = time.monotonic() + seconds
    started = time.monotonic()
    cpu_before = time.process_time()
    for user in users:
        user.stop_at = stop_at
        user.start()
    for user in users:
        user.join(timeout=seconds + 90)
    elapsed = time.monotonic() - started
    generator_cpu = time.process_time() - cpu_before
    saved = [toilet for user in users for toilet in user.saved]
    by_step = defaultdict(list)
    errors = 0
    for step, ms, ok, _at in log:
        if ok:
            by_step[step].append(ms)
        else:
            errors += 1
    done = sum(len(v) for v in by_step.values())
    return {
        "requests": done + errors,
        "errors": errors,
        "rate": done / elapsed,
        "generator_ms": generator_cpu * 1000 / max(1, done + errors),
        "seconds": elapsed,
        "steps": {
            step: {
                "n": len(by_step[step]),
                "p50": statistics.median(by_step[step]) if by_step[step] else 0.0,
                "p95": _percentile(by_step[step], 95),
                "p99": _percentile(by_step[step], 99),
            }
            for step in STEPS
        },
        "saved": saved,
    }


def load_section(args) -> str:
    """Seed a database of its own, serve it with gunicorn, run both phases, check the saves."""
    import django
    from django.db import connection

    vendor = connection.vendor
    settings_dict = connection.settings_dict
    if vendor == "postgresql":
        name = "bench_load"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name}")
        user = settings_dict.get("USER") or "postgres"
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        database_url = f"postgres://{user}@{host}:{port}/{name}"
    else:
        path = BASE_DIR / "bench_load.sqlite3"
        path.unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
    env = _env(database_url)
    start = time.perf_counter()
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo", "--households", str(args.load_households))
    _manage(env, "collectstatic", "--noinput")
    seed_seconds = time.perf_counter() - start

    # What each surveyor has still to do, read from the seeded database.
    query = subprocess.run(
        [sys.executable, "-c", _WORKLISTS], cwd=BASE_DIR, env=env, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    lines = query.stdout.strip().splitlines()
    round_pk = int(lines[0])
    worklists = {}
    for line in lines[1:]:
        username, *toilets = line.split()
        worklists[username] = [int(t) for t in toilets]
    surveyors = sorted(worklists)

    server = _serve(env, args.load_workers, args.load_threads)
    base = f"http://127.0.0.1:{PORT}"
    try:
        shares = _shares(surveyors, worklists)
        capacity = _phase(base, shares, round_pk, False, args.load_seconds)
        field = _phase(base, shares, round_pk, True, args.load_seconds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    saved = capacity["saved"] + field["saved"]
    check = subprocess.run(
        [sys.executable, "-c", _COUNT, str(round_pk), ",".join(map(str, saved)) or "0"],
        cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    found = int(check.stdout.strip())
    if vendor == "postgresql":
        connection.close()
        with django.db.connections["default"].cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS bench_load")

    def row(phase, label):
        cells = []
        for step in STEPS:
            s = phase["steps"][step]
            cells.append(f"{s['p50']:.0f} / {s['p95']:.0f} / {s['p99']:.0f} ({s['n']})")
        return f"| {label} | {phase['rate']:.1f} | {phase['errors']} | " + " | ".join(cells) + " |"

    worst95 = max(field["steps"][s]["p95"] for s in STEPS)
    worst99 = max(field["steps"][s]["p99"] for s in STEPS)
    verdicts = [
        f"capacity {capacity['rate']:.1f} req/s ({'meets' if capacity['rate'] >= GOALS['capacity'] else 'misses'} ≥ 60)",
        f"field p95 {worst95:.0f} ms ({'meets' if worst95 < GOALS['p95'] else 'misses'} < 300)",
        f"field p99 {worst99:.0f} ms ({'meets' if worst99 < GOALS['p99'] else 'misses'} < 1000)",
        f"errors {capacity['errors'] + field['errors']}",
        f"saves found {found} of {len(saved)}",
    ]
    text = "\n".join(
        [
            SECTION,
            "",
            f"Command: `python -m tests.bench --only load --load-households {args.load_households} "
            f"--load-seconds {args.load_seconds} --load-workers {args.load_workers} "
            f"--load-threads {args.load_threads}` with `DATABASE_URL` on {vendor}.",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end; "
            f"measured {time.strftime('%Y-%m-%d')}.",
            f"Server: gunicorn, {args.load_workers} workers"
            + (f" × {args.load_threads} threads (gthread)" if args.load_threads > 1 else " (sync)")
            + f", `DEBUG=false`; the demo county with {args.load_households} households "
            f"(seeded in {seed_seconds:.0f} s). {len(surveyors)} surveyors × "
            f"{USERS_PER_SURVEYOR} sessions = {len(surveyors) * USERS_PER_SURVEYOR} virtual users, "
            f"{args.load_seconds} s per phase; the load generator runs on the same machine.",
            "",
            "| phase | req/s | errors | worklist p50 / p95 / p99 ms (n) | form | save |",
            "|---|---:|---:|---|---|---|",
            row(capacity, "capacity (no think time)"),
            row(field, f"field (think time, mean {THINK_MEAN:.0f} s)"),
            "",
            f"The load generator itself used {capacity['generator_ms']:.1f} ms of CPU per request "
            f"in the capacity phase (on the same 2 cores as the server and PostgreSQL).",
            "",
            "Verdict: " + "; ".join(verdicts) + ".",
            "",
        ]
    )
    print(text)
    return text


# Run in the seeded database's environment (a child process: this one is on the bench's own).
_WORKLISTS = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db import connection
from surveys.models import Inspection, SurveyRound
from regions.models import RoleAssignment
if connection.vendor == "postgresql":
    # Planner statistics, as a database in service has them (autovacuum's analyze would
    # come a minute or more after the bulk seed, in the middle of the run).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
survey_round = SurveyRound.objects.get(status="open")
print(survey_round.pk)
done = set(Inspection.objects.filter(round=survey_round).values_list("toilet_id", flat=True))
for a in RoleAssignment.objects.filter(role="surveyor").select_related("user", "region"):
    ids = [t for t in a.region.toilets.filter(status="active").values_list("id", flat=True)
           if t not in done]
    print(a.user.username, *ids)
"""
_COUNT = """
import django, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from surveys.models import Inspection
ids = [int(i) for i in sys.argv[2].split(",")]
print(Inspection.objects.filter(round_id=int(sys.argv[1]), toilet_id__in=ids).count())
"""

# Per-request server time, in-process ---------------------------------------------------------
#
# ``python -m tests.bench_load per-request`` (DATABASE_URL on PostgreSQL): the same seeded county
# and the same cycle (worklist → form → save) through Django's test client in one process, no
# server and no load generator: each step's wall time and the CPU it cost in Python and in its
# PostgreSQL backend (read from /proc). On a machine others share, CPU time is the steadier
# figure. A few surveyors in turn keep each account saving about every second, as the load run
# does, so the office-made BURST rule sees what it sees under load.

_PER_REQUEST = """
import django, os, statistics, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db import connection
from django.test import Client
from regions.models import RoleAssignment
from surveys.models import Inspection, SurveyRound
cycles, surveyors = int(sys.argv[1]), int(sys.argv[2])
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
tick = os.sysconf("SC_CLK_TCK")
def backend_cpu():
    fields = open(f"/proc/{backend}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
survey_round = SurveyRound.objects.get(status="open")
done = set(Inspection.objects.filter(round=survey_round).values_list("toilet_id", flat=True))
worklist = f"/surveys/worklist/?round={survey_round.pk}"
users = []
assignments = RoleAssignment.objects.filter(role="surveyor").select_related("user", "region")
for a in list(assignments.order_by("user__username"))[:surveyors]:
    client = Client()
    client.force_login(a.user)
    client.get(worklist)  # warm-up: the middleware chain, the templates
    ids = a.region.toilets.filter(status="active").order_by("-id").values_list("id", flat=True)
    users.append((client, [t for t in ids if t not in done]))
queries = {"worklist": 0, "form": 0, "save": 0}
step = ["worklist"]
def count(execute, sql, params, many, context):
    queries[step[0]] += 1
    return execute(sql, params, many, context)
connection.execute_wrappers.append(count)
wall = {k: [] for k in queries}
python = dict.fromkeys(queries, 0.0)
postgres = dict.fromkeys(queries, 0.0)
def timed(name, call, expect):
    step[0] = name
    cpu, pg, start = time.process_time(), backend_cpu(), time.perf_counter()
    response = call()
    wall[name].append((time.perf_counter() - start) * 1000)
    python[name] += time.process_time() - cpu
    postgres[name] += backend_cpu() - pg
    assert response.status_code == expect, (name, response.status_code)
for i in range(cycles):
    client, toilets = users[i % len(users)]
    toilet = toilets.pop()
    timed("worklist", lambda: client.get(worklist), 200)
    url = f"/surveys/rounds/{survey_round.pk}/toilets/{toilet}/inspect/"
    timed("form", lambda: client.get(url), 200)
    data = {"household_present": "True", "check_method": "on_site", "usability": "normal",
            "partner_name": "村干部", "inspected_at": time.strftime("%Y-%m-%dT%H:%M"),
            "signed": "on"}
    timed("save", lambda: client.post(url, data), 302)
for name, times in wall.items():
    n = len(times)
    print(name, n, statistics.median(times), 1000 * python[name] / n,
          1000 * postgres[name] / n, queries[name] / n)
"""


def per_request_main(argv) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.bench_load per-request")
    parser.add_argument("--households", type=int, default=16_000)
    parser.add_argument("--cycles", type=int, default=240)
    parser.add_argument("--surveyors", type=int, default=2)
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("per-request: DATABASE_URL must point at PostgreSQL (CPU is read per backend)")
    server, name = url.rsplit("/", 1)[0], "bench_load_per_request"
    admin = [sys.executable, "-c", _ADMIN_SQL, url]
    subprocess.run([*admin, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"],
                   cwd=BASE_DIR, check=True)  # fmt: skip
    env = _env(f"{server}/{name}")
    env["ALLOWED_HOSTS"] = "testserver"
    start = time.perf_counter()
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo", "--households", str(args.households))
    _manage(env, "collectstatic", "--noinput")
    seeded = time.perf_counter() - start
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PER_REQUEST, str(args.cycles), str(args.surveyors)],
            cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        subprocess.run([*admin, f"DROP DATABASE IF EXISTS {name}"], cwd=BASE_DIR, check=True)
    print(
        f"Command: `python -m tests.bench_load per-request --households {args.households} "
        f"--cycles {args.cycles} --surveyors {args.surveyors}` with `DATABASE_URL` on "
        f"PostgreSQL (seeded in {seeded:.0f} s); {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end; measured {time.strftime('%Y-%m-%d')}.\n"
    )
    print("| step | requests | wall p50 ms | CPU Python ms | CPU PostgreSQL ms | queries |")
    print("|---|---:|---:|---:|---:|---:|")
    for line in result.stdout.strip().splitlines()[-3:]:
        step, n, p50, python, postgres, queries = line.split()
        print(
            f"| {step} | {n} | {float(p50):.0f} | {float(python):.1f} | {float(postgres):.1f} "
            f"| {float(queries):.1f} |"
        )


_ADMIN_SQL = """
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as connection:
    for statement in sys.argv[2:]:
        connection.execute(statement)
"""

if __name__ == "__main__":
    if sys.argv[1:2] == ["per-request"]:
        per_request_main(sys.argv[2:])
    else:
        sys.exit("run through `python -m tests.bench --only load`, or `per-request`")

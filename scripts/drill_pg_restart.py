"""Drill: PostgreSQL restarted in the middle of a load run (issue 16), bounded and loopback.

It starts a PostgreSQL cluster of its own (initdb in a temporary directory, its own port, so a
shared server is never touched), seeds the demo county, serves it with gunicorn (3 workers,
DEBUG=false) and runs surveyors saving inspections without think time. Ten seconds in, the
cluster is restarted (``pg_ctl restart -m fast``: every connection is cut). Afterwards:

- requests failed only around the restart, and the server answered normally again without a
  restart of its own (no request failed from 5 s after the database was back);
- every save answered as done is in the database, no inspection lacks its village, and the
  rollups equal a recomputation from scratch (``check_rollups``).

Run as root on a machine with Debian's PostgreSQL binaries (the cluster runs as ``postgres``):

    .venv/bin/python scripts/drill_pg_restart.py [--households 2000] [--seconds 30]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from tests import bench_load  # noqa: E402

PG_PORT = 5439
WEB_PORT = 8779
RECOVERED_AFTER = 5.0  # seconds after the database is back by which every request succeeds


def _pg_bin(name: str) -> str:
    for version in sorted(os.listdir("/usr/lib/postgresql"), reverse=True):
        path = f"/usr/lib/postgresql/{version}/bin/{name}"
        if os.path.exists(path):
            return path
    raise SystemExit(f"PostgreSQL's {name} not found under /usr/lib/postgresql")


def _as_postgres(*command, check=True):
    return subprocess.run(
        ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)],
        check=check, capture_output=True, text=True,
    )  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()  # for the demo's password (no database is opened in this process)

    workdir = tempfile.mkdtemp(prefix="drill-pg-")
    os.chmod(workdir, 0o777)
    data = f"{workdir}/data"
    log_file = f"{workdir}/pg.log"
    pg_ctl = _pg_bin("pg_ctl")
    options = f"'-p {PG_PORT} -k {workdir} -c listen_addresses=127.0.0.1'"
    _as_postgres(_pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8")
    _as_postgres(pg_ctl, "-D", data, "-o", options, "-l", log_file, "-w", "start")
    server = None
    checks = []
    try:
        _as_postgres(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "drill")
        env = bench_load._env(f"postgres://postgres@127.0.0.1:{PG_PORT}/drill")
        started = time.perf_counter()
        bench_load._manage(env, "migrate", "--noinput")
        bench_load._manage(env, "seed_demo", "--households", str(args.households))
        bench_load._manage(env, "collectstatic", "--noinput")
        print(f"seeded {args.households} households in {time.perf_counter() - started:.0f} s")
        lines = subprocess.run(
            [sys.executable, "-c", bench_load._WORKLISTS], cwd=BASE_DIR, env=env, check=True,
            capture_output=True, text=True,
        ).stdout.strip().splitlines()  # fmt: skip
        round_pk = int(lines[0])
        worklists = {}
        for line in lines[1:]:
            username, *toilets = line.split()
            worklists[username] = [int(t) for t in toilets]

        bench_load.PORT = WEB_PORT
        server = bench_load._serve(env, 3, 1)
        shares = bench_load._shares(sorted(worklists), worklists)
        restart = {}

        users, log = _signed_in(f"http://127.0.0.1:{WEB_PORT}", shares, round_pk)
        started = time.monotonic()
        for user in users:
            user.stop_at = started + args.seconds
            user.start()
        time.sleep(10)
        restart["start"] = time.monotonic()
        done = _as_postgres(
            pg_ctl, "-D", data, "-o", options, "-l", log_file, "-m", "fast", "-w", "restart"
        )
        restart["end"] = time.monotonic()
        print(
            f"PostgreSQL restarted in {restart['end'] - restart['start']:.1f} s ({done.returncode})"
        )
        for user in users:
            user.join(timeout=args.seconds + 120)
        result = {
            "log": log,
            "saved": [toilet for user in users for toilet in user.saved],
            "seconds": time.monotonic() - started,
        }

        log_rows = result["log"]
        failed = [at for _step, _ms, ok, at in log_rows if not ok]
        late = [at for at in failed if at > restart["end"] + RECOVERED_AFTER]
        before = [at for at in failed if at < restart["start"]]
        after_ok = sum(1 for _s, _m, ok, at in log_rows if ok and at > restart["end"])
        saved = result["saved"]
        found = int(
            subprocess.run(
                [sys.executable, "-c", bench_load._COUNT, str(round_pk),
                 ",".join(map(str, saved)) or "0"],
                cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True,
            ).stdout.strip()
        )  # fmt: skip
        orphans = subprocess.run(
            [sys.executable, "-c", _ORPHANS], cwd=BASE_DIR, env=env, check=True,
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        rollups = subprocess.run(
            [sys.executable, "manage.py", "check_rollups"], cwd=BASE_DIR, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
        last = max(failed, default=restart["end"]) - restart["end"]
        print(f"the last failed request came {last:.1f} s after the database was back")
        checks = [
            ("no request failed before the restart", not before),
            (f"requests failed during the restart: {len(failed)}", True),
            (f"no request failed from {RECOVERED_AFTER:.0f} s after it", not late),
            (f"requests answered after the restart: {after_ok}", after_ok > 0),
            (f"saves found in the database: {found} of {len(saved)}", found == len(saved)),
            (f"inspections without a village: {orphans}", orphans == "0"),
            ("rollups equal a recomputation (check_rollups)", rollups.returncode == 0),
        ]
        print(f"{len(log_rows)} requests in {result['seconds']:.0f} s, {len(failed)} failed")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        _as_postgres(pg_ctl, "-D", data, "-m", "immediate", "stop", check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    for label, ok in checks:
        print(("ok   " if ok else "FAIL ") + label)
    sys.exit(0 if checks and all(ok for _label, ok in checks) else 1)


def _signed_in(base, shares, round_pk):
    """The virtual surveyors, signed in before the clock starts (no think time)."""
    from toilets.demo import DEMO_PASSWORD

    log: list = []
    users = [
        bench_load.VirtualSurveyor(base, name, DEMO_PASSWORD, round_pk, share, False, 0, log)
        for name, share in shares
    ]
    for user in users:
        user.sign_in()
    return users, log


_ORPHANS = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from surveys.models import Inspection
print(Inspection.objects.filter(village__isnull=True).count())
"""

if __name__ == "__main__":
    main()

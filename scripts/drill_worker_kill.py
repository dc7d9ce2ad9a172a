"""Drill: a real Celery worker process killed (kill -9) in the middle of a ledger import.

Bounded (every wait has a deadline; about a minute in all), loopback only: Redis at
127.0.0.1:6379 on database 15 (only its default queue key is touched), SQLite and MEDIA_ROOT
in a temporary directory. Run from the checkout:

    .venv/bin/python scripts/drill_worker_kill.py [--rows 6000]

It starts ``celery -A config worker``, uploads a ledger through the import service (the check
runs in the worker), confirms it, kills the worker with SIGKILL once the import is writing,
and checks: nothing of the file saved, the job still 导入中; the sweeper, run as if 35 minutes
later, ends it as 失败 "任务执行中断，请重新提交…"; a new worker imports the same file
completely. Exit status 0 when every check holds. See docs/deploy.md §12.
"""

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROKER = "redis://127.0.0.1:6379/15"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=6000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drill-worker-kill-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "REDIS_URL": BROKER,
        "CACHE_URL": BROKER,
        "MEDIA_ROOT": str(work / "media"),
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from imports import jobs, services
    from imports.models import ImportJob, ImportStatus
    from regions.choices import Role
    from tests.bench_import import _regions, write_file
    from tests.factories import UserFactory
    from toilets.models import Household, Toilet

    queue = redis.Redis.from_url(BROKER)
    queue.delete("celery")
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    county, villages = _regions()
    user = UserFactory(username="drill-county", role=(Role.COUNTY, county))
    path = work / "ledger.xlsx"
    write_file(path, args.rows, villages, random.Random(16))
    data = path.read_bytes()
    print(f"set-up: {args.rows} rows, {len(data) // 1024} KB, {time.monotonic() - started:.1f} s")

    def worker(name):
        log = open(work / f"{name}.log", "w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(lambda: "ready" in (work / f"{name}.log").read_text(), 60, f"{name} ready")
        return process

    checks = []

    def check(ok, text):
        checks.append(ok)
        print(("ok    " if ok else "FAIL  ") + text)

    def wait_for(condition, seconds, what):
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"FAILED: no {what} within {seconds} s")
            time.sleep(0.05)

    def status(job):
        job.refresh_from_db()
        return job.status

    first = worker("worker-1")
    try:
        job = services.start_check(user, SimpleUploadedFile("台账.xlsx", data), "2022年摸排")
        t = time.monotonic()
        wait_for(lambda: status(job) not in ("uploaded", "checking"), 300, "check")
        print(f"check in the worker: {status(job)} in {time.monotonic() - t:.1f} s")
        services.confirm_import(user, job)
        t = time.monotonic()
        wait_for(lambda: status(job) == ImportStatus.IMPORTING, 60, "import claimed")
        # The import reads and checks the file again, then writes in one transaction: wait
        # until the worker holds SQLite's write lock for a while (its write has begun), then
        # kill it while it still does.
        database = work / "db.sqlite3"
        wait_for(lambda: _writing_for(database, 0.3), 120, "write transaction")
        time.sleep(0.3)
        held = _writing(database)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        print(f"worker killed (SIGKILL) {time.monotonic() - t:.1f} s into the import")
        check(held, "the worker was inside its write transaction when killed")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)

    check(status(job) == ImportStatus.IMPORTING, f"the job is left 导入中 ({job.status})")
    check(Household.objects.count() == 0, f"households saved: {Household.objects.count()}")
    check(Toilet.objects.count() == 0, f"toilets saved: {Toilet.objects.count()}")
    check(jobs.sweep_interrupted() == [], "the sweeper leaves it alone while it may run")
    later = job.claimed_at + jobs.STALE_AFTER
    ended = jobs.sweep_interrupted(now=later + jobs.STALE_AFTER / 100)
    job.refresh_from_db()
    check(
        ended == [job.pk] and job.message.startswith("任务执行中断，请重新提交"),
        f"swept as if 35 min later: {job.get_status_display()} “{job.message}”",
    )

    second = worker("worker-2")
    try:
        again = services.start_check(user, SimpleUploadedFile("台账.xlsx", data), "2022年摸排")
        wait_for(lambda: status(again) not in ("uploaded", "checking"), 300, "second check")
        services.confirm_import(user, again)
        t = time.monotonic()
        wait_for(lambda: not ImportJob.objects.get(pk=again.pk).busy, 300, "second import")
        again.refresh_from_db()
        print(f"re-import in a new worker: {again.status} in {time.monotonic() - t:.1f} s")
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(20)
        except subprocess.TimeoutExpired:
            second.kill()
    counts = again.counts
    check(again.status == ImportStatus.DONE, f"submitted again: {again.message}")
    check(
        Toilet.objects.count() == args.rows,
        f"toilets after the re-import: {Toilet.objects.count()} of {args.rows} rows",
    )
    print(f"households {Household.objects.count()}, counts {counts}")
    queue.delete("celery")
    print(f"drill: {sum(checks)}/{len(checks)} checks held, {time.monotonic() - started:.1f} s")
    return 0 if all(checks) else 1


def _writing(database) -> bool:
    """Another connection holds SQLite's write lock (BEGIN IMMEDIATE fails at once)."""
    probe = sqlite3.connect(database, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _writing_for(database, seconds: float) -> bool:
    """The lock is held for ``seconds`` on end (not a progress UPDATE of the check)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _writing(database):
            return False
        time.sleep(0.02)
    return True


if __name__ == "__main__":
    sys.exit(main())

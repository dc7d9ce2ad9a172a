"""Helpers for tests that run two database sessions at once (threads, each with its own
connection): PostgreSQL only, as SQLite has one writer at a time. CI runs them on PostgreSQL.

A thread calls ``remember_backend()`` first; ``wait_until_blocked(thread)`` then waits until
that thread's own session waits for a lock."""

import threading
import time

import pytest
from django.db import connection

two_sessions = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="one writer at a time on SQLite"
)


def remember_backend() -> None:
    """Note the current thread's database session (its backend's pid) on the thread."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        threading.current_thread().backend_pid = cursor.fetchone()[0]


def wait_until_blocked(thread, seconds=10) -> bool:
    """True once ``thread``'s session (``remember_backend``) waits for a lock; False if the
    thread ends or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline and thread.is_alive():
            pid = getattr(thread, "backend_pid", None)
            if pid is not None:
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
                row = cursor.fetchone()
                if row is not None and row[0] == "Lock":
                    return True
            time.sleep(0.02)
    return False


def session(work, errors: list, name: str = "", on_error=None) -> threading.Thread:
    """A thread (not started) running ``work()`` in a database session of its own: any
    exception is appended to ``errors`` (then ``on_error()``, e.g. to release a waiting test),
    and the session is closed at the end."""

    def run():
        try:
            remember_backend()
            work()
        except Exception as exc:  # the test asserts on ``errors``
            errors.append(f"{name or 'session'}: {exc!r}")
            if on_error is not None:
                on_error()
        finally:
            connection.close()

    return threading.Thread(target=run, name=name or None)


def pause_after_first_save(monkeypatch, model, thread_name: str):
    """``(saved, go)``: the thread named ``thread_name`` stops right after its first
    ``model.save()`` (its transaction still open) until ``go`` is set; ``saved`` is set then."""
    saved, go = threading.Event(), threading.Event()
    real_save = model.save

    def pausing_save(self, *args, **kwargs):
        real_save(self, *args, **kwargs)
        if threading.current_thread().name == thread_name and not saved.is_set():
            saved.set()
            go.wait(timeout=10)

    monkeypatch.setattr(model, "save", pausing_save)
    return saved, go

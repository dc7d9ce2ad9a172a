"""Helpers for tests that run two database sessions at once (threads, each with its own
connection): PostgreSQL only, as SQLite has one writer at a time. CI runs them on PostgreSQL."""

import time

import pytest
from django.db import connection

two_sessions = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="one writer at a time on SQLite"
)


def wait_until_blocked(thread, seconds=10) -> bool:
    """True once another session of this database waits for a lock (``thread``'s, blocked);
    False if ``thread`` ends or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline and thread.is_alive():
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False

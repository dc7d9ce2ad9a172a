"""SQLite under concurrent writes: the connection options that make writers queue instead of
fail, and the middleware that answers a write that still timed out (``database is locked``)
as a conflict (409, "请稍后重试") rather than a 500. PostgreSQL never takes either path."""

from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape

from .errors import BUSY_MESSAGE

SQLITE_ENGINE = "django.db.backends.sqlite3"
# Seconds a connection waits for another's write lock before giving up (sqlite3's timeout).
SQLITE_BUSY_TIMEOUT = 20


def with_sqlite_options(database: dict) -> dict:
    """``database`` (a DATABASES entry) with, for SQLite only, a busy timeout and
    ``BEGIN IMMEDIATE`` transactions: a transaction takes the write lock when it starts, so
    two read-then-write transactions queue on the timeout instead of one failing at once
    (SQLite's deadlock refusal does not wait). Options already set are kept."""
    if database.get("ENGINE") != SQLITE_ENGINE:
        return database
    options = {"timeout": SQLITE_BUSY_TIMEOUT, "transaction_mode": "IMMEDIATE"}
    options.update(database.get("OPTIONS") or {})
    return {**database, "OPTIONS": options}


def is_database_locked(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, OperationalError) and (
        "database is locked" in text or "database table is locked" in text
    )


def busy_response(request):
    """409 with ``BUSY_MESSAGE``: JSON ``{"detail": …}`` for the API (like its other
    conflicts), a minimal page otherwise (no template: it must not touch the database)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": BUSY_MESSAGE}, status=409)
    message = escape(BUSY_MESSAGE)
    page = (
        '<!DOCTYPE html><html lang="zh-hans"><head><meta charset="utf-8">'
        f"<title>请稍后重试</title></head><body><h1>请稍后重试</h1><p>{message}</p>"
        '<p><a href="javascript:history.back()">返回</a></p></body></html>'
    )
    return HttpResponse(page, status=409, content_type="text/html; charset=utf-8")


class DatabaseLockedMiddleware:
    """A view whose write timed out on SQLite's lock answers 409 instead of 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_locked(exception):
            return busy_response(request)
        return None

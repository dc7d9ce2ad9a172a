"""SQLite under concurrent writes (the embedded default of ``make run``): writers queue on a
busy timeout with BEGIN IMMEDIATE, and a write that still times out answers the conflict
message (409, "请稍后重试"), never an unhandled 500. Bounded: a few seconds at most."""

import json
import threading
import time

import environ
import pytest
from django.db import OperationalError, connections, transaction
from django.test import RequestFactory
from django.urls import reverse

from core.dblocks import (
    SQLITE_BUSY_TIMEOUT,
    DatabaseLockedMiddleware,
    is_database_locked,
    with_sqlite_options,
)
from core.errors import BUSY_MESSAGE, ConflictError, DatabaseBusyError
from toilets.views import HouseholdCreateView

ALIAS = "sqlite_lock_test"


# The settings helper ---------------------------------------------------------------------


def test_sqlite_gets_a_busy_timeout_and_immediate_transactions(tmp_path):
    config = environ.Env.db_url_config(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    options = with_sqlite_options(config)["OPTIONS"]
    assert options == {"timeout": SQLITE_BUSY_TIMEOUT, "transaction_mode": "IMMEDIATE"}
    assert SQLITE_BUSY_TIMEOUT == 20


def test_options_already_set_are_kept():
    config = environ.Env.db_url_config("sqlite:////tmp/x.sqlite3?timeout=5")
    options = with_sqlite_options(config)["OPTIONS"]
    assert options["timeout"] in (5, "5") and options["transaction_mode"] == "IMMEDIATE"


def test_postgresql_is_left_alone():
    config = environ.Env.db_url_config("postgres://u:p@db:5432/toilets")
    assert with_sqlite_options(config) == config
    assert "transaction_mode" not in config.get("OPTIONS", {})


def test_the_running_settings_carry_them(settings):
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        assert database["OPTIONS"]["timeout"] == SQLITE_BUSY_TIMEOUT
    else:  # CI's PostgreSQL: left as it is
        assert "transaction_mode" not in database.get("OPTIONS", {})
    assert "core.dblocks.DatabaseLockedMiddleware" in settings.MIDDLEWARE


def test_the_busy_message_is_a_conflict():
    assert isinstance(DatabaseBusyError(), ConflictError)
    assert DatabaseBusyError().message == BUSY_MESSAGE
    assert "请稍后重试" in BUSY_MESSAGE


# Two writers on a file-based database ----------------------------------------------------


@pytest.fixture
def file_db(tmp_path, django_db_blocker):
    """A second alias on a temp-file SQLite database, built by the same helper as settings
    (the test database itself is in memory, where locking works differently)."""

    def configure(**options):
        config = environ.Env.db_url_config(f"sqlite:///{tmp_path / 'locks.sqlite3'}")
        config = with_sqlite_options(config)
        config["OPTIONS"].update(options)
        both = {"default": dict(connections.settings["default"]), ALIAS: config}
        connections.settings[ALIAS] = connections.configure_settings(both)[ALIAS]
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, n INTEGER)")
        connections[ALIAS].close()

    with django_db_blocker.unblock():  # only this alias: the test database is not touched
        yield configure
    if ALIAS in connections.settings:
        connections[ALIAS].close()
        del connections[ALIAS]  # this thread's wrapper, which still names the old file
        del connections.settings[ALIAS]


def run_in_threads(*targets):
    """Run each target in its own thread (own connection); the exceptions they raised."""
    errors = []

    def wrap(target):
        try:
            target()
        except Exception as exc:  # collected for the test to look at
            errors.append(exc)
        finally:
            connections[ALIAS].close()

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
        assert not thread.is_alive()
    return errors


def read_then_write(hold=0.3):
    """The shape of every service: read (a version, a duplicate check), then write."""
    with transaction.atomic(using=ALIAS):
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM t")
            (count,) = cursor.fetchone()
            time.sleep(hold)  # the other writer starts meanwhile
            cursor.execute("INSERT INTO t (n) VALUES (%s)", [count])


def rows():
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT n FROM t ORDER BY id")
        return [n for (n,) in cursor.fetchall()]


def test_two_concurrent_writers_both_succeed(file_db):
    file_db()
    started = time.monotonic()
    assert run_in_threads(read_then_write, read_then_write) == []
    assert time.monotonic() - started < 10
    # Serialised: the second saw the first's row (no lost update, no "database is locked").
    assert rows() == [0, 1]


def test_a_writer_that_times_out_gets_the_conflict_message(file_db):
    file_db(timeout=0.2)  # shorter than the other writer's hold: the wait runs out
    holding = threading.Event()

    def hold_the_lock():
        with transaction.atomic(using=ALIAS):
            with connections[ALIAS].cursor() as cursor:
                cursor.execute("INSERT INTO t (n) VALUES (1)")
            holding.set()
            time.sleep(1.0)

    caught = []

    def late_writer():
        holding.wait(5)
        try:
            read_then_write(hold=0)
        except OperationalError as exc:
            caught.append(exc)

    assert run_in_threads(hold_the_lock, late_writer) == []
    (error,) = caught
    assert is_database_locked(error)
    request = RequestFactory().post("/toilets/households/new/")
    response = DatabaseLockedMiddleware(lambda r: None).process_exception(request, error)
    assert response.status_code == 409
    assert BUSY_MESSAGE in response.content.decode()
    api_request = RequestFactory().post("/api/households/")
    response = DatabaseLockedMiddleware(lambda r: None).process_exception(api_request, error)
    assert response.status_code == 409
    assert json.loads(response.content) == {"detail": BUSY_MESSAGE}
    assert rows() == [1]  # the late write saved nothing


# Through a whole request -----------------------------------------------------------------


def locked(**kwargs):
    raise OperationalError("database is locked")


def test_other_errors_are_not_swallowed():
    request = RequestFactory().get("/")
    middleware = DatabaseLockedMiddleware(lambda r: None)
    assert middleware.process_exception(request, OperationalError("no such table: x")) is None
    assert middleware.process_exception(request, ValueError("database is locked")) is None


@pytest.mark.django_db
def test_a_locked_page_write_answers_409_with_the_message(as_user, users, tree, monkeypatch):
    monkeypatch.setattr(HouseholdCreateView, "save_function", staticmethod(locked))
    data = {"village": tree.v1.pk, "head_name": "陈春梅", "id_number": "", "occupancy": "resident"}
    from tests.factories import valid_id_number

    data["id_number"] = valid_id_number(991)
    response = as_user(users.surveyor).post(reverse("toilets:household-create"), data)
    assert response.status_code == 409
    assert BUSY_MESSAGE in response.content.decode()


@pytest.mark.django_db
def test_a_locked_api_write_answers_409_with_the_message(api, users, tree, monkeypatch):
    import toilets.api.serializers
    from tests.factories import valid_id_number

    monkeypatch.setattr(toilets.api.serializers, "save_household", locked)
    api.force_authenticate(users.surveyor)
    payload = {
        "village": tree.v1.code,
        "head_name": "赵德明",
        "id_number": valid_id_number(992),
        "occupancy": "resident",
    }
    response = api.post("/api/households/", payload, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": BUSY_MESSAGE}

"""Settings come from the environment and are parsed strictly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_list

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "raw,expected", [("true", True), ("1", True), ("off", False), ("No", False)]
)
def test_env_bool_parses_known_words(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", default=not expected) is expected


def test_env_bool_refuses_junk(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured):
        env_bool("SOME_FLAG", default=False)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,")
    assert env_list("HOSTS", default=[]) == ["a.example", "b.example"]


def _load_settings(env):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.LANGUAGE_CODE, "
        "s.TIME_ZONE)"
    )
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_it_runs_with_no_variable_set():
    result = _load_settings({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3", "True", "zh-hans", "Asia/Shanghai",
    ]  # fmt: skip


def test_it_refuses_to_run_without_a_secret_when_debug_is_off():
    result = _load_settings({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_bad_debug_value_stops_start_up():
    result = _load_settings({"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_redis_and_postgres_come_from_the_environment():
    result = _load_settings(
        {"DATABASE_URL": "postgres://u:p@db:5432/x", "REDIS_URL": "redis://r:6379/0"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["django.db.backends.postgresql", "False"]


def test_an_empty_database_url_means_the_default_sqlite_file():
    result = _load_settings({"DATABASE_URL": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.db.backends.sqlite3"

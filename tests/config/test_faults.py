"""Faults on PostgreSQL (skipped on SQLite): the database connection dying under the app (as in
a PostgreSQL restart), and a backup restored into a fresh database.

The shared PostgreSQL server cannot be restarted from a test (other people's tests use it):
instead the app's own backend is terminated with pg_terminate_backend from another
connection, which is what a restart does to every connection. The drill with a real restart is
in docs/deploy.md (§7, §12)."""

import datetime
import os
import shutil
import subprocess
import tarfile
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections, connection, connections
from django.urls import reverse

from regions.choices import Role
from reports import services
from reports.build import build_summary
from reports.models import Seal, Submission
from tests.factories import SurveyRoundFactory, ToiletFactory, UserFactory
from tests.ledger import drive, open_entry
from tests.reports.complete import complete_round
from tests.reports.test_stamp import seal_bytes
from toilets.models import Toilet

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL faults: needs DATABASE_URL=postgres://…"
)
TOOLS = ("pg_dump", "pg_restore", "createdb", "dropdb")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate(pid: int):
    """Kill backend ``pid`` from a connection of its own (what a server restart does)."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


@pytest.fixture
def persistent_connections():
    """The connection settings production runs with (DEBUG off): connections kept 60 s and
    reused by the next request. Health checks come from config/settings.py as they are."""
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    yield connection.settings_dict
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = saved


@pytest.mark.django_db(transaction=True)
def test_the_app_reconnects_by_itself_after_its_connection_is_killed(
    client, users, register, persistent_connections
):
    client.raise_request_exception = False
    client.force_login(users.county)
    page = reverse("toilets:toilet-list")
    toilets = Toilet.objects.count()

    # Django does this on every request's start and end (request_started/finished); the test
    # client leaves it out, so the test calls it where a server would.
    close_old_connections()
    assert client.get(page).status_code == 200
    close_old_connections()
    before = backend_pid()

    terminate(before)  # PostgreSQL restarted under a kept-open connection
    close_old_connections()  # the next request starts
    response = client.get(page)
    assert response.status_code == 200  # not a 500: the health check reconnected first
    assert backend_pid() != before
    assert Toilet.objects.count() == toilets


# Backups ----------------------------------------------------------------------------------


def pg_env() -> tuple[dict, list[str]]:
    """The environment and the connection options of the command-line tools for the test
    database's server."""
    settings = connection.settings_dict
    env = {**os.environ}
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = settings["PASSWORD"]
    options = []
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings.get(key):
            options += [flag, str(settings[key])]
    return env, options


def run(*command, env, timeout=120):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (command[0], result.stderr[-2000:])
    return result


@pytest.fixture
def county_submitted(tree, users):
    """A county whose round is complete, both townships' summaries accepted and the county's
    own submitted, stamped with its seal (as in tests/reports/test_stamp.py)."""
    survey = SurveyRoundFactory(county=tree.county, name="2022年摸排")
    surveyor_v3 = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    entry = open_entry(users.surveyor, survey, ToiletFactory(household__village=tree.v1))
    drive(entry, township=users.township, surveyor=users.surveyor, to="closed")
    open_entry(surveyor_v3, survey, ToiletFactory(household__village=tree.v3))
    ToiletFactory(household__village=tree.v2)
    complete_round(survey)
    Seal.objects.create(
        region=tree.county,
        uploaded_by=users.county,
        image=SimpleUploadedFile("seal.png", seal_bytes()),
    )
    filler = {
        "filler_name": "陈志明",
        "filler_phone": "0777-1234567",
        "filled_on": datetime.date(2022, 5, 10),
    }
    for actor, township in ((users.township, tree.t1), (users.township_t2, tree.t2)):
        submission = services.submit_township(
            actor=actor, survey_round=survey, township=township, **filler
        )
        services.accept_submission(actor=users.county, submission=submission)
    final = services.submit_county(
        actor=users.county, survey_round=survey, county=tree.county, **filler
    )
    return survey, final


def picture(survey, county, user, cutoff) -> tuple[dict, str, str, bytes]:
    """What must survive a backup: the summary table, and the stamped file with its
    verification (by file and by code)."""
    summary = build_summary(survey, county, cutoff, user=user).as_dict()
    final = Submission.objects.get(kind="county", survey_round=survey)
    data = final.file.read()
    by_file = services.verify_file(data)
    by_code = services.verify_code(final.code)
    assert by_file.ok and by_code.ok, (by_file.notes, by_code.notes)
    return summary, by_file.answer, by_code.answer, data


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database_with_the_same_summary_and_verification(
    county_submitted, users, tree, settings, tmp_path
):
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"PostgreSQL client tools missing: {missing}")
    survey, final = county_submitted
    cutoff = final.submitted_at + datetime.timedelta(seconds=1)
    original = picture(survey, tree.county, users.county, cutoff)
    assert original[0]["total"]["1"] == 3

    # The backup, as docs/deploy.md §7 takes it: pg_dump -Fc, then the media directory.
    env, options = pg_env()
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "toilets.dump"
    media = tmp_path / "media.tar.gz"
    run("pg_dump", *options, "--format=custom", f"--file={dump}", source, env=env)
    media_root = settings.MEDIA_ROOT
    with tarfile.open(media, "w:gz") as archive:
        archive.add(media_root, arcname="media")

    # The restore into a fresh database and a fresh media directory.
    fresh = f"{source}_restore_{uuid.uuid4().hex[:8]}"
    run("createdb", *options, "--encoding=UTF8", "--template=template0", fresh, env=env)
    try:
        run("pg_restore", *options, "--no-owner", f"--dbname={fresh}", str(dump), env=env)
        restored_media = tmp_path / "restored"
        with tarfile.open(media) as archive:
            archive.extractall(restored_media, filter="data")
        settings.MEDIA_ROOT = restored_media / "media"

        connection.close()
        connection.settings_dict["NAME"] = fresh
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_database()")
                assert cursor.fetchone()[0] == fresh
            restored = picture(survey, tree.county, users.county, cutoff)
        finally:
            connection.close()
            connection.settings_dict["NAME"] = source
    finally:
        for alias in connections:
            connections[alias].close()
        run("dropdb", *options, "--if-exists", fresh, env=env)

    summary, by_file, by_code, data = restored
    assert summary == original[0]  # the same 33 columns, row by row
    assert (by_file, by_code) == original[1:3]  # 核验通过, by the file and by its code
    assert data == original[3]  # the very bytes that were stamped

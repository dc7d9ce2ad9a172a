"""Issue 16, finding 2: the ledger import's expansion check cannot be bypassed with stored
padding (each zip member's own ratio and size are checked), shared strings are counted, and
the read runs in a child process with a time and a memory limit — also when Celery is eager
and the check runs inside the upload's request."""

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports import reader
from imports.engine import import_ledger
from imports.models import ImportJob, ImportStatus
from imports.results import ImportFileError
from regions.choices import Role
from tests.factories import UserFactory
from tests.upload_bombs import expanded, shared_strings_bomb

pytestmark = pytest.mark.django_db
ROUND = "2022年摸排"


@pytest.fixture(scope="module")
def padded_bomb() -> bytes:
    """60 MB of shared strings (3.7 million) in ~70 KB, and 2 MB of stored random padding
    that keeps the whole file's ratio under 100."""
    data = shared_strings_bomb(60, padding=2 * 1024 * 1024)
    assert expanded(data) < 100 * len(data)
    return data


@pytest.fixture
def never_parsed(monkeypatch):
    def reached(*args, **kwargs):
        raise AssertionError("calamine was reached")

    monkeypatch.setattr(reader.CalamineWorkbook, "from_filelike", reached)


def refused(data) -> str:
    with pytest.raises(ImportFileError) as caught:
        import_ledger(io.BytesIO(data), round_name=ROUND)
    return caught.value.message


def test_stored_padding_does_not_let_a_shared_strings_bomb_through(tree, never_parsed, padded_bomb):
    started = time.monotonic()
    assert "解压后异常巨大" in refused(padded_bomb)
    assert time.monotonic() - started < 3


def test_the_upload_page_ends_the_job_with_the_refusal(
    client, tree, never_parsed, padded_bomb, django_capture_on_commit_callbacks
):
    county = UserFactory(username="county_bomb", role=(Role.COUNTY, tree.county))
    client.force_login(county)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imports:upload"),
            {"file": SimpleUploadedFile("台账.xlsx", padded_bomb), "round_name": ROUND},
        )
    assert time.monotonic() - started < 5
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "解压后异常巨大" in job.message


def test_too_many_shared_strings_are_refused(tree, never_parsed, monkeypatch):
    monkeypatch.setattr(reader, "MAX_STRINGS", 1000)
    data = shared_strings_bomb(0.1)  # ~6,000 strings, an honest ratio for its size
    assert "文字超过" in refused(data)


def _hog(*args):
    return bytearray(3 * 1024 * 1024 * 1024)  # what a runaway read would ask for


def test_the_read_runs_under_a_memory_limit(tree, monkeypatch):
    from tests.upload_bombs import base_workbook

    monkeypatch.setattr(reader, "_read_into", _hog)
    assert "内存超过限制" in refused(base_workbook())


def test_the_read_runs_under_a_time_limit(tree, monkeypatch):
    from tests.upload_bombs import base_workbook

    monkeypatch.setattr(reader, "READ_SECONDS", 0.5)
    monkeypatch.setattr(reader, "_read_into", lambda *args: time.sleep(30))
    started = time.monotonic()
    assert "超过时间限制" in refused(base_workbook())
    assert time.monotonic() - started < 3


def test_the_tasks_have_time_limits():
    from imports.tasks import run_check_task, run_import_task

    for task in (run_check_task, run_import_task):
        assert task.soft_time_limit and task.time_limit > task.soft_time_limit

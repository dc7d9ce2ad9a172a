"""Issue 16, findings 1 and 2: each zip member's own expansion and size are checked (not the
whole archive's ratio, which stored random padding defeats), shared strings are counted, and a
parse runs in a child process with a memory and a time limit (core.sandbox)."""

import io
import time
import zipfile

import pytest

from core import sandbox
from core.sandbox import LimitExceeded, run_limited
from core.uploads import MAX_RATIO, UploadRefused, check_spreadsheet, check_xlsx
from tests.upload_bombs import base_workbook, expanded, shared_strings_bomb

SHEET_LIMITS = {"max_rows": 200_011, "max_cells": 10_000_000}


def reason(call) -> str:
    with pytest.raises(UploadRefused) as refused:
        call()
    return refused.value.reason


@pytest.fixture(scope="module")
def padded_bomb() -> bytes:
    """40 MB of shared strings in ~25 KB, lifted past a whole-file ratio by 2 MB of padding."""
    data = shared_strings_bomb(40, padding=2 * 1024 * 1024)
    # The whole archive is well within a ratio over the whole file (and its 10 MB slack) …
    assert expanded(data) < MAX_RATIO * len(data)
    return data


def test_stored_padding_does_not_let_a_shared_strings_bomb_through(padded_bomb):
    started = time.monotonic()
    assert (
        reason(lambda: check_xlsx(padded_bomb, max_bytes=20 * 2**20, max_uncompressed=200 * 2**20))
        == UploadRefused.BOMB
    )
    assert (
        reason(lambda: check_spreadsheet(padded_bomb, max_bytes=50 * 2**20, **SHEET_LIMITS))
        == UploadRefused.BOMB
    )
    assert time.monotonic() - started < 2  # judged from the directory, nothing unpacked


def test_a_member_over_its_own_size_limit_is_refused_whatever_its_ratio():
    # 3 MB of incompressible text: an honest ratio, but more than a summary's member may be.
    data = shared_strings_bomb(0, padding=3 * 1024 * 1024)
    check_xlsx(data, max_bytes=20 * 2**20)  # fine without a member limit
    refused = reason(lambda: check_xlsx(data, max_bytes=20 * 2**20, max_member=2 * 2**20))
    assert refused == UploadRefused.BOMB
    refused = reason(
        lambda: check_spreadsheet(data, max_bytes=20 * 2**20, max_member=2 * 2**20, **SHEET_LIMITS)
    )
    assert refused == UploadRefused.BOMB


def test_shared_strings_are_counted():
    # 100,000 different strings compress like real text (no ratio alarm) but are too many.
    items = b"".join(b"<si><t>%06d</t></si>" % i for i in range(100_000))
    data = shared_strings_bomb(0)
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/sharedStrings.xml":
                content = content.replace(b"</sst>", items + b"</sst>")
            archive.writestr(info.filename, content)
    data = buffer.getvalue()
    check_xlsx(data, max_bytes=2**20, max_strings=100_001)
    assert (
        reason(lambda: check_xlsx(data, max_bytes=2**20, max_strings=50_000))
        == UploadRefused.TOO_MANY_STRINGS
    )
    assert (
        reason(lambda: check_spreadsheet(data, max_bytes=2**20, max_strings=50_000, **SHEET_LIMITS))
        == UploadRefused.TOO_MANY_STRINGS
    )


def test_an_ordinary_workbook_passes_the_member_checks():
    data = base_workbook()
    check_xlsx(data, max_bytes=2**20, max_member=2**20, max_strings=10)
    assert check_spreadsheet(
        data, max_bytes=2**20, max_member=2**20, max_strings=10, **SHEET_LIMITS
    )


# The sandbox ---------------------------------------------------------------------------------


def _allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def _sleep(seconds: float):
    time.sleep(seconds)


def _refuse():
    raise UploadRefused(UploadRefused.BOMB)


def test_the_sandbox_returns_the_value_and_raises_the_exception_of_the_work():
    assert run_limited(_allocate, 10, seconds=5, memory=100 * 2**20) == 10 * 1024 * 1024
    assert reason(lambda: run_limited(_refuse, seconds=5, memory=100 * 2**20)) == "bomb"


def test_the_sandbox_bounds_memory_without_touching_the_parent():
    with pytest.raises(LimitExceeded) as exceeded:
        run_limited(_allocate, 2000, seconds=10, memory=200 * 2**20)
    assert exceeded.value.reason == LimitExceeded.MEMORY
    assert _allocate(1) == 2**20  # the parent's own limit is unchanged


def test_the_sandbox_bounds_time():
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as exceeded:
        run_limited(_sleep, 30, seconds=0.5, memory=100 * 2**20)
    assert exceeded.value.reason == LimitExceeded.TIME
    assert time.monotonic() - started < 3
    assert sandbox.last_run.seconds < 3

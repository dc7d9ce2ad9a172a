"""The import's fast paths keep its promises: rows read while the file is still being read,
COPYs run in a thread of their own on PostgreSQL (``imports.bulk.Pipeline``), many chunks —
and still all or nothing, and a re-import changes nothing."""

import io
import threading

import pytest

from imports import bulk, engine, reader
from imports.engine import import_ledger
from imports.results import ImportFileError
from rectification.choices import LedgerState
from rectification.models import LedgerEntry
from surveys.models import Inspection
from tests.factories import SurveyRoundFactory
from tests.imports.test_import_ledger import ROUND, household_rows, snapshot
from tests.ledger_files import id_number, ledger_row, ledger_xlsx
from tests.surveys.test_inspection_village import inspect
from tests.two_sessions import session, two_sessions, wait_until_blocked
from toilets.models import Household, Toilet


def run(rows, actor):
    return import_ledger(io.BytesIO(ledger_xlsx(rows)), round_name=ROUND, actor=actor)


def mixed_rows():
    rows = household_rows(5)
    rows[1]["整改情况"] = "已销号"
    rows[3].update(使用情况="正常使用", 问题类型="", 整改情况="")
    # a second toilet of the first household
    first = rows[0]
    rows.append(
        ledger_row(
            户主姓名="户主0",
            身份证号=first["身份证号"],
            联系电话=first["联系电话"],
            技术模式="双瓮漏斗式",
        )
    )
    return rows


@pytest.fixture
def small_chunks(monkeypatch):
    """Two rows a chunk, the pipeline never more than one COPY ahead."""
    monkeypatch.setattr(engine, "CHUNK", 2)
    monkeypatch.setattr(bulk, "PENDING", 1)
    monkeypatch.setattr(bulk, "IDS", 1)


def test_many_chunks_write_what_one_chunk_writes(tree, users, small_chunks):
    result = run(mixed_rows(), users.county)
    assert result.saved
    assert result.counts["households_created"] == 5
    assert result.counts["toilets_created"] == 6
    assert result.counts["inspections_created"] == 6
    assert result.counts["entries_opened"] == 5
    assert Toilet.objects.filter(household__head_name="户主0").count() == 2
    assert LedgerEntry.objects.filter(state=LedgerState.CLOSED).count() == 1
    # Each new row has its history row, signed by the importer.
    assert Household.history.filter(history_user=users.county).count() == 5
    assert Toilet.history.filter(history_type="+").count() == 6


def test_many_chunks_re_imported_change_nothing_and_corrections_apply(tree, users, small_chunks):
    rows = mixed_rows()
    run(rows, users.county)
    first = snapshot()
    again = run(rows, users.county)
    assert snapshot() == first
    assert sum(v for k, v in again.counts.items() if k != "rows") == 0

    rows[0]["联系电话"] = "13900000000"
    rows[2].update(使用情况="正常使用", 问题类型="", 整改情况="")  # a mistake, withdrawn
    rows[4]["技术模式"] = "双瓮漏斗式"
    corrected = run(rows, users.county)
    assert corrected.counts["households_updated"] == 1
    assert corrected.counts["toilets_updated"] == 1
    assert corrected.counts["toilets_created"] == 0
    assert Household.objects.get(head_name="户主0").phone == "13900000000"
    entry = LedgerEntry.objects.get(toilet__household__head_name="户主2")
    assert entry.state == LedgerState.WITHDRAWN


def test_a_collision_while_writing_saves_nothing(tree, users, small_chunks, monkeypatch):
    """Somebody registers the same household while the import writes (here: the import
    does not see the registered one): the whole import is refused, nothing is saved."""
    rows = household_rows(3)
    run(rows[:1], users.county)
    before = snapshot()
    monkeypatch.setattr(engine, "_match_households", lambda *args: None)
    with pytest.raises(ImportFileError, match="同时修改"):
        run(rows, users.county)
    assert snapshot() == before
    assert Household.objects.filter(id_number=rows[1]["身份证号"]).count() == 0


def test_an_error_the_reader_meets_after_handing_on_rows_saves_nothing(tree, users, monkeypatch):
    monkeypatch.setattr(reader, "_BATCH", 1)  # each row handed on as soon as it is read
    monkeypatch.setattr(reader, "MAX_ROWS", 2)
    before = snapshot()
    with pytest.raises(ImportFileError, match="请分乡镇拆分后分别导入"):
        run(household_rows(3), users.county)
    assert snapshot() == before


def test_id_numbers_checked_on_the_fast_path_say_what_the_slow_one_says(tree, users):
    good = id_number(1)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    bad_birth = id_number(2, born="19801332")
    rows = household_rows(1)
    rows += [
        ledger_row(户主姓名="甲", 身份证号=good.lower()),
        ledger_row(户主姓名="乙", 身份证号=wrong_check),
        ledger_row(户主姓名="丙", 身份证号=bad_birth),
    ]
    result = run(rows, users.county)
    messages = {e.row: e.message for e in result.errors}
    assert set(messages) == {4, 5}
    assert "校验位错误" in messages[4]
    assert "出生日期 19801332 无效" in messages[5]


def paused_import(rows, users, monkeypatch, other):
    """Import ``rows`` into a new round one row a chunk, pausing after the first row's chunk
    is written (not committed) while ``other()`` runs in a session of its own; True if
    ``other`` had to wait for the import. Errors of either side are raised as one list."""
    monkeypatch.setattr(engine, "CHUNK", 1)
    paused, go = threading.Event(), threading.Event()
    errors = []

    def progress(done, total, message):
        if message.startswith("正在写入") and done == 1:
            paused.set()
            go.wait(timeout=10)

    importer = session(
        lambda: import_ledger(
            io.BytesIO(ledger_xlsx(rows)),
            round_name="2023年回头看",
            actor=users.county,
            progress=progress,
        ),
        errors,
        "import",
        on_error=paused.set,
    )
    importer.start()
    assert paused.wait(timeout=20)
    worker = session(other, errors, "other")
    worker.start()
    waited = wait_until_blocked(worker)
    go.set()
    importer.join(timeout=20)
    worker.join(timeout=20)
    assert errors == []
    return waited


@pytest.mark.django_db(transaction=True)
@two_sessions
def test_a_surveyors_save_during_an_import_that_changes_the_toilet_waits_without_deadlock(
    tree, users, monkeypatch
):
    """A surveyor records a toilet in the open round while an import that will change the
    toilet (a later row) is writing: the save waits for the import (on the villages' version
    rows), then is stored; neither is refused as a deadlock (a lock on the toilet taken by
    the save would make one)."""
    rows = household_rows(2)
    assert run(rows, users.county).saved
    survey = SurveyRoundFactory(county=tree.county, status="open")
    toilet = Toilet.objects.get(household__id_number=rows[1]["身份证号"])
    rows[1]["建造年份"] = 2015

    def save():
        inspect(users.surveyor, survey, Toilet.objects.get(pk=toilet.pk))

    assert paused_import(rows, users, monkeypatch, save)
    toilet.refresh_from_db()
    assert toilet.build_year == 2015
    assert Inspection.objects.filter(round=survey, toilet=toilet).exists()

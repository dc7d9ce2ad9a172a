"""The close-out workflow (issue 4, Quality): every allowed move of a ledger entry and every
refused one, the evidence each move needs, concurrent moves, the immutable log, the overdue
record and the acceptance checklists."""

import datetime
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from core.errors import ConflictError
from rectification import services
from rectification.checklists import GB_38836, GB_38837, GB_38838, checklist_for
from rectification.choices import ConsentMethod, LedgerState, LocationSource, PhotoKind
from rectification.models import (
    AcceptanceCheck,
    Consent,
    EvidencePhoto,
    LedgerEntry,
    LedgerLog,
    OverdueSnapshot,
)
from rectification.overdue import record_overdue
from rectification.tasks import record_overdue_task
from rectification.workflow import TRANSITIONS
from regions.choices import PLAN_ACCEPT, RECTIFY, REVIEW_CLOSEOUTS, ROLE_CAPABILITIES, Role
from surveys.models import SurveyRound
from surveys.services import save_inspection
from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory, UserFactory
from tests.images import jpeg, png
from tests.ledger import (
    after_photo,
    checklist,
    consent,
    drive,
    move,
    open_entry,
    paper_photo,
    plan_data,
    signature_png,
)
from toilets.choices import TechType

pytestmark = pytest.mark.django_db

S = LedgerState
METRES_PER_DEGREE = 111_194.93  # along a meridian, on the sphere surveys.flags measures on


def today():
    return timezone.localdate()


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2024年问题摸排")


@pytest.fixture
def entry_in(users, register, survey):
    """``entry_in(state)``: toilet t1's ledger entry brought to ``state`` the real way."""

    def make(state):
        entry = open_entry(users.surveyor, survey, register.t1)
        if state == S.WITHDRAWN:
            # The inspection that opened the entry is corrected to 正常使用.
            inspection = entry.opened_by_inspection
            inspection.usability = "normal"
            save_inspection(actor=users.surveyor, inspection=inspection, categories=[])
            entry.refresh_from_db()
        else:
            entry = drive(entry, township=users.township, surveyor=users.surveyor, to=state)
        assert entry.state == state
        return entry

    return make


# The user of each capability, in the entry's own region.
HOLDER = {RECTIFY: "surveyor", PLAN_ACCEPT: "township", REVIEW_CLOSEOUTS: "county"}


def holder(users, action):
    return getattr(users, HOLDER[TRANSITIONS[action].capability])


def valid_kwargs(entry, action) -> dict:
    """Everything ``action`` needs, valid, so a refusal can only come from what a test breaks."""
    later = today() + datetime.timedelta(days=60)
    return {
        "plan": lambda: {"plan": plan_data()},
        "replan": lambda: {"plan": plan_data(measures="整体更换化粪池", deadline=later)},
        "quick_fix": lambda: {"photos": [after_photo()], "note": "当场更换冲水阀"},
        "rectify": lambda: {"photos": [after_photo()]},
        "accept": lambda: {"checklist": checklist(entry)},
        "return": lambda: {"note": "过粪管仍有渗漏"},
        "close": lambda: {"consent": consent()},
        "reopen": lambda: {"note": "复核发现化粪池盖板仍破损"},
    }.get(action, dict)()


def media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def footprint(entry) -> dict:
    """What a refused move must leave exactly as it was."""
    stored = LedgerEntry.objects.get(pk=entry.pk)
    return {
        "state": stored.state,
        "version": stored.version,
        "state_changed_at": stored.state_changed_at,
        "closed_at": stored.closed_at,
        "reviewed_at": stored.reviewed_at,
        "plan": (stored.problem_class, stored.measures, stored.deadline, stored.target_year),
        "log": LedgerLog.objects.count(),
        "photos": EvidencePhoto.objects.count(),
        "checks": AcceptanceCheck.objects.count(),
        "consents": Consent.objects.count(),
        "files": media_files(),
    }


# Every allowed move ---------------------------------------------------------------------

ALLOWED = [(action, source) for action, t in TRANSITIONS.items() for source in t.sources]


@pytest.mark.parametrize(("action", "source"), ALLOWED, ids=[f"{a}-from-{s}" for a, s in ALLOWED])
def test_it_makes_every_allowed_move_with_its_log_and_stamps(entry_in, users, action, source):
    entry = entry_in(source)
    if action == "reopen":
        entry = move(entry, "review", users.county)  # reopening must clear the review
    before = LedgerEntry.objects.get(pk=entry.pk)
    logs = before.log.count()
    actor = holder(users, action)
    kwargs = valid_kwargs(entry, action)
    kwargs.setdefault("note", "现场核实无误")

    moved = move(entry, action, actor, **kwargs)

    target = TRANSITIONS[action].target or source
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert moved.state == stored.state == target
    assert stored.version == before.version + 1
    assert stored.log.count() == logs + 1
    log = stored.log.last()
    assert (log.from_state, log.to_state, log.actor, log.action) == (source, target, actor, action)
    assert kwargs["note"] in log.note
    if target != source:
        assert stored.state_changed_at > before.state_changed_at
    else:
        assert stored.state_changed_at == before.state_changed_at

    if action == "close":
        assert stored.closed_at is not None
        assert "户主 王建国 签字同意销号" in log.note
    elif action == "reopen":
        assert (stored.closed_at, stored.reviewed_by, stored.reviewed_at) == (None, None, None)
    elif action == "review":
        assert stored.closed_at == before.closed_at is not None
        assert stored.reviewed_by == users.county and stored.reviewed_at is not None
    else:
        assert stored.closed_at is None

    photos = EvidencePhoto.objects.filter(log=log)
    checks = AcceptanceCheck.objects.filter(log=log)
    consents = Consent.objects.filter(log=log)
    if action in ("rectify", "quick_fix"):
        assert [(p.kind, p.entry_id, p.uploaded_by) for p in photos] == [
            (PhotoKind.AFTER, entry.pk, actor)
        ]
    else:
        assert not photos.exists()
    if action == "accept":
        items = checklist_for(entry.toilet.tech_type)
        assert [(c.code, c.passed) for c in checks] == [(item.code, True) for item in items]
        assert f"验收 {len(items)} 项全部合格" in log.note
    else:
        assert not checks.exists()
    assert consents.count() == (1 if action == "close" else 0)
    if action in ("plan", "replan"):
        plan = kwargs["plan"]
        assert (stored.measures, stored.deadline) == (plan["measures"], plan["deadline"])
        assert f"时限 {plan['deadline'].isoformat()}" in log.note


# Every refused move ---------------------------------------------------------------------

WRONG_STATE = [
    (action, state)
    for action, t in TRANSITIONS.items()
    for state in S.values
    if state not in t.sources
]


@pytest.mark.parametrize(
    ("action", "state"), WRONG_STATE, ids=[f"{a}-from-{s}" for a, s in WRONG_STATE]
)
def test_it_refuses_every_move_from_a_state_it_does_not_start_from(entry_in, users, action, state):
    entry = entry_in(state)
    before = footprint(entry)
    with pytest.raises(ConflictError) as refused:
        move(entry, action, holder(users, action), **valid_kwargs(entry, action))
    assert f"当前为“{S(state).label}”" in refused.value.message
    assert f"不能执行“{TRANSITIONS[action].label}”" in refused.value.message
    assert footprint(entry) == before


ROLE_USERS = {
    "surveyor": Role.SURVEYOR,
    "township": Role.TOWNSHIP,
    "county": Role.COUNTY,
    "inspector": Role.INSPECTOR,
}
WRONG_ROLE = [
    (action, name)
    for action, t in TRANSITIONS.items()
    for name, role in ROLE_USERS.items()
    if t.capability not in ROLE_CAPABILITIES[role]
]


@pytest.mark.parametrize(("action", "user"), WRONG_ROLE, ids=[f"{a}-by-{u}" for a, u in WRONG_ROLE])
def test_it_refuses_every_move_to_a_role_without_its_capability(entry_in, users, action, user):
    entry = entry_in(TRANSITIONS[action].sources[0])
    before = footprint(entry)
    with pytest.raises(PermissionDenied, match=f"不能执行“{TRANSITIONS[action].label}”"):
        move(entry, action, getattr(users, user), **valid_kwargs(entry, action))
    assert footprint(entry) == before


# Users holding the capability, but for another village, township or county.
ELSEWHERE = {RECTIFY: "surveyor_v2", PLAN_ACCEPT: "township_t2", REVIEW_CLOSEOUTS: "outsider"}
WRONG_REGION = [(action, ELSEWHERE[t.capability]) for action, t in TRANSITIONS.items()]


@pytest.mark.parametrize(
    ("action", "user"), WRONG_REGION, ids=[f"{a}-by-{u}" for a, u in WRONG_REGION]
)
def test_it_refuses_every_move_outside_the_actors_region(entry_in, users, action, user):
    entry = entry_in(TRANSITIONS[action].sources[0])
    before = footprint(entry)
    with pytest.raises(PermissionDenied, match="不在您的管辖范围内"):
        move(entry, action, getattr(users, user), **valid_kwargs(entry, action))
    assert footprint(entry) == before


def _failing_items(entry):
    return checklist(entry, failing=("3836-leak",))


def _missing_item(entry):
    items = checklist(entry)
    del items["3837-cover"]
    return items


def _signature(data, name="signature.png"):
    return ContentFile(data, name=name)


NEXT_YEAR_JAN = datetime.date(today().year + 1, 1, 15)
# (state, action, kwargs, field, message the user reads)
INVALID = {
    "missing consent": (S.ACCEPTED, "close", lambda e: {}, "consent", "销号前须有户主签字"),
    "blank signature": (
        S.ACCEPTED,
        "close",
        lambda e: {"consent": consent(image=_signature(signature_png(blank=True)))},
        "image",
        "签字区为空白",
    ),
    "signature not an image": (
        S.ACCEPTED,
        "close",
        lambda e: {"consent": consent(image=_signature(b"not a picture"))},
        "image",
        "签字图片无法识别",
    ),
    "paper consent without its photo": (
        S.ACCEPTED,
        "close",
        lambda e: {"consent": consent(method=ConsentMethod.PAPER, image=None)},
        "image",
        "请上传签字纸质件照片",
    ),
    "consent dated tomorrow": (
        S.ACCEPTED,
        "close",
        lambda e: {"consent": consent(signed_on=today() + datetime.timedelta(days=1))},
        "signed_on",
        "签字日期不能晚于今天",
    ),
    "consent dated before the finding": (
        S.ACCEPTED,
        "close",
        lambda e: {"consent": consent(signed_on=today() - datetime.timedelta(days=2))},
        "signed_on",
        "签字日期不能早于问题登记日期",
    ),
    "consent without a name": (
        S.ACCEPTED,
        "close",
        lambda e: {"consent": consent(signer_name="  ")},
        "signer_name",
        "请填写签字人姓名",
    ),
    "failed checklist item": (
        S.RECTIFIED,
        "accept",
        lambda e: {"checklist": _failing_items(e)},
        "checklist",
        "有不合格项，不能验收，请退回整改：第 4 项“满水试验无渗漏”",
    ),
    "missing checklist item": (
        S.RECTIFIED,
        "accept",
        lambda e: {"checklist": _missing_item(e)},
        "checklist",
        "未检查：第 10 项“化粪池盖板完好、密闭，无破损”",
    ),
    "no checklist at all": (S.RECTIFIED, "accept", lambda e: {}, "checklist", "请逐项检查"),
    "rectify without photos": (
        S.IN_PROGRESS,
        "rectify",
        lambda e: {},
        "photos",
        "请拍摄或上传至少一张整改后照片",
    ),
    "quick fix without photos": (
        S.REGISTERED,
        "quick_fix",
        lambda e: {"note": "当场修好"},
        "photos",
        "请拍摄或上传至少一张整改后照片",
    ),
    "quick fix without a note": (
        S.REGISTERED,
        "quick_fix",
        lambda e: {"photos": [after_photo()]},
        "note",
        "请填写整改情况说明",
    ),
    "rectify with a file that is no photo": (
        S.IN_PROGRESS,
        "rectify",
        lambda e: {"photos": [after_photo(), ContentFile(b"%PDF-1.4", name="scan.pdf")]},
        "photos",
        "“scan.pdf”不是可识别的照片文件",
    ),
    "rectify with ten photos": (
        S.IN_PROGRESS,
        "rectify",
        lambda e: {"photos": [after_photo(f"{n}.jpg") for n in range(10)]},
        "photos",
        "最多上传 9 张照片",
    ),
    "return without a reason": (S.RECTIFIED, "return", lambda e: {}, "note", "请填写退回整改原因"),
    "return with a blank reason": (
        S.ACCEPTED,
        "return",
        lambda e: {"note": "   "},
        "note",
        "请填写退回整改原因",
    ),
    "reopen without a reason": (S.CLOSED, "reopen", lambda e: {}, "note", "请填写重新打开原因"),
    "reason too long": (
        S.RECTIFIED,
        "return",
        lambda e: {"note": "渗" * 301},
        "note",
        "退回整改原因不能超过 300 字",
    ),
    "plan with a past deadline": (
        S.REGISTERED,
        "plan",
        lambda e: {"plan": plan_data(deadline=today() - datetime.timedelta(days=1))},
        "deadline",
        "整改时限不能早于今天",
    ),
    "plan without measures": (
        S.REGISTERED,
        "plan",
        lambda e: {"plan": plan_data(measures=" ")},
        "measures",
        "请填写整改措施",
    ),
    "hard problem without a target year": (
        S.REGISTERED,
        "plan",
        lambda e: {"plan": plan_data(problem_class="hard")},
        "target_year",
        "重点难点问题请填写计划完成年度",
    ),
    "target year too far ahead": (
        S.REGISTERED,
        "plan",
        lambda e: {"plan": plan_data(problem_class="hard", target_year=today().year + 6)},
        "target_year",
        f"计划完成年度应在 {today().year}–{today().year + 5} 年之间",
    ),
    "deadline after the target year": (
        S.REGISTERED,
        "plan",
        lambda e: {
            "plan": plan_data(
                problem_class="hard", target_year=today().year, deadline=NEXT_YEAR_JAN
            )
        },
        "deadline",
        "整改时限不能晚于计划完成年度",
    ),
    "deadline over a year ahead for a non-hard problem": (
        S.REGISTERED,
        "plan",
        lambda e: {"plan": plan_data(deadline=today() + datetime.timedelta(days=400))},
        "deadline",
        "非重点难点问题的整改时限不超过一年",
    ),
    "plan without a class": (
        S.REGISTERED,
        "plan",
        lambda e: {"plan": plan_data(problem_class="")},
        "problem_class",
        "请选择整改类别",
    ),
    "plan with a bad phone number": (
        S.REGISTERED,
        "plan",
        lambda e: {"plan": plan_data(responsible_phone="打电话")},
        "responsible_phone",
        "联系电话只能包含数字",
    ),
    "replan with a past deadline": (
        S.IN_PROGRESS,
        "replan",
        lambda e: {"plan": plan_data(deadline=today() - datetime.timedelta(days=1))},
        "deadline",
        "整改时限不能早于今天",
    ),
    "browser location not numbers": (
        S.IN_PROGRESS,
        "rectify",
        lambda e: {"photos": [after_photo()], "location": ("纬度", "108.6")},
        "location",
        "定位数据格式不正确",
    ),
    "browser location NaN": (
        S.IN_PROGRESS,
        "rectify",
        lambda e: {"photos": [after_photo()], "location": ("NaN", "NaN")},
        "location",
        "定位数据格式不正确",
    ),
    "browser location of one number": (
        S.IN_PROGRESS,
        "rectify",
        lambda e: {"photos": [after_photo()], "location": (21.9,)},
        "location",
        "定位数据格式不正确",
    ),
    "browser location out of range": (
        S.IN_PROGRESS,
        "rectify",
        lambda e: {"photos": [after_photo()], "location": (95, 108.6)},
        "location",
        "定位数据超出范围",
    ),
}


@pytest.mark.parametrize(
    ("state", "action", "make_kwargs", "field", "message"), INVALID.values(), ids=INVALID.keys()
)
def test_it_refuses_a_move_whose_evidence_is_missing_or_wrong(
    entry_in, users, state, action, make_kwargs, field, message
):
    entry = entry_in(state)
    before = footprint(entry)
    with pytest.raises(ValidationError) as refused:
        move(entry, action, holder(users, action), **make_kwargs(entry))
    assert any(message in text for text in refused.value.message_dict[field]), (
        refused.value.message_dict
    )
    assert footprint(entry) == before


def test_it_removes_stored_photos_when_a_move_fails_after_storing_them(
    entry_in, users, monkeypatch
):
    entry = entry_in(S.IN_PROGRESS)
    before = footprint(entry)
    calls = []

    def distance_failing_on_the_second_photo(entry, lat, lon):
        calls.append(lat)
        if len(calls) == 2:
            raise OSError("disk full")
        return None

    monkeypatch.setattr(services, "_distance", distance_failing_on_the_second_photo)
    with pytest.raises(OSError):
        move(entry, "rectify", users.surveyor, photos=[after_photo("a.jpg"), paper_photo()])
    assert footprint(entry) == before


def test_it_removes_the_files_of_a_photo_row_the_database_refused(entry_in, users, monkeypatch):
    entry = entry_in(S.IN_PROGRESS)
    before = footprint(entry)
    # A negative distance breaks the column's CHECK: the INSERT fails after save() wrote
    # the image and its thumbnail to storage.
    monkeypatch.setattr(services, "_distance", lambda entry, lat, lon: -1)
    with pytest.raises(IntegrityError):
        move(entry, "rectify", users.surveyor, photos=[after_photo()])
    assert footprint(entry) == before


def test_it_refuses_an_unknown_action(entry_in, users):
    entry = entry_in(S.REGISTERED)
    before = footprint(entry)
    with pytest.raises(ValidationError, match="未知操作"):
        move(entry, "delete", users.township)
    assert footprint(entry) == before


def test_the_pages_offer_exactly_the_moves_the_service_allows(entry_in, users):
    entry = entry_in(S.RECTIFIED)
    assert [m.action for m in services.available_actions(users.township, entry)] == [
        "accept",
        "return",
    ]
    assert services.available_actions(users.surveyor, entry) == []
    assert services.available_actions(users.township_t2, entry) == []
    assert services.can(users.township, entry, "accept")
    assert not services.can(users.township, entry, "close")
    assert not services.can(users.township_t2, entry, "accept")
    assert not services.can(users.inspector, entry, "accept")


# Concurrency ----------------------------------------------------------------------------


def test_it_refuses_a_move_made_on_a_stale_version(entry_in, users, tree):
    entry = entry_in(S.PLANNED)
    colleague = UserFactory(username="township_b", role=(Role.TOWNSHIP, tree.t1))
    seen = entry.version
    move(entry, "replan", users.township, plan=plan_data(measures="方案甲"), expected_version=seen)
    before = footprint(entry)
    with pytest.raises(ConflictError, match="刚刚被他人处理过"):
        move(entry, "replan", colleague, plan=plan_data(measures="方案乙"), expected_version=seen)
    assert footprint(entry) == before
    assert LedgerEntry.objects.get(pk=entry.pk).measures == "方案甲"


def test_a_new_inspection_makes_an_open_form_stale(entry_in, users):
    entry = entry_in(S.REGISTERED)
    seen = entry.version
    # The surveyor corrects the finding while the township has the plan form open.
    inspection = entry.opened_by_inspection
    inspection.usability = "not_year_round"
    save_inspection(
        actor=users.surveyor, inspection=inspection, categories=list(entry.categories.all())
    )
    with pytest.raises(ConflictError, match="刚刚被他人处理过"):
        move(entry, "plan", users.township, plan=plan_data(), expected_version=seen)
    assert LedgerEntry.objects.get(pk=entry.pk).state == S.REGISTERED


def test_two_users_with_the_same_entry_open_only_the_first_wins(entry_in, users, tree):
    entry = entry_in(S.RECTIFIED)
    colleague = UserFactory(username="township_b", role=(Role.TOWNSHIP, tree.t1))
    mine = LedgerEntry.objects.get(pk=entry.pk)
    theirs = LedgerEntry.objects.get(pk=entry.pk)
    move(mine, "accept", users.township, checklist=checklist(mine), expected_version=mine.version)
    before = footprint(entry)
    with pytest.raises(ConflictError):
        move(
            theirs,
            "accept",
            colleague,
            checklist=checklist(theirs),
            expected_version=theirs.version,
        )
    with pytest.raises(ConflictError):  # nor can the second one return it instead
        move(theirs, "return", colleague, note="不合格", expected_version=theirs.version)
    assert footprint(entry) == before
    assert LedgerLog.objects.filter(entry=entry, action="accept").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite locks the whole database for a writer, so the race between two row "
    "updates cannot happen there; CI runs this on PostgreSQL",
)
@pytest.mark.parametrize("action", ["accept", "close"])
def test_two_simultaneous_moves_on_postgresql_exactly_one_wins(entry_in, users, tree, action):
    entry = entry_in(TRANSITIONS[action].sources[0])
    colleague = UserFactory(username="township_b", role=(Role.TOWNSHIP, tree.t1))
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(actor):
        try:
            mine = LedgerEntry.objects.select_related("toilet").get(pk=entry.pk)
            kwargs = valid_kwargs(mine, action)
            barrier.wait(timeout=10)
            services.transition(
                actor=actor, entry=mine, action=action, expected_version=mine.version, **kwargs
            )
            outcomes.append("moved")
        except ConflictError:
            outcomes.append("conflict")
        except Exception as exc:  # surfaced by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(u,)) for u in (users.township, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["conflict", "moved"]
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert stored.state == TRANSITIONS[action].target
    assert stored.version == entry.version + 1
    assert LedgerLog.objects.filter(entry=entry, action=action).count() == 1
    if action == "close":
        assert Consent.objects.filter(entry=entry).count() == 1
        assert len([f for f in media_files() if "consent_" in f]) == 1
    else:
        assert AcceptanceCheck.objects.filter(entry=entry).count() == len(checklist(entry))


# Reopening after a newer finding --------------------------------------------------------


def test_it_refuses_to_reopen_while_a_newer_entry_for_the_toilet_is_open(
    entry_in, users, register, tree, survey
):
    closed = entry_in(S.CLOSED)
    SurveyRound.objects.filter(pk=survey.pk).update(status="closed")
    look_back = SurveyRoundFactory(county=tree.county, kind="look_back", previous=survey)
    newer = open_entry(users.surveyor, look_back, register.t1, cats=("room",))
    assert newer.pk != closed.pk and newer.state == S.REGISTERED
    before = footprint(closed)
    with pytest.raises(ConflictError, match="该厕所已有未销号的问题台账，不能重新打开本条"):
        move(closed, "reopen", users.county, note="复核发现仍有问题")
    assert footprint(closed) == before
    assert LedgerEntry.objects.get(pk=newer.pk).state == S.REGISTERED


# 立行立改 --------------------------------------------------------------------------------


def test_a_quick_fix_is_classed_minor_and_closes_the_same_day(users, register, survey):
    entry = open_entry(users.surveyor, survey, register.t1, usability="not_year_round")
    entry = move(entry, "quick_fix", users.surveyor, photos=[after_photo()], note="当场更换冲水阀")
    assert entry.state == S.RECTIFIED
    assert entry.get_problem_class_display() == "立行立改"
    assert entry.deadline == today()
    entry = move(entry, "accept", users.township, checklist=checklist(entry))
    entry = move(entry, "close", users.township, consent=consent())
    assert entry.state == S.CLOSED
    assert timezone.localtime(entry.closed_at).date() == today()
    assert [log.action for log in entry.log.all()] == ["register", "quick_fix", "accept", "close"]
    assert not entry.is_overdue()


# Evidence -------------------------------------------------------------------------------


@pytest.fixture
def located_toilet(register):
    register.t1.latitude, register.t1.longitude = Decimal("21.950000"), Decimal("108.620000")
    register.t1.save()
    return register.t1


def test_an_after_photo_taken_2_km_away_is_flagged_far(entry_in, users, located_toilet, tree):
    entry = entry_in(S.IN_PROGRESS)
    north = float(located_toilet.latitude) + 2000 / METRES_PER_DEGREE
    move(entry, "rectify", users.surveyor, photos=[after_photo(gps=(north, 108.62))])
    photo = EvidencePhoto.objects.get(entry=entry)
    assert photo.location_source == LocationSource.EXIF
    assert abs(photo.distance_m - 2000) <= 5
    assert photo.is_far
    assert photo.village == tree.v1 and photo.uploaded_by == users.surveyor
    assert photo.taken_at == timezone.make_aware(datetime.datetime(2022, 5, 1, 10, 30))
    assert photo.log == entry.log.last() and photo.log.action == "rectify"
    assert {photo.image.name, photo.thumbnail.name} <= media_files()


def test_an_after_photo_at_the_toilet_is_not_flagged(entry_in, users, located_toilet):
    entry = entry_in(S.IN_PROGRESS)
    move(entry, "rectify", users.surveyor, photos=[after_photo(gps=(21.9501, 108.62))])
    photo = EvidencePhoto.objects.get(entry=entry)
    assert photo.distance_m <= 20 and not photo.is_far


def test_a_photo_without_gps_takes_the_browsers_location(entry_in, users, located_toilet, tree):
    entry = entry_in(S.IN_PROGRESS)
    north = float(located_toilet.latitude) + 2000 / METRES_PER_DEGREE
    move(
        entry,
        "rectify",
        users.surveyor,
        photos=[jpeg("no-gps.jpg", taken=None)],
        location=(north, 108.62),
    )
    photo = EvidencePhoto.objects.get(entry=entry)
    assert photo.location_source == LocationSource.BROWSER
    assert photo.latitude == Decimal(f"{north:.6f}") and photo.longitude == Decimal("108.62")
    assert abs(photo.distance_m - 2000) <= 5 and photo.is_far
    assert photo.village == tree.v1 and photo.uploaded_by == users.surveyor
    assert photo.taken_at is not None  # no EXIF time: the upload time stands in


def test_the_photos_own_gps_wins_over_the_browsers(entry_in, users, located_toilet):
    entry = entry_in(S.IN_PROGRESS)
    move(
        entry,
        "rectify",
        users.surveyor,
        photos=[after_photo(gps=(21.95, 108.62))],
        location=(22.5, 109.0),
    )
    photo = EvidencePhoto.objects.get(entry=entry)
    assert photo.location_source == LocationSource.EXIF and not photo.is_far


def test_a_photo_with_no_location_at_all_is_stored_without_distance(entry_in, users):
    entry = entry_in(S.IN_PROGRESS)
    move(entry, "rectify", users.surveyor, photos=[png()])
    photo = EvidencePhoto.objects.get(entry=entry)
    assert (photo.location_source, photo.latitude, photo.distance_m) == ("", None, None)
    assert not photo.is_far


def test_a_paper_consent_is_stored_with_the_close_out(entry_in, users):
    entry = entry_in(S.ACCEPTED)
    signed = consent(method=ConsentMethod.PAPER, image=paper_photo(), signer_name=" 王建国 ")
    entry = move(entry, "close", users.township, consent=signed)
    stored = Consent.objects.get(entry=entry)
    assert (stored.method, stored.signer_name, stored.signed_on) == (
        ConsentMethod.PAPER,
        "王建国",
        today(),
    )
    assert stored.log == entry.log.last()
    assert stored.image.name in media_files()
    assert "纸质签字拍照" in stored.log.note


# Immutability ---------------------------------------------------------------------------


@pytest.fixture
def closed_entry(entry_in):
    return entry_in(S.CLOSED)


@pytest.mark.parametrize(
    "rows", [LedgerLog, EvidencePhoto, AcceptanceCheck, Consent], ids=lambda m: m.__name__
)
def test_evidence_rows_refuse_to_change_or_go(closed_entry, rows):
    row = rows.objects.filter(entry=closed_entry).first()
    assert row is not None
    with pytest.raises(ValueError, match="immutable"):
        row.save()
    with pytest.raises(ValueError, match="immutable"):
        row.delete()
    assert rows.objects.filter(pk=row.pk).exists()


@pytest.fixture
def admin_client(client, tree):
    superuser = UserFactory(username="admin", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(
    "model", [LedgerLog, EvidencePhoto, AcceptanceCheck, Consent], ids=lambda m: m.__name__
)
def test_the_admin_cannot_change_add_or_delete_evidence(admin_client, closed_entry, model):
    row = model.objects.filter(entry=closed_entry).first()
    name = f"admin:rectification_{model._meta.model_name}"
    count = model.objects.count()

    assert admin_client.get(reverse(f"{name}_change", args=[row.pk])).status_code == 200
    assert admin_client.post(reverse(f"{name}_change", args=[row.pk]), {}).status_code == 403
    assert admin_client.get(reverse(f"{name}_delete", args=[row.pk])).status_code == 403
    assert (
        admin_client.post(reverse(f"{name}_delete", args=[row.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert admin_client.get(reverse(f"{name}_add")).status_code == 403
    changelist = admin_client.get(reverse(f"{name}_changelist"))
    assert changelist.status_code == 200
    assert "delete_selected" not in changelist.content.decode()
    admin_client.post(
        reverse(f"{name}_changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert model.objects.count() == count


def test_the_admin_cannot_rewrite_a_log_row(admin_client, closed_entry):
    log = closed_entry.log.last()
    original = (log.from_state, log.to_state, log.action, log.note)
    url = reverse("admin:rectification_ledgerlog_change", args=[log.pk])
    response = admin_client.post(
        url,
        {
            "entry": closed_entry.pk,
            "actor": log.actor_id,
            "from_state": "registered",
            "to_state": "closed",
            "action": "close",
            "note": "改写的说明",
        },
    )
    assert response.status_code == 403
    log = LedgerLog.objects.get(pk=log.pk)
    assert (log.from_state, log.to_state, log.action, log.note) == original
    assert original[0] == S.ACCEPTED and "改写" not in log.note


def test_the_admin_shows_an_entry_but_cannot_change_or_delete_it(admin_client, closed_entry):
    url = reverse("admin:rectification_ledgerentry_change", args=[closed_entry.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "户主 王建国 签字同意销号" in page.content.decode()  # the log, inline
    assert admin_client.post(url, {"state": "in_progress"}).status_code == 403
    delete = reverse("admin:rectification_ledgerentry_delete", args=[closed_entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:rectification_ledgerentry_add")).status_code == 403
    stored = LedgerEntry.objects.get(pk=closed_entry.pk)
    assert (stored.state, stored.version) == (S.CLOSED, closed_entry.version)


# Overdue --------------------------------------------------------------------------------


@pytest.fixture
def ledger(tree, users, register, survey):
    """Entries in several states, all with deadlines 30 days ahead:
    T1: planned, in_progress, rectified, registered (no plan); T2: planned; county B: planned."""
    v3_surveyor = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    v4_surveyor = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, tree.v4))
    t3_township = UserFactory(username="township_t3", role=(Role.TOWNSHIP, tree.t3))
    survey_b = SurveyRoundFactory(county=tree.county_b)

    def v1_entry(to):
        toilet = ToiletFactory(household=HouseholdFactory(village=tree.v1))
        entry = open_entry(users.surveyor, survey, toilet)
        return drive(entry, township=users.township, surveyor=users.surveyor, to=to)

    entries = {
        "planned": v1_entry(S.PLANNED),
        "in_progress": v1_entry(S.IN_PROGRESS),
        "rectified": v1_entry(S.RECTIFIED),
        "registered": v1_entry(S.REGISTERED),
        "t2": drive(
            open_entry(v3_surveyor, survey, register.t3),
            township=users.township_t2,
            surveyor=v3_surveyor,
            to=S.PLANNED,
        ),
        "b": drive(
            open_entry(v4_surveyor, survey_b, register.t4),
            township=t3_township,
            surveyor=v4_surveyor,
            to=S.PLANNED,
        ),
    }
    return entries


def test_overdue_is_planned_or_in_progress_past_the_deadline(ledger):
    after_deadline = today() + datetime.timedelta(days=31)
    overdue = set(LedgerEntry.objects.overdue(after_deadline).values_list("pk", flat=True))
    expected = {"planned", "in_progress", "t2", "b"}
    assert overdue == {ledger[k].pk for k in expected}
    assert ledger["rectified"].is_overdue(after_deadline) is False  # reported done in time
    assert ledger["planned"].is_overdue(after_deadline) is True
    on_deadline = ledger["planned"].deadline
    assert not LedgerEntry.objects.overdue(on_deadline).exists()


def test_the_overdue_record_is_one_row_per_township_per_day(ledger, tree):
    day = today() + datetime.timedelta(days=31)
    assert record_overdue(day) == 3
    rows = {s.township: s for s in OverdueSnapshot.objects.filter(day=day)}
    assert set(rows) == {tree.t1, tree.t2, tree.t3}
    assert rows[tree.t1].entry_ids == sorted([ledger["planned"].pk, ledger["in_progress"].pk])
    assert rows[tree.t1].count == 2
    assert (rows[tree.t2].count, rows[tree.t2].entry_ids) == (1, [ledger["t2"].pk])
    assert (rows[tree.t3].count, rows[tree.t3].entry_ids) == (1, [ledger["b"].pk])

    # Later that day one entry is reported rectified; recording again replaces the day.
    LedgerEntry.objects.filter(pk=ledger["planned"].pk).update(state=S.RECTIFIED)
    assert record_overdue(day) == 3
    assert OverdueSnapshot.objects.filter(day=day).count() == 3
    t1 = OverdueSnapshot.objects.get(day=day, township=tree.t1)
    assert (t1.count, t1.entry_ids) == (1, [ledger["in_progress"].pk])

    record_overdue(day + datetime.timedelta(days=1))
    assert OverdueSnapshot.objects.count() == 6


def test_the_overdue_record_is_scoped_by_township(ledger, tree, users):
    record_overdue(today() + datetime.timedelta(days=31))

    def seen(user):
        return {s.township for s in OverdueSnapshot.objects.visible_to(user)}

    assert seen(users.township) == {tree.t1}
    assert seen(users.township_t2) == {tree.t2}
    assert seen(users.county) == {tree.t1, tree.t2}
    assert seen(users.outsider) == {tree.t3}


def test_the_daily_beat_task_records_the_overdue_list(ledger, tree):
    assert "rectification.record_overdue" in celery_app.tasks
    assert "rectification.record_overdue" in {
        job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()
    }
    result = record_overdue_task.apply()
    assert result.successful() and result.get() == 3
    assert set(OverdueSnapshot.objects.filter(day=today()).values_list("count", flat=True)) == {0}


# The checklists -------------------------------------------------------------------------


@pytest.mark.parametrize("tech_type", TechType.values)
def test_every_tech_type_has_a_checklist_with_unique_codes(tech_type):
    items = checklist_for(tech_type)
    assert items
    codes = [item.code for item in items]
    assert len(codes) == len(set(codes))
    assert all(item.text and item.standard for item in items)
    # The recorded rows must fit their columns.
    code_max = AcceptanceCheck._meta.get_field("code").max_length
    text_max = AcceptanceCheck._meta.get_field("text").max_length
    assert all(len(item.code) <= code_max and len(item.text) <= text_max for item in items)


def test_the_checklists_follow_the_national_standards():
    three = {item.standard for item in checklist_for(TechType.THREE_COMPARTMENT)}
    assert {GB_38836, GB_38837} <= three
    assert GB_38838 in {item.standard for item in checklist_for(TechType.SEWER)}
    texts = " ".join(item.text for item in checklist_for(TechType.THREE_COMPARTMENT))
    for fact in ("1.5 m³", "2:1:3", "1000 mm", "满水试验", "排气管", "0.2%", "1.2 m²"):
        assert fact in texts


@pytest.mark.parametrize("model", ["LedgerLog", "EvidencePhoto", "AcceptanceCheck", "Consent"])
def test_log_and_evidence_refuse_bulk_update_and_delete(users, register, tree, model):
    from rectification import models

    survey_round = SurveyRoundFactory(county=tree.county)
    entry = open_entry(users.surveyor, survey_round, register.t1)
    drive(entry, township=users.township, surveyor=users.surveyor, to="closed")
    rows = getattr(models, model).objects.filter(entry=entry)
    before = list(rows.values_list("pk", flat=True))
    assert before
    with pytest.raises(ValueError, match="immutable"):
        rows.delete()
    with pytest.raises(ValueError, match="immutable"):
        rows.update(entry=entry)
    assert list(rows.values_list("pk", flat=True)) == before

"""Bulk acceptance as a service (``services.accept_many``): several rectified entries accepted
in one transaction, each against its own checklist, all of them or none."""

import pytest

from rectification import services
from rectification.choices import LedgerState
from rectification.models import AcceptanceCheck, LedgerLog
from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory
from tests.ledger import checklist, drive, move, open_entry

pytestmark = pytest.mark.django_db

S = LedgerState


@pytest.fixture
def two_rectified(users, tree, register):
    """王建国's toilet in V1 and 赵六's in V2 (both township T1), both rectified."""
    survey = SurveyRoundFactory(county=tree.county, name="2024年问题摸排")
    first = open_entry(users.surveyor, survey, register.t1)
    h2 = HouseholdFactory(village=tree.v2, head_name="赵六")
    second = open_entry(users.surveyor_v2, survey, ToiletFactory(household=h2))
    first = drive(first, township=users.township, surveyor=users.surveyor, to=S.RECTIFIED)
    second = drive(second, township=users.township, surveyor=users.surveyor_v2, to=S.RECTIFIED)
    return first, second


def acceptance(entry, *, failing=(), **kwargs):
    return services.Acceptance(
        entry=entry,
        checklist=checklist(entry, failing=failing),
        expected_version=entry.version,
        **kwargs,
    )


def states(entries):
    return [type(e).objects.get(pk=e.pk).state for e in entries]


def test_it_accepts_every_entry_each_against_its_checklist(users, two_rectified):
    refused = services.accept_many(
        actor=users.township,
        acceptances=[acceptance(e, note="现场验收") for e in two_rectified],
    )
    assert refused == {}
    assert states(two_rectified) == [S.ACCEPTED, S.ACCEPTED]
    for entry in two_rectified:
        log = LedgerLog.objects.get(entry=entry, action="accept")
        assert log.actor == users.township
        assert log.note.endswith("全部合格。现场验收")
        assert AcceptanceCheck.objects.filter(log=log, passed=True).exists()


def test_one_bad_entry_accepts_nothing_and_writes_no_log(users, two_rectified):
    first, second = two_rectified
    logs, checks = LedgerLog.objects.count(), AcceptanceCheck.objects.count()
    refused = services.accept_many(
        actor=users.township,
        acceptances=[acceptance(first), acceptance(second, failing={"3836-vent"})],
    )
    assert refused == {second.pk: "有不合格项，不能验收，请退回整改：第 6 项“第一格设置排气管”"}
    assert states(two_rectified) == [S.RECTIFIED, S.RECTIFIED]  # the good one too
    assert LedgerLog.objects.count() == logs
    assert AcceptanceCheck.objects.count() == checks
    assert not LedgerLog.objects.filter(action="accept").exists()


def test_every_refusal_is_reported_in_words(users, two_rectified):
    first, second = two_rectified
    move(second, "return", users.township, note="照片不清楚")
    refused = services.accept_many(
        actor=users.township,
        acceptances=[
            services.Acceptance(entry=first, checklist={}, expected_version=first.version),
            acceptance(second),
        ],
    )
    assert refused[first.pk].startswith("请逐项检查后再验收，未检查：第 1 项")
    assert refused[second.pk] == "该问题当前为“整改中”，不能执行“验收通过”。"
    assert states(two_rectified) == [S.RECTIFIED, S.IN_PROGRESS]


def test_a_changed_entry_or_another_region_refuses_the_batch(users, two_rectified):
    first, second = two_rectified
    outdated = services.Acceptance(
        entry=first, checklist=checklist(first), expected_version=first.version - 1
    )
    refused = services.accept_many(actor=users.township, acceptances=[outdated, acceptance(second)])
    assert refused == {first.pk: "该问题台账刚刚被他人处理过，请刷新后查看最新状态。"}

    refused = services.accept_many(actor=users.township_t2, acceptances=[acceptance(first)])
    assert refused == {first.pk: "该问题台账不在您的管辖范围内。"}
    assert states(two_rectified) == [S.RECTIFIED, S.RECTIFIED]
    assert not LedgerLog.objects.filter(action="accept").exists()


def test_a_dry_run_checks_every_entry_and_writes_nothing(users, two_rectified):
    refused = services.accept_many(
        actor=users.township,
        acceptances=[acceptance(e) for e in two_rectified],
        dry_run=True,
    )
    assert refused == {}
    assert states(two_rectified) == [S.RECTIFIED, S.RECTIFIED]
    assert not LedgerLog.objects.filter(action="accept").exists()

"""Township rectification plans (整改方案) filed with the county (审核备案), issue 17: every
legal and refused move, the rules on sections and entries, the long-term entries' planned
year and the 时间表, the scoping of every page, the page flows and the pinned query counts."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.errors import ConflictError, StaleEditError
from rectification import plans
from rectification.choices import PlanState
from rectification.models import LedgerEntry, PlanLog, RectificationPlan
from regions.choices import Role
from tests.factories import (
    HouseholdFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
    region,
)
from tests.ledger import move, open_entry, plan_data

pytestmark = pytest.mark.django_db

S = PlanState
PLANS = reverse("rectification:plans")
SECTIONS = {
    "focus": "粪池渗漏和厕具损坏为主，重点为沙埠村、东风村",
    "tech_route": "三格化粪池式为主，宜水则水、宜旱则旱",
    "organization": "分管副镇长牵头，农业农村办专班 5 人，技术员 2 人",
    "funding": "县级计划资金、乡镇配套资金和农户自筹",
    "timeline": "立行立改 2024年9月底前；技术指导整改 2024年12月底前；重点难点分年度",
}


def today():
    return timezone.localdate()


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2024年问题摸排")


@pytest.fixture
def entries(tree, users, register, survey):
    """e1 (V1) and e2 (V2) of township T1, e3 of T2, e4 of county B."""
    h2 = HouseholdFactory(village=tree.v2, head_name="赵六")
    surveyor_v3 = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    surveyor_v4 = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, tree.v4))
    survey_b = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    return {
        "e1": open_entry(users.surveyor, survey, register.t1),
        "e2": open_entry(users.surveyor_v2, survey, ToiletFactory(household=h2)),
        "e3": open_entry(surveyor_v3, survey, register.t3),
        "e4": open_entry(surveyor_v4, survey_b, register.t4),
    }


def start(users, survey, tree):
    return plans.start_plan(actor=users.township, survey_round=survey, township=tree.t1)


def filled(users, plan, **overrides):
    sections = SECTIONS | overrides
    ids = list(plan.entries.values_list("pk", flat=True))
    return plans.save_plan(actor=users.township, plan=plan, sections=sections, entries=ids)


@pytest.fixture
def plan_in(users, survey, tree, entries):
    """``plan_in(state)``: township T1's plan brought to ``state`` the real way."""

    def make(state):
        plan = filled(users, start(users, survey, tree))
        if state == S.DRAFT:
            return plan
        plan = plans.submit_plan(actor=users.township, plan=plan)
        if state == S.ACCEPTED:
            plan = plans.accept_plan(actor=users.county, plan=plan)
        elif state == S.RETURNED:
            plan = plans.return_plan(actor=users.county, plan=plan, reason="经费保障不具体")
        return plan

    return make


# Starting, saving, submitting ----------------------------------------------------------------


def test_it_starts_a_draft_covering_the_townships_open_entries(users, survey, tree, entries):
    plan = start(users, survey, tree)
    assert plan.state == S.DRAFT
    assert set(plan.entries.all()) == {entries["e1"], entries["e2"]}
    assert [log.action for log in plan.log.all()] == ["create"]


def test_it_leaves_closed_entries_out_of_a_new_plan_but_lets_them_be_picked(
    users, survey, tree, entries
):
    from tests.ledger import drive

    drive(entries["e2"], township=users.township, surveyor=users.surveyor_v2, to="closed")
    plan = start(users, survey, tree)
    assert set(plan.entries.all()) == {entries["e1"]}
    plan = filled(users, plan)
    plan = plans.save_plan(
        actor=users.township, plan=plan, sections=SECTIONS, entries=[entries["e2"]]
    )
    assert set(plan.entries.all()) == {entries["e2"]}


def test_it_refuses_a_second_plan_for_the_same_township_and_round(users, survey, tree, entries):
    start(users, survey, tree)
    with pytest.raises(ConflictError, match="已经有了"):
        start(users, survey, tree)
    with pytest.raises(IntegrityError), transaction.atomic():
        RectificationPlan.objects.create(
            survey_round=survey, township=tree.t1, created_by=users.township
        )


def test_it_refuses_to_start_a_plan_for_another_township_or_without_the_role(
    users, survey, tree, entries
):
    with pytest.raises(PermissionDenied, match="不在您的管辖范围内"):
        plans.start_plan(actor=users.township, survey_round=survey, township=tree.t2)
    with pytest.raises(PermissionDenied, match="乡镇审核员"):
        plans.start_plan(actor=users.county, survey_round=survey, township=tree.t1)
    with pytest.raises(PermissionDenied, match="以乡镇为单位"):
        plans.start_plan(actor=users.township, survey_round=survey, township=tree.v1)


def test_it_refuses_a_plan_for_a_round_not_yet_opened(users, tree, entries):
    draft = SurveyRoundFactory(county=tree.county, name="2025年回头看", status="draft")
    with pytest.raises(ConflictError, match="尚未开启"):
        plans.start_plan(actor=users.township, survey_round=draft, township=tree.t1)


def test_it_saves_the_sections_and_entries_of_a_draft(users, survey, tree, entries):
    plan = start(users, survey, tree)
    plan = plans.save_plan(
        actor=users.township,
        plan=plan,
        sections={"focus": "  粪池问题  "},
        entries=[entries["e1"].pk],
        expected_version=plan.version,
    )
    assert plan.state == S.DRAFT
    assert plan.focus == "粪池问题"
    assert plan.timeline == ""
    assert list(plan.entries.all()) == [entries["e1"]]


@pytest.mark.parametrize("stray", ["e3", "e4"])
def test_it_refuses_entries_of_another_township_or_county(users, survey, tree, entries, stray):
    plan = start(users, survey, tree)
    with pytest.raises(ValidationError) as error:
        plans.save_plan(
            actor=users.township,
            plan=plan,
            sections=SECTIONS,
            entries=[entries["e1"].pk, entries[stray].pk],
        )
    assert "有 1 条问题不属于沙埠镇" in error.value.message_dict["entries"][0]
    assert set(plan.entries.all()) == {entries["e1"], entries["e2"]}  # nothing written


def test_it_refuses_an_entry_of_a_later_round_and_takes_one_still_open_from_an_earlier_one(
    users, survey, tree, register, entries
):
    survey.opened_at = timezone.now() - datetime.timedelta(days=30)
    survey.status = "closed"
    survey.save()
    later = SurveyRoundFactory(
        county=tree.county, name="2025年回头看", previous=survey, opened_at=timezone.now()
    )
    found_later = open_entry(users.surveyor, later, ToiletFactory(household=register.h1))
    plan = start(users, survey, tree)
    with pytest.raises(ValidationError):
        plans.save_plan(
            actor=users.township, plan=plan, sections=SECTIONS, entries=[found_later.pk]
        )
    later_plan = plans.start_plan(actor=users.township, survey_round=later, township=tree.t1)
    # 回头看 carries the earlier round's open entries on.
    assert set(later_plan.entries.all()) == {entries["e1"], entries["e2"], found_later}


def test_it_refuses_a_withdrawn_entry(users, survey, tree, entries):
    from surveys.services import save_inspection

    plan = start(users, survey, tree)
    inspection = entries["e1"].opened_by_inspection
    inspection.usability = "normal"
    save_inspection(actor=users.surveyor, inspection=inspection, categories=[])
    with pytest.raises(ValidationError) as error:
        plans.submit_plan(actor=users.township, plan=filled(users, plan))
    assert "已撤销" in error.value.message_dict["entries"][0]


def test_it_refuses_to_submit_without_all_five_sections_and_an_entry(users, survey, tree, entries):
    plan = plans.save_plan(
        actor=users.township,
        plan=start(users, survey, tree),
        sections={"focus": "粪池问题"},
        entries=[],
    )
    with pytest.raises(ValidationError) as error:
        plans.submit_plan(actor=users.township, plan=plan)
    assert error.value.message_dict == {
        "tech_route": ["请填写技术路线。"],
        "organization": ["请填写力量组织。"],
        "funding": ["请填写经费保障。"],
        "timeline": ["请填写时限要求。"],
        "entries": ["请至少纳入一条问题台账。"],
    }
    plan.refresh_from_db()
    assert plan.state == S.DRAFT


def test_it_submits_a_complete_plan_and_freezes_it_in_the_log(users, survey, tree, entries):
    plan = filled(users, start(users, survey, tree))
    plan = plans.submit_plan(actor=users.township, plan=plan, expected_version=plan.version)
    assert plan.state == S.SUBMITTED
    assert plan.submitted_by == users.township
    assert plan.submitted_at is not None
    assert plan.submissions == 1
    log = plan.log.last()
    assert log.action == "submit"
    assert log.snapshot["sections"]["focus"] == SECTIONS["focus"]
    assert log.snapshot["entries"] == sorted([entries["e1"].pk, entries["e2"].pk])


# Review -------------------------------------------------------------------------------------------


def test_the_county_accepts_a_submitted_plan_for_the_record(users, plan_in):
    plan = plan_in(S.SUBMITTED)
    plan = plans.accept_plan(actor=users.county, plan=plan, expected_version=plan.version)
    assert plan.state == S.ACCEPTED
    assert plan.reviewed_by == users.county
    assert plan.log.last().action == "accept"


def test_the_county_returns_a_plan_only_with_a_reason(users, plan_in):
    plan = plan_in(S.SUBMITTED)
    with pytest.raises(ValidationError) as error:
        plans.return_plan(actor=users.county, plan=plan, reason="  ")
    assert "请填写退回原因" in error.value.message_dict["reason"][0]
    plan = plans.return_plan(actor=users.county, plan=plan, reason="经费保障不具体")
    assert plan.state == S.RETURNED
    assert plan.return_reason == "经费保障不具体"
    assert plan.log.last().note == "经费保障不具体"


def test_the_township_corrects_and_resubmits_a_returned_plan(users, plan_in):
    plan = plan_in(S.RETURNED)
    plan = filled(users, plan, funding="县级计划资金 30 万元，乡镇配套 10 万元")
    assert plan.state == S.RETURNED  # still returned until sent again
    plan = plans.submit_plan(actor=users.township, plan=plan)
    assert plan.state == S.SUBMITTED
    assert plan.submissions == 2
    assert plan.log.last().action == "resubmit"
    assert plan.log.last().snapshot["sections"]["funding"].startswith("县级计划资金 30 万元")
    assert plans.accept_plan(actor=users.county, plan=plan).state == S.ACCEPTED


def test_the_township_revises_an_accepted_plan_with_a_reason(users, plan_in):
    plan = plan_in(S.ACCEPTED)
    with pytest.raises(ValidationError):
        plans.revise_plan(actor=users.township, plan=plan, reason="")
    plan = plans.revise_plan(actor=users.township, plan=plan, reason="新发现问题 3 户")
    assert plan.state == S.DRAFT
    assert plans.shown_state(plan) == plans.NOT_SUBMITTED


MOVES = {
    "save": lambda u, p: plans.save_plan(actor=u.township, plan=p, sections=SECTIONS, entries=[]),
    "submit": lambda u, p: plans.submit_plan(actor=u.township, plan=p),
    "accept": lambda u, p: plans.accept_plan(actor=u.county, plan=p),
    "return": lambda u, p: plans.return_plan(actor=u.county, plan=p, reason="不完整"),
    "revise": lambda u, p: plans.revise_plan(actor=u.township, plan=p, reason="修订"),
}
LEGAL = {
    (S.DRAFT, "save"), (S.DRAFT, "submit"), (S.RETURNED, "save"), (S.RETURNED, "submit"),
    (S.SUBMITTED, "accept"), (S.SUBMITTED, "return"), (S.ACCEPTED, "revise"),
}  # fmt: skip
TARGET = {"submit": S.SUBMITTED, "accept": S.ACCEPTED, "return": S.RETURNED, "revise": S.DRAFT}


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("action", list(MOVES))
def test_every_move_is_taken_from_its_states_only(users, plan_in, state, action):
    plan = plan_in(state)
    logs = plan.log.count()
    if (state, action) in LEGAL:
        if action == "save":  # keep the entries, so the plan stays submittable
            moved = filled(users, plan)
        else:
            moved = MOVES[action](users, plan)
        assert moved.state == TARGET.get(action, state)
        assert plan.log.count() == logs + 1
        return
    with pytest.raises(ConflictError) as error:
        MOVES[action](users, plan)
    assert f"当前为“{S(state).label}”" in error.value.message
    plan.refresh_from_db()
    assert plan.state == state
    assert plan.log.count() == logs


def test_submitting_an_accepted_plan_points_to_revision(users, plan_in):
    with pytest.raises(ConflictError, match="修订方案"):
        plans.submit_plan(actor=users.township, plan=plan_in(S.ACCEPTED))


@pytest.mark.parametrize("who", ["township", "inspector", "surveyor"])
def test_only_the_county_reviews(users, plan_in, who):
    plan = plan_in(S.SUBMITTED)
    with pytest.raises(PermissionDenied):
        plans.accept_plan(actor=getattr(users, who), plan=plan)
    with pytest.raises(PermissionDenied):
        plans.return_plan(actor=getattr(users, who), plan=plan, reason="x")


@pytest.mark.parametrize("who", ["county", "inspector", "township_t2", "surveyor"])
def test_only_the_own_township_writes_its_plan(users, plan_in, who):
    plan = plan_in(S.DRAFT)
    with pytest.raises(PermissionDenied):
        plans.save_plan(actor=getattr(users, who), plan=plan, sections=SECTIONS, entries=[])
    with pytest.raises(PermissionDenied):
        plans.submit_plan(actor=getattr(users, who), plan=plan)


def test_another_countys_officer_cannot_review(users, plan_in):
    plan = plan_in(S.SUBMITTED)
    with pytest.raises(PermissionDenied, match="不在您的管辖范围内"):
        plans.accept_plan(actor=users.outsider, plan=plan)


def test_two_reviewers_of_the_same_version_one_wins(users, tree, plan_in):
    plan = plan_in(S.SUBMITTED)
    seen = plan.version
    second = UserFactory(username="county2", role=(Role.COUNTY, tree.county))
    plans.accept_plan(actor=users.county, plan=plan, expected_version=seen)
    with pytest.raises(ConflictError):
        plans.return_plan(actor=second, plan=plan, reason="不同意", expected_version=seen)
    plan.refresh_from_db()
    assert plan.state == S.ACCEPTED
    assert plan.log.filter(action__in=["accept", "return"]).count() == 1


def test_a_stale_edit_is_refused(users, plan_in):
    plan = plan_in(S.DRAFT)
    seen = plan.version
    filled(users, plan, focus="别人先改了")
    with pytest.raises(StaleEditError):
        plans.save_plan(
            actor=users.township, plan=plan, sections=SECTIONS, entries=[], expected_version=seen
        )
    with pytest.raises(StaleEditError):
        plans.submit_plan(actor=users.township, plan=plan, expected_version=seen)


def test_a_review_of_a_plan_changed_since_it_was_read_is_refused(users, plan_in):
    plan = plan_in(S.RETURNED)
    seen = plan.version
    plan = plans.submit_plan(actor=users.township, plan=plan)
    with pytest.raises(StaleEditError):
        plans.accept_plan(actor=users.county, plan=plan, expected_version=seen)


def test_the_database_holds_the_plan_invariants(users, survey, tree, entries):
    plan = start(users, survey, tree)
    for changes in (
        {"state": S.SUBMITTED},  # no submitter
        {"state": S.ACCEPTED, "submitted_at": timezone.now(), "submitted_by": users.township},
        {
            "state": S.RETURNED,
            "submitted_at": timezone.now(),
            "submitted_by": users.township,
            "reviewed_at": timezone.now(),
            "reviewed_by": users.county,
        },  # no reason
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            RectificationPlan.objects.filter(pk=plan.pk).update(**changes)


def test_log_rows_are_immutable(users, plan_in):
    log = plan_in(S.SUBMITTED).log.first()
    with pytest.raises(ValueError):
        log.save()
    with pytest.raises(ValueError):
        PlanLog.objects.filter(pk=log.pk).update(note="x")


# Long-term entries: the planned year and the 时间表 ------------------------------------------------


def test_a_long_term_entry_must_carry_its_planned_year(users, entries):
    with pytest.raises(ValidationError) as error:
        move(entries["e1"], "plan", users.township, plan=plan_data(problem_class="hard"))
    assert "计划完成年度" in error.value.message_dict["target_year"][0]
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entries["e1"].pk).update(
            problem_class="hard", target_year=None
        )


def long_term(entry, users, year):
    deadline = datetime.date(year, 6, 30)
    return move(
        entry,
        "plan",
        users.township,
        plan=plan_data(problem_class="hard", target_year=year, deadline=deadline),
    )


def test_the_plan_lists_its_long_term_entries_by_planned_year(
    users, survey, tree, register, entries
):
    year = today().year
    old = ToiletFactory(household=register.h1, build_year=2015)
    self_built = ToiletFactory(household=register.h1, funding="self_built", build_year=2010)
    e_old = open_entry(users.surveyor, survey, old)
    e_self = open_entry(users.surveyor, survey, self_built)
    long_term(entries["e1"], users, year + 1)  # built 2018: township and household
    long_term(e_old, users, year + 1)  # built 2015: the region's plan
    long_term(e_self, users, year + 2)
    move(entries["e2"], "plan", users.township, plan=plan_data())  # short term
    plan = start(users, survey, tree)
    rows = plans.timetable(plan, users.township)
    assert [(r.year, r.total, r.region_plan, r.township_plan, r.self_built) for r in rows] == [
        (year + 1, 2, 1, 1, 0),
        (year + 2, 1, 0, 0, 1),
    ]
    assert plans.long_term_route(old) == "纳入全区改厕计划逐年整改"
    assert plans.long_term_route(register.t1) == "镇筹集部分资金，落实农户自行逐年整改"


# Pages --------------------------------------------------------------------------------------------


def plan_url(plan, name="rectification:plan"):
    return reverse(name, args=[plan.pk])


def form_post(entries_, then="save", version=1, **sections):
    data = {"version": version, "then": then, "entries": [e.pk for e in entries_]}
    data.update(SECTIONS | sections)
    return data


def test_the_pages_ask_for_a_login(client, plan_in):
    plan = plan_in(S.SUBMITTED)
    for url in (PLANS, plan_url(plan), plan_url(plan, "rectification:plan-review")):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["township_t2", "outsider", "surveyor"])
def test_another_townships_or_countys_plan_is_not_found(as_user, users, plan_in, who):
    plan = plan_in(S.SUBMITTED)
    client = as_user(getattr(users, who))
    for name in ("rectification:plan", "rectification:plan-edit", "rectification:plan-review"):
        assert client.get(plan_url(plan, name)).status_code == 404
    for name in ("rectification:plan-submit", "rectification:plan-review"):
        assert client.post(plan_url(plan, name), {"decision": "accept"}).status_code == 404
    plan.refresh_from_db()
    assert plan.state == S.SUBMITTED


def test_a_round_of_another_county_is_not_found(as_user, users, tree, survey):
    assert as_user(users.outsider).get(PLANS, {"round": survey.pk}).status_code == 404
    other = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    new_url = reverse("rectification:plan-new", args=[other.pk])
    assert as_user(users.township).get(new_url).status_code == 404


def test_the_wrong_role_is_refused(as_user, users, survey, plan_in):
    plan = plan_in(S.SUBMITTED)
    county = as_user(users.county)
    assert county.get(reverse("rectification:plan-new", args=[survey.pk])).status_code == 403
    assert county.get(plan_url(plan, "rectification:plan-revise")).status_code == 403
    township = as_user(users.township)
    assert township.get(plan_url(plan, "rectification:plan-review")).status_code == 403
    inspector = as_user(users.inspector)
    response = inspector.get(plan_url(plan))
    assert response.status_code == 200
    assert "审核备案 / 退回" not in response.content.decode()


def test_the_township_drafts_submits_and_resubmits_through_the_pages(
    as_user, users, survey, tree, entries
):
    client = as_user(users.township)
    listing = client.get(PLANS).content.decode()
    new_url = reverse("rectification:plan-new", args=[survey.pk])
    assert new_url in listing

    form = client.get(new_url)
    assert form.context["selected"] == {entries["e1"].pk, entries["e2"].pk}
    page = form.content.decode()
    assert "赵六" in page and "李秀英" not in page

    # A draft with one section only: saved.
    response = client.post(new_url, {"version": 1, "then": "save", "focus": "粪池问题"})
    plan = RectificationPlan.objects.get(township=tree.t1)
    assert response.status_code == 302 and response["Location"] == plan_url(plan)
    assert plan.state == S.DRAFT and plan.entries.count() == 0
    assert client.get(new_url)["Location"] == plan_url(plan, "rectification:plan-edit")

    # 保存并报备 with sections missing: saved, not sent, every gap named.
    edit = plan_url(plan, "rectification:plan-edit")
    response = client.post(
        edit, form_post([entries["e1"]], then="submit", version=plan.version, timeline="")
    )
    assert response.status_code == 200
    assert "方案已保存，但还不能报备" in response.content.decode()
    assert "请填写时限要求" in response.content.decode()
    plan.refresh_from_db()
    assert plan.state == S.DRAFT and list(plan.entries.all()) == [entries["e1"]]
    assert response.context["form"]["version"].value() == plan.version

    # Complete: sent.
    response = client.post(edit, form_post([entries["e1"]], then="submit", version=plan.version))
    plan.refresh_from_db()
    assert plan.state == S.SUBMITTED
    assert client.get(edit).status_code == 302  # a submitted plan is not edited

    plans.return_plan(actor=users.county, plan=plan, reason="请纳入东风村的问题户")
    page = client.get(plan_url(plan)).content.decode()
    assert "请纳入东风村的问题户" in page and "重新报备" in page
    plan.refresh_from_db()
    client.post(edit, form_post([entries["e1"], entries["e2"]], version=plan.version))
    plan.refresh_from_db()
    assert plan.state == S.RETURNED and plan.entries.count() == 2
    response = client.post(plan_url(plan, "rectification:plan-submit"), {"version": plan.version})
    plan.refresh_from_db()
    assert plan.state == S.SUBMITTED and plan.submissions == 2


def test_a_page_post_with_an_entry_of_another_township_is_refused(
    as_user, users, survey, tree, entries
):
    client = as_user(users.township)
    new_url = reverse("rectification:plan-new", args=[survey.pk])
    response = client.post(new_url, form_post([entries["e1"], entries["e3"]], then="submit"))
    assert response.status_code == 200
    assert "有 1 条问题不属于沙埠镇" in response.content.decode()
    assert not RectificationPlan.objects.exists()  # the refused first save left nothing


def test_the_county_reviews_through_the_pages(as_user, users, survey, tree, plan_in):
    plan = plan_in(S.SUBMITTED)
    client = as_user(users.county)
    listing = client.get(PLANS, {"round": survey.pk})
    assert [(t.name, state) for t, _p, state in listing.context["rows"]] == [
        ("沙埠镇", "submitted"),
        ("康熙岭镇", "none"),
    ]
    assert plan_url(plan, "rectification:plan-review") in listing.content.decode()

    review = plan_url(plan, "rectification:plan-review")
    page = client.get(review).content.decode()
    assert SECTIONS["organization"] in page
    response = client.post(review, {"version": plan.version, "decision": "return", "reason": ""})
    assert response.status_code == 200
    assert "请填写退回原因" in response.content.decode()
    client.post(review, {"version": plan.version, "decision": "return", "reason": "时限不明确"})
    plan.refresh_from_db()
    assert plan.state == S.RETURNED and plan.return_reason == "时限不明确"
    assert client.get(review).status_code == 302  # nothing to review now

    plan = plans.submit_plan(actor=users.township, plan=plan)
    response = client.post(review, {"version": plan.version - 1, "decision": "accept"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.state == S.SUBMITTED  # a stale page's click is refused
    client.post(review, {"version": plan.version, "decision": "accept"})
    plan.refresh_from_db()
    assert plan.state == S.ACCEPTED
    counts = {k: n for k, _l, n in client.get(PLANS).context["columns"]}
    assert counts == {"none": 1, "submitted": 0, "accepted": 1, "returned": 0}


def test_the_township_revises_through_the_pages(as_user, users, plan_in):
    plan = plan_in(S.ACCEPTED)
    client = as_user(users.township)
    url = plan_url(plan, "rectification:plan-revise")
    assert "请填写修订原因" in client.post(url, {"version": plan.version}).content.decode()
    response = client.post(url, {"version": plan.version, "reason": "新发现问题户"})
    assert response["Location"] == plan_url(plan, "rectification:plan-edit")
    plan.refresh_from_db()
    assert plan.state == S.DRAFT


def test_the_plan_page_shows_the_timetable_and_filters_by_year(
    as_user, users, survey, tree, entries
):
    year = today().year + 1
    long_term(entries["e1"], users, year)
    plan = filled(users, start(users, survey, tree))
    client = as_user(users.county)
    page = client.get(plan_url(plan)).content.decode()
    assert f'data-year="{year}"' in page
    response = client.get(plan_url(plan), {"year": year})
    assert [e.pk for e in response.context["entries"]] == [entries["e1"].pk]
    assert "镇筹集部分资金" in response.content.decode()
    assert client.get(plan_url(plan), {"year": "x"}).status_code == 404


def test_the_entry_page_shows_its_planned_year_and_plan(as_user, users, survey, tree, entries):
    year = today().year + 2
    long_term(entries["e1"], users, year)
    plan = start(users, survey, tree)
    page = (
        as_user(users.township)
        .get(reverse("rectification:entry", args=[entries["e1"].pk]))
        .content.decode()
    )
    assert f"{year} 年" in page and 'id="target-year"' in page
    assert plan_url(plan) in page


def test_the_ledger_and_home_link_to_the_plans(as_user, users, entries):
    client = as_user(users.township)
    assert PLANS in client.get(reverse("rectification:ledger")).content.decode()
    assert PLANS in client.get(reverse("home")).content.decode()


def test_the_county_dashboard_counts_townships_per_plan_state(as_user, users, survey, plan_in):
    plan_in(S.SUBMITTED)
    response = as_user(users.county).get(reverse("dashboards:index"), {"round": survey.pk})
    panel = response.context["plan_panel"]
    assert [(key, n) for key, _label, n in panel.columns] == [
        ("none", 1),
        ("submitted", 1),
        ("accepted", 0),
        ("returned", 0),
    ]
    assert f"{PLANS}?round={survey.pk}" in response.content.decode()


# Query counts --------------------------------------------------------------------------------------


def more_townships(tree, n):
    for i in range(n):
        region(f"4507021{10 + i}000", f"新镇{i}", tree.county)


@pytest.mark.parametrize("n", [0, 6])
def test_the_countys_list_runs_a_pinned_number_of_queries(
    as_user, users, survey, tree, plan_in, django_assert_num_queries, n
):
    plan_in(S.SUBMITTED)
    more_townships(tree, n)
    client = as_user(users.county)
    # session, user, role; rounds; townships; plans with their entry counts
    with django_assert_num_queries(6):
        response = client.get(PLANS, {"round": survey.pk})
    assert len(response.context["rows"]) == 2 + n


@pytest.mark.parametrize("n", [1, 4])
def test_the_townships_list_runs_a_pinned_number_of_queries(
    as_user, users, tree, plan_in, django_assert_num_queries, n
):
    plan_in(S.DRAFT)
    for i in range(n):
        SurveyRoundFactory(county=tree.county, name=f"后续{i}", status="closed")
    client = as_user(users.township)
    # session, user, role; rounds; the township's plans
    with django_assert_num_queries(5):
        response = client.get(PLANS)
    assert len(response.context["round_rows"]) == 1 + n


@pytest.mark.parametrize("n", [0, 5])
def test_the_plan_page_runs_a_pinned_number_of_queries(
    as_user, users, survey, tree, register, entries, django_assert_num_queries, n
):
    for _ in range(n):
        open_entry(users.surveyor, survey, ToiletFactory(household=register.h1))
    plan = filled(users, start(users, survey, tree))
    client = as_user(users.county)
    # session, user, role; plan; count and page of entries; log; counts; timetable (a draft:
    # no move is open to the county, so no scope check for one)
    with django_assert_num_queries(9):
        response = client.get(plan_url(plan))
    assert response.context["counts"]["total"] == 2 + n


def test_the_admin_shows_plans_read_only(client, plan_in):
    plan = plan_in(S.SUBMITTED)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = reverse("admin:rectification_rectificationplan_change", args=[plan.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert SECTIONS["focus"] in response.content.decode()
    client.post(url, {"state": "accepted"})
    plan.refresh_from_db()
    assert plan.state == S.SUBMITTED


def test_an_entry_whose_toilet_moved_away_is_not_read_through_the_old_townships_plan(
    as_user, users, survey, tree, entries
):
    """The county moves a covered toilet to another township: the plan keeps the link, but
    the old township's reviewer no longer reads that household or village through it."""
    from toilets.models import Household, Toilet

    plan = start(users, survey, tree)
    moved = entries["e2"].toilet
    Household.objects.filter(pk=moved.household_id).update(village=tree.v3)
    Toilet.objects.filter(pk=moved.pk).update(village=tree.v3)
    page = as_user(users.township).get(reverse("rectification:plan", args=[plan.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "赵六" not in body and "坪山村" not in body
    assert plans.plan_counts(plan, users.township)["total"] == 1
    assert plans.plan_counts(plan, users.county)["total"] == 2


def test_a_plan_covering_more_than_a_thousand_entries_saves_through_the_page(
    as_user, users, survey, tree
):
    """A large township: 1,200 problem toilets ticked in one form (Django refuses more than
    1,000 fields by default, with a bare 400)."""
    n = 1200
    households = HouseholdFactory._meta.model.objects.bulk_create(
        HouseholdFactory.build(village=tree.v1, id_number=f"45070220000101{i:04d}")
        for i in range(n)
    )
    toilets = ToiletFactory._meta.model.objects.bulk_create(
        ToiletFactory.build(household=h, village=tree.v1) for h in households
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(toilet=t, found_in=survey, usability="unusable") for t in toilets
    )
    client = as_user(users.township)
    new_url = reverse("rectification:plan-new", args=[survey.pk])
    response = client.post(new_url, form_post(LedgerEntry.objects.all()))
    assert response.status_code == 302, response.content.decode()[:500]
    plan = RectificationPlan.objects.get()
    assert plan.entries.count() == n


def test_a_post_beyond_every_limit_gets_a_chinese_page_and_saves_nothing(
    as_user, users, survey, tree
):
    client = as_user(users.township)
    new_url = reverse("rectification:plan-new", args=[survey.pk])
    data = {"version": 1, "then": "save", "entries": list(range(1, 10_002))}
    response = client.post(new_url, data)
    assert response.status_code == 400
    assert "请求无法处理" in response.content.decode()
    assert not RectificationPlan.objects.exists()

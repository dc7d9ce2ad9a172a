"""回头看 reconciliation: every kind of change against the previous round is found, a village is
done only when each change has a reason, and each user sees and writes only its own region."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from surveys import reconcile
from surveys.models import ProblemCategory, ReconciliationNote
from surveys.reconcile import record_reason, village_status
from tests.factories import HouseholdFactory, InspectionFactory, SurveyRoundFactory, ToiletFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def earlier(tree):
    return SurveyRoundFactory(county=tree.county, name="2021年摸排", status="closed")


@pytest.fixture
def look_back(tree, earlier):
    return SurveyRoundFactory(
        county=tree.county, name="2022年回头看", kind="look_back", previous=earlier
    )


def toilet_in(village, **fields):
    return ToiletFactory(household=HouseholdFactory(village=village), **fields)


def inspect(survey, toilet, usability="normal", categories=(), surveyor=None):
    row = InspectionFactory(round=survey, toilet=toilet, usability=usability, surveyor=surveyor)
    row.categories.set(ProblemCategory.objects.filter(code__in=categories))
    return row


def changes(survey, village):
    return {c.key: c for c in village_status(survey, village)[0]}


# What counts as a change ------------------------------------------------------------------


def test_it_finds_a_toilet_that_became_unusable(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    inspect(earlier, toilet, "normal", surveyor=users.surveyor)
    inspect(look_back, toilet, "unusable", ["tank", "room"], surveyor=users.surveyor)
    found = changes(look_back, tree.v1)
    assert set(found) == {f"toilet:{toilet.pk}:usability", f"toilet:{toilet.pk}:categories"}
    assert found[f"toilet:{toilet.pk}:usability"].description == "使用情况：正常使用 → 不能使用"
    assert (
        found[f"toilet:{toilet.pk}:categories"].description == "问题类型：无 → 厕屋问题、粪池问题"
    )


def test_it_finds_changed_problem_categories(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    inspect(earlier, toilet, "not_year_round", ["other"], surveyor=users.surveyor)
    inspect(look_back, toilet, "not_year_round", ["other", "tank"], surveyor=users.surveyor)
    found = changes(look_back, tree.v1)
    assert set(found) == {f"toilet:{toilet.pk}:categories"}
    # Named in the summary table's column order (粪池 is column 14, 其他 column 19).
    assert found[f"toilet:{toilet.pk}:categories"].description == (
        "问题类型：其他问题 → 粪池问题、其他问题"
    )


def test_it_finds_nothing_for_a_toilet_found_the_same(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    inspect(earlier, toilet, "unusable", ["tank"], surveyor=users.surveyor)
    inspect(look_back, toilet, "unusable", ["tank"], surveyor=users.surveyor)
    assert changes(look_back, tree.v1) == {}
    assert village_status(look_back, tree.v1) == ([], 0, True)


def test_it_finds_register_edits_made_since_the_previous_inspection(
    tree, users, earlier, look_back
):
    toilet = toilet_in(tree.v1, tech_type="three_compartment", build_year=2018)
    inspect(earlier, toilet, surveyor=users.surveyor)
    inspect(look_back, toilet, surveyor=users.surveyor)
    toilet.tech_type, toilet.build_year = "double_urn", 2019
    toilet.save()
    found = changes(look_back, tree.v1)
    assert set(found) == {f"toilet:{toilet.pk}:tech_type", f"toilet:{toilet.pk}:build_year"}
    assert (
        found[f"toilet:{toilet.pk}:tech_type"].description == "技术模式：三格化粪池式 → 双瓮漏斗式"
    )
    assert found[f"toilet:{toilet.pk}:build_year"].description == "建造年份：2018 年 → 2019 年"


def test_it_ignores_register_edits_made_before_the_previous_inspection(
    tree, users, earlier, look_back
):
    toilet = toilet_in(tree.v1, build_year=2018)
    toilet.build_year = 2017
    toilet.save()
    inspect(earlier, toilet, surveyor=users.surveyor)
    inspect(look_back, toilet, surveyor=users.surveyor)
    assert changes(look_back, tree.v1) == {}


def test_it_finds_a_register_edit_that_was_later_undone_as_no_change(
    tree, users, earlier, look_back
):
    toilet = toilet_in(tree.v1, build_year=2018)
    inspect(earlier, toilet, surveyor=users.surveyor)
    inspect(look_back, toilet, surveyor=users.surveyor)
    toilet.build_year = 2019
    toilet.save()
    toilet.build_year = 2018
    toilet.save()
    assert changes(look_back, tree.v1) == {}


def test_it_finds_a_toilet_not_yet_rechecked_until_it_is(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    inspect(earlier, toilet, "unusable", ["tank"], surveyor=users.surveyor)
    found = changes(look_back, tree.v1)
    assert set(found) == {f"toilet:{toilet.pk}:not_rechecked"}
    assert found[f"toilet:{toilet.pk}:not_rechecked"].description == (
        "上轮已摸排（不能使用），本轮尚未复查"
    )
    inspect(look_back, toilet, "unusable", ["tank"], surveyor=users.surveyor)
    assert changes(look_back, tree.v1) == {}


def test_it_finds_a_demolished_toilet(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    inspect(earlier, toilet, surveyor=users.surveyor)
    toilet.status = "demolished"
    toilet.save()
    found = changes(look_back, tree.v1)
    assert set(found) == {f"toilet:{toilet.pk}:demolished"}
    assert found[f"toilet:{toilet.pk}:demolished"].kind == reconcile.ChangeKind.DEMOLISHED


def test_it_finds_a_toilet_inspected_for_the_first_time(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    inspect(look_back, toilet, "unusable", ["room"], surveyor=users.surveyor)
    found = changes(look_back, tree.v1)
    assert set(found) == {f"toilet:{toilet.pk}:new"}
    assert found[f"toilet:{toilet.pk}:new"].description == "上轮未摸排，本轮新摸排（不能使用）"


@pytest.mark.parametrize("occupancy,label", [("vacant", "无人户"), ("away", "长期外出")])
def test_it_finds_a_household_that_became_hollow(tree, users, earlier, look_back, occupancy, label):
    toilet = toilet_in(tree.v1)
    inspect(earlier, toilet, surveyor=users.surveyor)
    inspect(look_back, toilet, surveyor=users.surveyor)
    household = toilet.household
    household.occupancy = occupancy
    household.save()
    found = changes(look_back, tree.v1)
    key = f"household:{household.pk}:hollow"
    assert set(found) == {key}
    assert found[key].description == f"居住情况：常住 → {label}（空心户）"
    assert found[key].subject == f"户主 {household.head_name}"


def test_it_does_not_find_a_household_that_moved_back_in(tree, users, earlier, look_back):
    household = HouseholdFactory(village=tree.v1, occupancy="away")
    toilet = ToiletFactory(household=household)
    inspect(earlier, toilet, surveyor=users.surveyor)
    inspect(look_back, toilet, surveyor=users.surveyor)
    household.occupancy = "resident"
    household.save()
    assert changes(look_back, tree.v1) == {}


def test_it_finds_a_household_with_a_second_toilet(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    inspect(earlier, toilet, surveyor=users.surveyor)
    inspect(look_back, toilet, surveyor=users.surveyor)
    ToiletFactory(household=toilet.household)
    found = changes(look_back, tree.v1)
    key = f"household:{toilet.household_id}:multiple_toilets"
    assert set(found) == {key}
    assert found[key].description == "一户多厕：上轮时在用厕所 1 个 → 现在 2 个"


def test_it_does_not_find_a_household_that_already_had_two_toilets(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    ToiletFactory(household=toilet.household)
    inspect(earlier, toilet, surveyor=users.surveyor)
    inspect(look_back, toilet, surveyor=users.surveyor)
    assert changes(look_back, tree.v1) == {}


def test_it_does_not_count_a_demolished_second_toilet(tree, users, earlier, look_back):
    toilet = toilet_in(tree.v1)
    inspect(earlier, toilet, surveyor=users.surveyor)
    inspect(look_back, toilet, surveyor=users.surveyor)
    ToiletFactory(household=toilet.household, status="demolished")
    assert changes(look_back, tree.v1) == {}


def test_it_keeps_each_villages_changes_apart(tree, users, earlier, look_back):
    in_v1, in_v2 = toilet_in(tree.v1), toilet_in(tree.v2)
    inspect(earlier, in_v1, surveyor=users.surveyor)
    inspect(earlier, in_v2, surveyor=users.surveyor)
    assert set(changes(look_back, tree.v1)) == {f"toilet:{in_v1.pk}:not_rechecked"}
    assert set(changes(look_back, tree.v2)) == {f"toilet:{in_v2.pk}:not_rechecked"}


def test_it_refuses_to_compare_a_round_without_a_previous_one(tree, earlier):
    with pytest.raises(reconcile.NoPreviousRound):
        village_status(earlier, tree.v1)


# Reasons and done -------------------------------------------------------------------------


@pytest.fixture
def two_changes(tree, users, earlier, look_back):
    """V1 has two changes: a toilet not re-checked, and a new one."""
    gone, new = toilet_in(tree.v1), toilet_in(tree.v1)
    inspect(earlier, gone, surveyor=users.surveyor)
    inspect(look_back, new, surveyor=users.surveyor)
    return f"toilet:{gone.pk}:not_rechecked", f"toilet:{new.pk}:new"


def explain(actor, survey, village, key, reason="农户已搬迁"):
    return record_reason(actor=actor, round=survey, village=village, change_key=key, reason=reason)


def test_it_counts_a_village_done_only_when_every_change_has_a_reason(
    tree, users, look_back, two_changes
):
    assert village_status(look_back, tree.v1)[1:] == (0, False)
    explain(users.surveyor, look_back, tree.v1, two_changes[0], "户主外出务工，下周复查")
    listed, explained, done = village_status(look_back, tree.v1)
    assert (len(listed), explained, done) == (2, 1, False)
    assert {c.key: c.reason for c in listed}[two_changes[0]] == "户主外出务工，下周复查"
    explain(users.township, look_back, tree.v1, two_changes[1], "上轮漏登，本轮补登")
    assert village_status(look_back, tree.v1)[1:] == (2, True)


def test_it_counts_a_village_without_changes_as_done(tree, look_back):
    assert village_status(look_back, tree.v2) == ([], 0, True)


def test_it_replaces_a_reason(tree, users, look_back, two_changes):
    explain(users.surveyor, look_back, tree.v1, two_changes[0], "先写的")
    explain(users.township, look_back, tree.v1, two_changes[0], "核实后改写")
    note = ReconciliationNote.objects.get(change_key=two_changes[0])
    assert (note.reason, note.author) == ("核实后改写", users.township)


def test_it_stops_counting_a_reason_whose_change_went_away(tree, users, look_back, two_changes):
    explain(users.surveyor, look_back, tree.v1, two_changes[0])
    gone_id = int(two_changes[0].split(":")[1])
    inspect(look_back, ToiletFactory._meta.model.objects.get(pk=gone_id), surveyor=users.surveyor)
    listed, explained, done = village_status(look_back, tree.v1)
    assert [c.key for c in listed] == [two_changes[1]]
    assert (explained, done) == (0, False)


def test_it_requires_a_reason(tree, users, look_back, two_changes):
    with pytest.raises(ValidationError):
        explain(users.surveyor, look_back, tree.v1, two_changes[0], "   ")
    assert not ReconciliationNote.objects.exists()


def test_it_refuses_a_key_that_is_not_a_current_change(tree, users, look_back, two_changes):
    with pytest.raises(ValidationError):
        explain(users.surveyor, look_back, tree.v1, "toilet:999999:usability")
    assert not ReconciliationNote.objects.exists()


@pytest.mark.parametrize("who", ["county", "inspector", "surveyor_v2", "township_t2", "outsider"])
def test_it_refuses_reasons_from_other_roles_and_regions(tree, users, look_back, two_changes, who):
    with pytest.raises(PermissionDenied):
        explain(getattr(users, who), look_back, tree.v1, two_changes[0])
    assert not ReconciliationNote.objects.exists()


def test_it_refuses_reasons_once_the_round_is_closed(tree, users, look_back, two_changes):
    look_back.status = "closed"
    look_back.save()
    with pytest.raises(ValidationError):
        explain(users.surveyor, look_back, tree.v1, two_changes[0])


def test_it_refuses_reasons_for_a_round_without_a_previous_one(tree, users, earlier):
    earlier.status = "open"
    earlier.save()
    with pytest.raises(ValidationError):
        explain(users.surveyor, earlier, tree.v1, "toilet:1:new")


# Pages ------------------------------------------------------------------------------------


def list_url(survey):
    return reverse("surveys:reconcile", args=[survey.pk])


def village_url(survey, village):
    return reverse("surveys:reconcile-village", args=[survey.pk, village.code])


def test_it_sends_anonymous_users_to_login_from_the_reconcile_pages(client, tree, look_back):
    for response in (
        client.get(list_url(look_back)),
        client.get(village_url(look_back, tree.v1)),
        client.post(village_url(look_back, tree.v1), {"change_key": "x", "reason": "y"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_answers_404_for_another_countys_round(as_user, users, tree, look_back):
    client = as_user(users.outsider)
    assert client.get(list_url(look_back)).status_code == 404
    assert client.get(village_url(look_back, tree.v1)).status_code == 404
    assert client.get(village_url(look_back, tree.v4)).status_code == 404


@pytest.mark.parametrize("who", ["surveyor_v2", "township_t2", "outsider"])
def test_it_answers_404_for_another_regions_village(
    as_user, users, tree, look_back, two_changes, who
):
    client = as_user(getattr(users, who))
    assert client.get(village_url(look_back, tree.v1)).status_code == 404
    response = client.post(
        village_url(look_back, tree.v1), {"change_key": two_changes[0], "reason": "越权"}
    )
    assert response.status_code == 404
    assert not ReconciliationNote.objects.exists()


def test_it_answers_404_for_a_village_of_another_county_even_to_its_own_people(
    as_user, users, tree, look_back
):
    # County B's village exists, but it is not part of county A's round.
    assert as_user(users.outsider).get(village_url(look_back, tree.v4)).status_code == 404


@pytest.mark.parametrize("who", ["surveyor", "township", "county", "inspector"])
def test_it_shows_the_reconcile_pages_in_scope(as_user, users, tree, look_back, two_changes, who):
    client = as_user(getattr(users, who))
    response = client.get(list_url(look_back))
    assert response.status_code == 200
    row = next(s for s in response.context["statuses"] if s.village == tree.v1)
    assert (len(row.changes), row.explained, row.done) == (2, 0, False)
    response = client.get(village_url(look_back, tree.v1))
    assert response.status_code == 200
    assert "本轮尚未复查" in response.content.decode()


def test_it_lists_only_the_villages_in_the_users_scope(as_user, users, tree, look_back):
    listed = lambda user: [  # noqa: E731
        s.village.code for s in as_user(user).get(list_url(look_back)).context["statuses"]
    ]
    assert listed(users.surveyor) == [tree.v1.code]
    assert listed(users.township) == [tree.v1.code, tree.v2.code]
    assert listed(users.county) == [tree.v1.code, tree.v2.code, tree.v3.code]


def test_it_shows_done_and_pending_villages(as_user, users, tree, look_back, two_changes):
    client = as_user(users.township)
    content = client.get(list_url(look_back)).content.decode()
    assert "未完成" in content and "已完成" in content
    pending = client.get(list_url(look_back), {"pending": "1"}).context["statuses"]
    assert [s.village for s in pending] == [tree.v1]
    assert client.get(list_url(look_back)).context["village_done"] == 1


@pytest.mark.parametrize("who", ["surveyor", "township"])
def test_it_records_a_reason_from_the_village_page(
    as_user, users, tree, look_back, two_changes, who
):
    client = as_user(getattr(users, who))
    url = village_url(look_back, tree.v1)
    response = client.post(url, {"change_key": two_changes[0], "reason": "已拆除改建"})
    assert response.status_code == 302
    assert response["Location"].startswith(url + "#c-toilet-")
    note = ReconciliationNote.objects.get(round=look_back, change_key=two_changes[0])
    assert (note.reason, note.village, note.author) == ("已拆除改建", tree.v1, getattr(users, who))
    assert "已拆除改建" in client.get(url).content.decode()


@pytest.mark.parametrize("who", ["county", "inspector"])
def test_it_answers_403_to_reasons_from_read_only_roles(
    as_user, users, tree, look_back, two_changes, who
):
    client = as_user(getattr(users, who))
    response = client.post(
        village_url(look_back, tree.v1), {"change_key": two_changes[0], "reason": "越权"}
    )
    assert response.status_code == 403
    assert not ReconciliationNote.objects.exists()
    assert 'name="change_key"' not in client.get(village_url(look_back, tree.v1)).content.decode()


def test_it_shows_the_error_next_to_the_change(as_user, users, tree, look_back, two_changes):
    response = as_user(users.surveyor).post(
        village_url(look_back, tree.v1), {"change_key": two_changes[0], "reason": ""}
    )
    assert response.status_code == 200
    assert "请填写变化原因" in response.content.decode()
    assert not ReconciliationNote.objects.exists()


def test_it_explains_a_round_without_a_previous_one(as_user, users, tree, earlier):
    client = as_user(users.county)
    for url in (list_url(earlier), village_url(earlier, tree.v1)):
        response = client.get(url)
        assert response.status_code == 200
        content = response.content.decode()
        assert "没有指定上一轮" in content
        assert reverse("surveys:round-detail", args=[earlier.pk]) in content


def test_it_links_a_previous_round_to_the_look_back_comparison(as_user, users, earlier, look_back):
    content = as_user(users.county).get(list_url(earlier)).content.decode()
    assert list_url(look_back) in content


# session, user, role assignment, round, villages, then the comparison: inspections,
# categories, toilets, toilet history, household history, reasons.
RECONCILE_LIST_QUERIES = 11


@pytest.mark.parametrize("per_village", [1, 6])
def test_reconcile_list_query_count_is_pinned(
    as_user, users, tree, earlier, look_back, django_assert_num_queries, per_village
):
    for village in (tree.v1, tree.v2, tree.v3):
        for n in range(per_village):
            toilet = toilet_in(village)
            inspect(earlier, toilet, "normal", surveyor=users.surveyor)
            if n % 2:
                inspect(look_back, toilet, "unusable", ["tank"], surveyor=users.surveyor)
            toilet.household.occupancy = "vacant"
            toilet.household.save()
            key = f"household:{toilet.household_id}:hollow"
            explain(
                users.township if village != tree.v3 else users.township_t2, look_back, village, key
            )
    client = as_user(users.county)
    with django_assert_num_queries(RECONCILE_LIST_QUERIES):
        response = client.get(list_url(look_back))
    statuses = response.context["statuses"]
    assert len(statuses) == 3
    assert all(len(s.changes) >= per_village for s in statuses)

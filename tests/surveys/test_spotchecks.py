"""County spot-checks (抽查): the reproducible draw, who may check what, recording results,
the discrepancy rates, publication, and the scoping matrix of the pages."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from regions.choices import Role
from surveys import spotchecks
from surveys.models import ProblemCategory, SpotCheckItem, SpotCheckSample
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2022年摸排")


def inspect(survey, village, surveyor, n=1, usability="normal", categories=()):
    """``n`` inspections of new toilets in ``village``, all with the same finding."""
    found = [ProblemCategory.objects.get(code=code) for code in categories]
    return [
        InspectionFactory(
            round=survey,
            toilet=ToiletFactory(household=HouseholdFactory(village=village)),
            surveyor=surveyor,
            usability=usability,
            categories=found,
        )
        for _ in range(n)
    ]


@pytest.fixture
def inspected(survey, tree, users):
    """Three inspections in V1 and one in V2 (township T1), two in V3 (township T2)."""
    inspect(survey, tree.v1, users.surveyor, 3)
    inspect(survey, tree.v2, users.surveyor_v2, 1)
    inspect(survey, tree.v3, UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3)), 2)
    return survey


def draw_all(survey, users, **kwargs):
    """A sample holding every inspection of the round."""
    return spotchecks.draw_sample(actor=users.county, round=survey, per_village=1000, **kwargs)


def originals(sample):
    return sorted(sample.items.values_list("original_id", flat=True))


def items_in(sample, village):
    return list(sample.items.filter(original__toilet__village=village).order_by("id"))


def record(item, checker, usability="normal", categories=(), notes=""):
    found = [ProblemCategory.objects.get(code=code) for code in categories]
    return spotchecks.record_result(
        actor=checker, item=item, usability=usability, categories=found, notes=notes
    )


def detail_url(sample):
    return reverse("surveys:spotcheck-detail", args=[sample.pk])


def item_url(item):
    return reverse("surveys:spotcheck-item", args=[item.pk])


# Drawing ----------------------------------------------------------------------------------


def test_it_draws_the_same_sample_for_the_same_seed(survey, tree, users):
    inspect(survey, tree.v1, users.surveyor, 12)
    inspect(survey, tree.v3, users.township_t2, 7)
    first = spotchecks.draw_sample(actor=users.county, round=survey, per_village=3, seed=2022)
    again = spotchecks.draw_sample(actor=users.county, round=survey, per_village=3, seed=2022)
    assert again.pk != first.pk
    assert originals(again) == originals(first)
    assert len(originals(first)) == 6


def test_it_usually_draws_another_sample_for_another_seed(survey, tree, users):
    inspect(survey, tree.v1, users.surveyor, 20)
    samples = {
        tuple(
            originals(
                spotchecks.draw_sample(actor=users.county, round=survey, per_village=3, seed=s)
            )
        )
        for s in range(1, 6)
    }
    assert len(samples) > 1


def test_it_generates_and_records_a_seed_that_reproduces_the_sample(survey, tree, users):
    inspect(survey, tree.v1, users.surveyor, 10)
    sample = spotchecks.draw_sample(actor=users.county, round=survey, percent=30)
    assert sample.seed is not None
    again = spotchecks.draw_sample(actor=users.county, round=survey, percent=30, seed=sample.seed)
    assert originals(again) == originals(sample)


def test_it_takes_n_per_village_or_all_of_a_smaller_village(survey, tree, users):
    inspect(survey, tree.v1, users.surveyor, 5)
    inspect(survey, tree.v2, users.surveyor_v2, 1)
    inspect(survey, tree.v3, users.township_t2, 3)
    sample = spotchecks.draw_sample(actor=users.county, round=survey, per_village=2, seed=7)
    assert sample.per_village == 2 and sample.percent is None
    assert [len(items_in(sample, v)) for v in (tree.v1, tree.v2, tree.v3)] == [2, 1, 2]


def test_it_takes_a_percentage_of_each_village_rounded_up(survey, tree, users):
    inspect(survey, tree.v1, users.surveyor, 10)
    inspect(survey, tree.v2, users.surveyor_v2, 1)
    inspect(survey, tree.v3, users.township_t2, 3)
    sample = spotchecks.draw_sample(actor=users.county, round=survey, percent=25, seed=7)
    # 2.5 → 3, 0.25 → 1, 0.75 → 1: every village with an inspection gives at least one.
    assert [len(items_in(sample, v)) for v in (tree.v1, tree.v2, tree.v3)] == [3, 1, 1]


def test_it_draws_only_from_the_round(survey, tree, users):
    inspect(survey, tree.v1, users.surveyor, 2)
    other = SurveyRoundFactory(county=tree.county, status="closed")
    inspect(other, tree.v1, users.surveyor, 2)
    sample = draw_all(survey, users)
    assert set(sample.items.values_list("original__round", flat=True)) == {survey.pk}


def test_it_refuses_to_draw_from_a_round_without_inspections(survey, users):
    with pytest.raises(ValidationError, match="还没有摸排记录"):
        spotchecks.draw_sample(actor=users.county, round=survey, per_village=2)
    assert not SpotCheckSample.objects.exists()


@pytest.mark.parametrize(
    "method",
    [{}, {"per_village": 2, "percent": 10}, {"percent": 101}, {"percent": 0}, {"per_village": 0}],
)
def test_it_refuses_a_bad_method(inspected, users, method):
    with pytest.raises(ValidationError):
        spotchecks.draw_sample(actor=users.county, round=inspected, **method)
    assert not SpotCheckSample.objects.exists()


@pytest.mark.parametrize("who", ["township", "inspector", "surveyor", "outsider"])
def test_it_lets_only_the_rounds_county_draw(inspected, users, who):
    with pytest.raises(PermissionDenied):
        spotchecks.draw_sample(actor=getattr(users, who), round=inspected, per_village=1)
    assert not SpotCheckSample.objects.exists()


def test_it_draws_from_the_page_and_shows_the_seed(as_user, inspected, users):
    client = as_user(users.county)
    url = reverse("surveys:spotcheck-list", args=[inspected.pk])
    response = client.post(url, {"method": "percent", "amount": "50", "seed": "31415"})
    sample = SpotCheckSample.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(sample)
    assert (sample.percent, sample.seed) == (50, 31415)
    assert sample.items.count() == 2 + 1 + 1  # V1 3→2, V2 1→1, V3 2→1
    assert "31415" in client.get(response["Location"]).content.decode()


def test_it_explains_on_the_page_why_nothing_was_drawn(as_user, survey, users):
    url = reverse("surveys:spotcheck-list", args=[survey.pk])
    response = as_user(users.county).post(url, {"method": "per_village", "amount": "2"})
    assert response.status_code == 200
    assert "还没有摸排记录" in response.content.decode()
    assert not SpotCheckSample.objects.exists()


# Assigning --------------------------------------------------------------------------------


def test_it_lets_township_staff_check_another_township(inspected, tree, users):
    sample = draw_all(inspected, users)
    items = items_in(sample, tree.v1)
    assert spotchecks.assign_items(actor=users.county, items=items, checker=users.township_t2) == 3
    assert {i.inspector for i in items_in(sample, tree.v1)} == {users.township_t2}


def test_it_refuses_township_staff_their_own_township(inspected, tree, users):
    sample = draw_all(inspected, users)
    with pytest.raises(ValidationError, match="不能抽查本乡镇"):
        spotchecks.assign_items(
            actor=users.county, items=items_in(sample, tree.v2), checker=users.township
        )
    assert not sample.items.filter(inspector__isnull=False).exists()


def test_it_refuses_the_original_surveyor(survey, tree, users):
    inspect(survey, tree.v1, users.inspector, 1)  # an inspector who surveyed a toilet himself
    sample = draw_all(survey, users)
    with pytest.raises(ValidationError, match="原摸排人"):
        spotchecks.assign_items(
            actor=users.county, items=sample.items.all(), checker=users.inspector
        )


def test_it_refuses_surveyors_and_other_counties_staff_as_checkers(inspected, tree, users):
    sample = draw_all(inspected, users)
    other_township = UserFactory(role=(Role.TOWNSHIP, tree.t3))
    for checker in (users.surveyor_v2, users.county, other_township):
        with pytest.raises(ValidationError):
            spotchecks.assign_items(
                actor=users.county, items=items_in(sample, tree.v3), checker=checker
            )
    assert not sample.items.filter(inspector__isnull=False).exists()


def test_it_lets_only_the_county_assign(inspected, tree, users):
    sample = draw_all(inspected, users)
    with pytest.raises(PermissionDenied):
        spotchecks.assign_items(
            actor=users.township, items=items_in(sample, tree.v3), checker=users.inspector
        )


def test_it_assigns_a_whole_village_from_the_page(as_user, inspected, tree, users):
    sample = draw_all(inspected, users)
    response = as_user(users.county).post(
        detail_url(sample),
        {"action": "assign_village", "village": tree.v1.code, "checker": users.township_t2.pk},
    )
    assert response.status_code == 302
    assert [i.inspector for i in items_in(sample, tree.v1)] == [users.township_t2] * 3
    assert not sample.items.exclude(original__toilet__village=tree.v1).filter(
        inspector__isnull=False
    )


def test_it_assigns_nothing_of_a_village_when_one_item_is_refused(as_user, survey, tree, users):
    inspect(survey, tree.v1, users.surveyor, 2)
    inspect(survey, tree.v1, users.inspector, 1)
    sample = draw_all(survey, users)
    response = as_user(users.county).post(
        detail_url(sample),
        {"action": "assign_village", "village": tree.v1.code, "checker": users.inspector.pk},
        follow=True,
    )
    assert "原摸排人" in response.content.decode()
    assert not sample.items.filter(inspector__isnull=False).exists()


def test_it_assigns_one_item_from_the_page_and_offers_only_allowed_checkers(
    as_user, inspected, tree, users
):
    sample = draw_all(inspected, users)
    item = items_in(sample, tree.v3)[0]
    client = as_user(users.county)
    response = client.get(detail_url(sample))
    shown = next(i for i in response.context["items"] if i.pk == item.pk)
    offered = {a.user for a in shown.checker_choices}
    assert offered == {users.inspector, users.township}  # not T2's own staff
    response = client.post(
        detail_url(sample),
        {"action": "assign_item", "item": item.pk, "checker": users.township.pk},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.inspector == users.township


def test_it_refuses_assignment_pages_to_others(as_user, inspected, tree, users):
    sample = draw_all(inspected, users)
    item = items_in(sample, tree.v3)[0]
    for who in (users.township, users.inspector):
        response = as_user(who).post(
            detail_url(sample),
            {"action": "assign_item", "item": item.pk, "checker": users.township.pk},
        )
        assert response.status_code == 403
    item.refresh_from_db()
    assert item.inspector is None


# Recording --------------------------------------------------------------------------------


@pytest.fixture
def assigned(survey, tree, users):
    """One unusable toilet in V1 (厕屋问题) sampled and sent to T2's township staff."""
    inspect(survey, tree.v1, users.surveyor, 1, usability="unusable", categories=["room"])
    sample = draw_all(survey, users)
    item = sample.items.get()
    spotchecks.assign_items(actor=users.county, items=[item], checker=users.township_t2)
    return item


def test_it_records_a_matching_result(assigned, users):
    item = record(assigned, users.township_t2, "unusable", ["room"], "与台账一致")
    assert item.differs is False
    assert item.checked_at is not None
    assert item.notes == "与台账一致"


def test_it_marks_another_usability_as_differing(assigned, users):
    assert record(assigned, users.township_t2, "normal").differs is True


def test_it_marks_other_categories_as_differing(assigned, users):
    assert record(assigned, users.township_t2, "unusable", ["room", "tank"]).differs is True
    assert record(assigned, users.township_t2, "unusable", ["tank"]).differs is True


def test_it_lets_the_checker_correct_a_result_until_publication(assigned, users):
    record(assigned, users.township_t2, "normal")
    item = record(assigned, users.township_t2, "unusable", ["room"])
    assert item.differs is False
    assert list(item.categories.values_list("code", flat=True)) == ["room"]


def test_it_requires_a_category_for_a_problem_toilet(assigned, users):
    with pytest.raises(ValidationError, match="至少选择一项问题类型"):
        record(assigned, users.township_t2, "not_year_round")
    assigned.refresh_from_db()
    assert assigned.checked_at is None


def test_it_lets_only_the_assignee_record(assigned, users):
    for who in (users.county, users.township, users.inspector):
        with pytest.raises(PermissionDenied):
            record(assigned, who, "normal")
    assigned.refresh_from_db()
    assert assigned.checked_at is None


def test_it_records_from_the_page_for_a_checker_from_another_township(as_user, assigned, users):
    client = as_user(users.township_t2)
    assert client.get(item_url(assigned)).status_code == 200
    response = client.post(
        item_url(assigned), {"usability": "unusable", "categories": ["tank"], "notes": "粪池渗漏"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:spotcheck-mine")
    assigned.refresh_from_db()
    assert (assigned.usability, assigned.differs, assigned.notes) == ("unusable", True, "粪池渗漏")


def test_it_shows_what_is_missing_on_the_record_page(as_user, assigned, users):
    response = as_user(users.township_t2).post(item_url(assigned), {"usability": "unusable"})
    assert response.status_code == 200
    assert "至少选择一项问题类型" in response.content.decode()
    assigned.refresh_from_db()
    assert assigned.checked_at is None


@pytest.mark.parametrize("who", ["county", "inspector", "township", "surveyor"])
def test_it_refuses_the_record_page_to_others_who_can_see_the_item(as_user, assigned, users, who):
    client = as_user(getattr(users, who))
    assert client.get(item_url(assigned)).status_code == 403
    assert client.post(item_url(assigned), {"usability": "normal"}).status_code == 403
    assigned.refresh_from_db()
    assert assigned.checked_at is None


@pytest.mark.parametrize("who", ["surveyor_v2", "outsider"])
def test_it_hides_the_record_page_from_users_who_cannot_see_the_item(as_user, assigned, users, who):
    assert as_user(getattr(users, who)).get(item_url(assigned)).status_code == 404


def test_it_opens_an_item_to_another_township_only_through_the_assignment(
    as_user, survey, tree, users
):
    inspect(survey, tree.v1, users.surveyor, 2)
    sample = draw_all(survey, users)
    mine, other = items_in(sample, tree.v1)
    spotchecks.assign_items(actor=users.county, items=[mine], checker=users.township_t2)
    client = as_user(users.township_t2)
    assert client.get(item_url(mine)).status_code == 200
    assert client.get(item_url(other)).status_code == 404


def test_it_hides_the_original_finding_from_the_checker_before_publication(
    as_user, assigned, users
):
    client = as_user(users.township_t2)
    page = client.get(detail_url(assigned.sample)).content.decode()
    assert users.surveyor.username not in page
    assert "原摸排结果" not in page
    assert [i.pk for i in client.get(detail_url(assigned.sample)).context["items"]] == [assigned.pk]


def test_it_lists_the_checkers_tasks(as_user, assigned, users):
    response = as_user(users.township_t2).get(reverse("surveys:spotcheck-mine"))
    assert [i.pk for i in response.context["pending"]] == [assigned.pk]
    record(assigned, users.township_t2, "normal")
    response = as_user(users.township_t2).get(reverse("surveys:spotcheck-mine"))
    assert response.context["pending"] == []
    assert [i.pk for i in response.context["done"]] == [assigned.pk]


# Rates ------------------------------------------------------------------------------------


@pytest.fixture
def checked(inspected, tree, users):
    """V1: 3 checked, 1 differs; V2: 1 checked, matches; V3: 2 checked, both differ."""
    sample = draw_all(inspected, users)
    t1_items = items_in(sample, tree.v1) + items_in(sample, tree.v2)
    spotchecks.assign_items(actor=users.county, items=t1_items, checker=users.township_t2)
    v3_items = items_in(sample, tree.v3)
    spotchecks.assign_items(actor=users.county, items=v3_items, checker=users.inspector)
    record(t1_items[0], users.township_t2, "unusable", ["room"])
    for item in t1_items[1:]:
        record(item, users.township_t2, "normal")
    for item in v3_items:
        record(item, users.inspector, "not_year_round", ["frost"])
    sample.refresh_from_db()
    return sample


def rows(table):
    return [(r.name, r.sampled, r.checked, r.differing, r.rate) for r in table.rows]


def test_it_computes_the_discrepancy_rate_per_village(checked, users):
    table = spotchecks.discrepancy_by_village(checked, users.county)
    assert rows(table) == [
        ("沙埠村", 3, 3, 1, 33.3),
        ("东风村", 1, 1, 0, 0.0),
        ("坪山村", 2, 2, 2, 100.0),
    ]
    total = table.total
    assert (total.checked, total.differing, total.rate) == (6, 3, 50.0)


def test_it_computes_the_discrepancy_rate_per_surveyor(checked, users):
    table = spotchecks.discrepancy_by_surveyor(checked, users.county)
    assert rows(table) == [
        ("surveyor_v3", 2, 2, 2, 100.0),
        ("surveyor", 3, 3, 1, 33.3),
        ("surveyor_v2", 1, 1, 0, 0.0),
    ]


def test_it_counts_only_checked_items_in_the_rate(inspected, tree, users):
    sample = draw_all(inspected, users)
    item = items_in(sample, tree.v3)[0]
    spotchecks.assign_items(actor=users.county, items=[item], checker=users.inspector)
    record(item, users.inspector, "unusable", ["room"])
    table = spotchecks.discrepancy_by_village(sample, users.county)
    assert rows(table)[2] == ("坪山村", 2, 1, 1, 100.0)
    assert rows(table)[0] == ("沙埠村", 3, 0, 0, None)


def test_it_computes_the_rates_in_one_query_whatever_the_size(
    checked, users, django_assert_num_queries
):
    with django_assert_num_queries(1):
        spotchecks.discrepancy_by_village(checked, users.county, manages=True)
    with django_assert_num_queries(1):
        spotchecks.discrepancy_by_surveyor(checked, users.county, manages=True)


# Publishing -------------------------------------------------------------------------------


def test_it_refuses_to_publish_with_unrecorded_items(inspected, users):
    sample = draw_all(inspected, users)
    with pytest.raises(ValidationError, match="6 户未录入"):
        spotchecks.publish_sample(actor=users.county, sample=sample)
    sample.refresh_from_db()
    assert not sample.is_published


def test_it_publishes_once_and_then_freezes_results(checked, tree, users):
    spotchecks.publish_sample(actor=users.county, sample=checked)
    assert checked.is_published
    with pytest.raises(ValidationError, match="已于"):
        spotchecks.publish_sample(actor=users.county, sample=checked)
    item = items_in(checked, tree.v3)[0]
    with pytest.raises(ValidationError, match="已公布"):
        record(item, users.inspector, "normal")
    with pytest.raises(ValidationError, match="已公布"):
        spotchecks.assign_items(actor=users.county, items=[item], checker=users.township)


@pytest.mark.parametrize("who", ["township", "inspector"])
def test_it_lets_only_the_county_publish(as_user, checked, users, who):
    with pytest.raises(PermissionDenied):
        spotchecks.publish_sample(actor=getattr(users, who), sample=checked)
    assert (
        as_user(getattr(users, who)).post(detail_url(checked), {"action": "publish"}).status_code
        == 403
    )
    checked.refresh_from_db()
    assert not checked.is_published


def test_it_publishes_from_the_page(as_user, checked, users):
    response = as_user(users.county).post(detail_url(checked), {"action": "publish"})
    assert response.status_code == 302
    checked.refresh_from_db()
    assert checked.is_published


def test_it_shows_the_checked_township_its_results_only_after_publication(as_user, checked, users):
    client = as_user(users.township)
    before = client.get(detail_url(checked))
    assert before.status_code == 200
    assert before.context["by_village"] is None
    assert list(before.context["items"]) == []
    assert "待县级管理员公布" in before.content.decode()
    assert spotchecks.discrepancy_by_village(checked, users.township).rows == []

    spotchecks.publish_sample(actor=users.county, sample=checked)
    after = client.get(detail_url(checked))
    assert rows(after.context["by_village"]) == [
        ("沙埠村", 3, 3, 1, 33.3),
        ("东风村", 1, 1, 0, 0.0),
    ]  # its own township only
    assert {i.original.toilet.village.code[:9] for i in after.context["items"]} == {"450702100"}
    assert str(checked.seed) in after.content.decode()


def test_it_lists_samples_to_the_township_without_seed_before_publication(as_user, checked, users):
    url = reverse("surveys:spotcheck-list", args=[checked.round_id])
    page = as_user(users.township).get(url).content.decode()
    assert "未公布" in page
    assert str(checked.seed) not in page
    assert "抽取新样本" not in page


def test_it_always_shows_the_county_its_results(as_user, checked, users):
    response = as_user(users.county).get(detail_url(checked))
    assert response.context["by_village"].total.differing == 3
    assert len(response.context["items"]) == 6


# Scoping matrix ---------------------------------------------------------------------------


@pytest.fixture
def pages(assigned):
    sample = assigned.sample
    return {
        "list": reverse("surveys:spotcheck-list", args=[sample.round_id]),
        "detail": detail_url(sample),
        "mine": reverse("surveys:spotcheck-mine"),
        "item": item_url(assigned),
    }


@pytest.mark.parametrize("page", ["list", "detail", "mine", "item"])
def test_it_sends_anonymous_users_to_login(client, pages, page):
    response = client.get(pages[page])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("page", ["list", "detail", "item"])
def test_it_answers_404_to_another_county(as_user, users, pages, page):
    assert as_user(users.outsider).get(pages[page]).status_code == 404


@pytest.mark.parametrize(
    "page,who",
    [
        ("list", "surveyor"),
        ("detail", "surveyor"),
        ("mine", "surveyor"),
        ("item", "county"),
    ],
)
def test_it_answers_403_to_the_wrong_role(as_user, users, pages, page, who):
    assert as_user(getattr(users, who)).get(pages[page]).status_code == 403


@pytest.mark.parametrize(
    "page,who",
    [
        ("list", "county"),
        ("list", "township"),
        ("list", "inspector"),
        ("detail", "county"),
        ("detail", "township"),
        ("detail", "township_t2"),
        ("detail", "inspector"),
        ("mine", "township_t2"),
        ("mine", "inspector"),
        ("mine", "county"),  # county staff check other counties in a city's campaign
        ("item", "township_t2"),
    ],
)
def test_it_shows_the_page_to_its_own_users(as_user, users, pages, page, who):
    assert as_user(getattr(users, who)).get(pages[page]).status_code == 200


def test_it_refuses_drawing_from_the_page_to_other_roles(as_user, inspected, users):
    url = reverse("surveys:spotcheck-list", args=[inspected.pk])
    for who in (users.township, users.inspector):
        response = as_user(who).post(url, {"method": "per_village", "amount": "1"})
        assert response.status_code == 403
    assert (
        as_user(users.outsider).post(url, {"method": "per_village", "amount": "1"}).status_code
        == 404
    )
    assert not SpotCheckSample.objects.exists()


# Query counts -----------------------------------------------------------------------------

# session, user, role assignment, sample, "manages the round", item count, item page,
# the two category prefetches, the two rate tables, the checker candidates.
DETAIL_QUERIES = 12
# session, user, role assignment, the checker's items.
MINE_QUERIES = 4


@pytest.mark.parametrize("size", [2, 12])
def test_the_sample_page_query_count_is_pinned(
    as_user, survey, tree, users, django_assert_num_queries, size
):
    inspect(survey, tree.v1, users.surveyor, size, usability="unusable", categories=["room"])
    inspect(survey, tree.v3, users.township_t2, size)
    sample = draw_all(survey, users)
    spotchecks.assign_items(
        actor=users.county, items=items_in(sample, tree.v1), checker=users.inspector
    )
    for item in items_in(sample, tree.v1)[:2]:
        record(item, users.inspector, "unusable", ["room", "tank"])
    client = as_user(users.county)
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(detail_url(sample))
    assert len(response.context["items"]) == 2 * size


@pytest.mark.parametrize("size", [2, 12])
def test_the_task_list_query_count_is_pinned(
    as_user, survey, tree, users, django_assert_num_queries, size
):
    inspect(survey, tree.v1, users.surveyor, size)
    sample = draw_all(survey, users)
    spotchecks.assign_items(actor=users.county, items=sample.items.all(), checker=users.township_t2)
    client = as_user(users.township_t2)
    with django_assert_num_queries(MINE_QUERIES):
        response = client.get(reverse("surveys:spotcheck-mine"))
    assert len(response.context["pending"]) == size


def test_it_keeps_assigned_items_out_of_the_checkers_own_scope(assigned, users):
    """The assignment grants the item; it does not widen what the checker sees otherwise."""
    assert not SpotCheckItem.objects.visible_to(users.township_t2).filter(pk=assigned.pk)
    assert spotchecks.items_for_checker(users.township_t2).filter(pk=assigned.pk).exists()

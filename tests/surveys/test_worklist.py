"""The surveyor's worklist on a phone: search, filters, 村民小组 headings, pages, the cards, the
next toilet to survey, and its query count."""

import re

import pytest
from django.urls import reverse

from surveys.queries import NO_GROUP, PUBLIC_GROUP, group_sort_key, next_toilet
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    PublicToiletFactory,
    SurveyRoundFactory,
    ToiletFactory,
)

pytestmark = pytest.mark.django_db

WORKLIST = reverse("surveys:worklist")
# session, user, role, open round, the groups with the round's counts, the page's rows (the
# page count comes from the groups' counts); a search adds a COUNT of what it matches
WORKLIST_QUERIES = 6
WORKLIST_SEARCH_QUERIES = 7


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2023年摸排")


def toilet(village, group="第一村民小组", name=None, **kwargs):
    household = HouseholdFactory(
        village=village, group_name=group, **({"head_name": name} if name else {})
    )
    return ToiletFactory(household=household, **kwargs)


def inspected(survey, toilet, status, reason=""):
    return InspectionFactory(round=survey, toilet=toilet, status=status, return_reason=reason)


def pks(response):
    return [t.pk for t in response.context["toilets"]]


def card(html, pk):
    match = re.search(rf'<li class="toilet-card[^"]*" data-toilet="{pk}".*?</li>', html, re.S)
    assert match, f"no card for toilet {pk}"
    return re.sub(r"<[^>]+>|\s+", " ", match.group()).strip()


# Search and filters --------------------------------------------------------------------------


def test_search_by_the_head_of_household(as_user, users, tree, survey):
    wang = toilet(tree.v1, name="王建国")
    toilet(tree.v1, name="刘德华")
    response = as_user(users.surveyor).get(WORKLIST, {"q": "建国"})
    assert pks(response) == [wang.pk]
    assert response.context["q"] == "建国"


def test_search_by_the_last_four_characters_of_the_id_number(as_user, users, tree, survey):
    one = toilet(tree.v1)
    other = toilet(tree.v1)
    tail = one.household.id_number[-4:]
    assert not other.household.id_number.endswith(tail)
    assert pks(as_user(users.surveyor).get(WORKLIST, {"q": tail.lower()})) == [one.pk]
    # Any other four digits of the number are not a match: only the tail the card shows.
    middle = one.household.id_number[6:10]
    assert pks(as_user(users.surveyor).get(WORKLIST, {"q": middle})) == []


def test_search_by_group(as_user, users, tree, survey):
    third = toilet(tree.v1, group="第三村民小组")
    toilet(tree.v1, group="第四村民小组")
    assert pks(as_user(users.surveyor).get(WORKLIST, {"q": "第三"})) == [third.pk]


def test_filter_by_group_and_by_status(as_user, users, tree, survey):
    todo = toilet(tree.v1, group="第一村民小组")
    returned = toilet(tree.v1, group="第一村民小组")
    submitted = toilet(tree.v1, group="第二村民小组")
    verified = toilet(tree.v1, group="第二村民小组")
    inspected(survey, returned, "returned", "照片不清")
    inspected(survey, submitted, "submitted")
    inspected(survey, verified, "verified")
    client = as_user(users.surveyor)
    assert pks(client.get(WORKLIST, {"group": "第二村民小组"})) == [submitted.pk, verified.pk]
    assert pks(client.get(WORKLIST, {"status": "todo"})) == [todo.pk]
    assert pks(client.get(WORKLIST, {"status": "returned"})) == [returned.pk]
    assert pks(client.get(WORKLIST, {"status": "submitted"})) == [submitted.pk]
    assert pks(client.get(WORKLIST, {"status": "verified"})) == [verified.pk]
    both = client.get(WORKLIST, {"group": "第一村民小组", "status": "returned"})
    assert pks(both) == [returned.pk]
    # The counts on top stay the whole round's whatever the filter.
    assert (both.context["remaining"], both.context["done"], both.context["returned"]) == (1, 3, 1)
    html = both.content.decode()
    assert 'id="remaining">1<' in html and 'id="returned">1<' in html
    # An unknown status or group is no filter at all.
    assert len(pks(client.get(WORKLIST, {"status": "bogus", "group": "第九组"}))) == 4


# Groups, cards, pages ------------------------------------------------------------------------


def test_groups_come_in_natural_order_with_public_toilets_last(as_user, users, tree, survey):
    public = PublicToiletFactory(village=tree.v1, name="村委会公厕")
    tenth = toilet(tree.v1, group="第十村民小组")
    none = toilet(tree.v1, group="")
    second = toilet(tree.v1, group="第二村民小组")
    first = toilet(tree.v1, group="第一村民小组")
    eleventh = toilet(tree.v1, group="第十一村民小组")
    response = as_user(users.surveyor).get(WORKLIST)
    expected = [
        "第一村民小组",
        "第二村民小组",
        "第十村民小组",
        "第十一村民小组",
        NO_GROUP,
        PUBLIC_GROUP,
    ]
    assert [group["name"] for group, _ in response.context["sections"]] == expected
    assert pks(response) == [first.pk, second.pk, tenth.pk, eleventh.pk, none.pk, public.pk]
    headings = re.findall(r'<h2 class="group-heading">([^<]+?) <', response.content.decode())
    assert headings == expected
    assert "村委会公厕" in card(response.content.decode(), public.pk)


def test_group_sort_key_reads_numbers_in_either_script():
    names = ["12组", "第二十组", "第三组", "2组", "第一百零一组", "东片", NO_GROUP, PUBLIC_GROUP]
    assert sorted(names, key=group_sort_key) == [
        "2组", "第三组", "12组", "第二十组", "第一百零一组", "东片", NO_GROUP, PUBLIC_GROUP,
    ]  # fmt: skip


def test_within_a_group_returned_come_first_then_not_yet_surveyed(as_user, users, tree, survey):
    done = toilet(tree.v1)
    todo = toilet(tree.v1)
    returned = toilet(tree.v1)
    inspected(survey, done, "submitted")
    inspected(survey, returned, "returned", "照片看不清")
    response = as_user(users.surveyor).get(WORKLIST)
    assert pks(response) == [returned.pk, todo.pk, done.pk]
    assert "被退回：照片看不清" in card(response.content.decode(), returned.pk)


def test_two_toilets_of_one_household_are_told_apart_on_their_cards(as_user, users, tree, survey):
    household = HouseholdFactory(village=tree.v1, head_name="黄秀兰")
    indoor = ToiletFactory(
        household=household, tech_type="three_compartment", build_year=2015, placement="indoor"
    )
    outdoor = ToiletFactory(
        household=household, tech_type="double_pit", flush_kind="dry", build_year=2020,
        placement="outdoor",
    )  # fmt: skip
    inspected(survey, outdoor, "submitted")
    html = as_user(users.surveyor).get(WORKLIST).content.decode()
    first, second = card(html, indoor.pk), card(html, outdoor.pk)
    assert "黄秀兰" in first and "黄秀兰" in second
    assert "三格化粪池式 · 2015 年建 · 室内（附建式）" in first and "未摸排" in first
    assert "双坑交替式 · 2020 年建 · 室外（独立式）" in second and "待核查" in second
    # What the offline queue's script marks a queued toilet by.
    for pk in (indoor.pk, outdoor.pk):
        assert f'data-toilet="{pk}" data-round="{survey.pk}"' in html
    assert html.count('<span class="sync-state" hidden></span>') == 2
    assert '<div id="sync-status" hidden></div>' in html
    assert reverse("surveys:inspect", args=[survey.pk, indoor.pk]) in html


def test_each_card_links_to_its_household_or_public_toilet_and_its_form_or_record(
    as_user, users, tree, survey
):
    """The links a card carries (built once per kind for the page, not per card)."""
    todo = toilet(tree.v1, name="黄秀兰")
    public = ToiletFactory(household=None, village=tree.v1, kind="public", name="村委会公厕")
    verified = inspected(survey, toilet(tree.v1, name="李四"), "verified")
    html = as_user(users.surveyor).get(WORKLIST).content.decode()

    def links(pk):
        found = re.search(rf'<li class="toilet-card[^"]*" data-toilet="{pk}".*?</li>', html, re.S)
        return re.findall(r'href="([^"]+)"', found.group())

    assert links(todo.pk) == [
        reverse("toilets:household-detail", args=[todo.household_id]),
        reverse("surveys:inspect", args=[survey.pk, todo.pk]),
    ]
    assert links(public.pk) == [
        reverse("toilets:toilet-detail", args=[public.pk]),
        reverse("surveys:inspect", args=[survey.pk, public.pk]),
    ]
    assert links(verified.toilet_id) == [
        reverse("toilets:household-detail", args=[verified.toilet.household_id]),
        reverse("surveys:inspection-detail", args=[verified.pk]),
    ]


def test_pages_count_what_each_filter_leaves(as_user, users, tree, survey):
    """Without search text the number of pages comes from the groups' counts: it must be the
    number of rows each group and status filter lists, over every page."""
    rows = []  # (group, status) of each toilet
    for i in range(130):
        group = ["第一村民小组", "第二村民小组"][i % 2]
        t = toilet(tree.v1, group=group)
        status = ["todo", "returned", "submitted", "verified"][i % 4]
        if status != "todo":
            inspected(survey, t, status, "重拍")
        rows.append((group, status))
    PublicToiletFactory(village=tree.v1)
    rows.append((PUBLIC_GROUP, "todo"))
    client = as_user(users.surveyor)
    for group in ["", "第一村民小组", "第二村民小组", PUBLIC_GROUP]:
        for status in ["", "todo", "returned", "submitted", "verified"]:
            expected = sum(1 for g, st in rows if group in ("", g) and status in ("", st))
            params = {"group": group, "status": status}
            paginator = client.get(WORKLIST, params).context["paginator"]
            listed = [
                pk
                for page in paginator.page_range
                for pk in pks(client.get(WORKLIST, {**params, "page": page}))
            ]
            assert paginator.count == len(listed) == len(set(listed)) == expected, params


def test_pages_keep_the_search_and_filters(as_user, users, tree, survey):
    many = [toilet(tree.v1, group="第二村民小组") for _ in range(53)]
    toilet(tree.v1, group="第一村民小组")
    client = as_user(users.surveyor)
    first = client.get(WORKLIST, {"group": "第二村民小组", "status": "todo"})
    assert len(pks(first)) == 50
    html = first.content.decode()
    assert (
        "group=%E7%AC%AC%E4%BA%8C%E6%9D%91%E6%B0%91%E5%B0%8F%E7%BB%84&amp;status=todo&page=2"
        in html
    )
    second = client.get(WORKLIST, {"group": "第二村民小组", "status": "todo", "page": 2})
    assert pks(second) == [t.pk for t in many[50:]]
    assert second.context["remaining"] == 54  # the whole round's
    # A page past the end shows the last one; a page number that is not one, the first.
    assert pks(client.get(WORKLIST, {"group": "第二村民小组", "page": 99})) == pks(second)
    assert len(pks(client.get(WORKLIST, {"page": "x"}))) == 50


# Scope -----------------------------------------------------------------------------------------


def test_another_villages_toilets_never_appear(as_user, users, tree, survey, register):
    neighbour = toilet(tree.v2, name="赵铁柱", group="第五村民小组")
    client = as_user(users.surveyor)
    assert pks(client.get(WORKLIST)) == [register.t1.pk]
    for q in ("赵铁柱", neighbour.household.id_number[-4:], "第五"):
        response = client.get(WORKLIST, {"q": q})
        assert pks(response) == [] and "没有符合条件的厕所" in response.content.decode()
        assert "toilet-card" not in response.content.decode()
    # Another village's group is no group here.
    assert pks(client.get(WORKLIST, {"group": "第五村民小组"})) == [register.t1.pk]
    assert [g["name"] for g in client.get(WORKLIST).context["groups"]] == ["第一村民小组"]
    assert next_toilet(users.surveyor, survey, neighbour) is None


# The next toilet -------------------------------------------------------------------------------


def test_next_toilet_follows_the_worklist_order(users, tree, survey):
    a = toilet(tree.v1, group="第一村民小组")
    b = toilet(tree.v1, group="第一村民小组")
    c = toilet(tree.v1, group="第一村民小组")
    d = toilet(tree.v1, group="第二村民小组")
    e = toilet(tree.v1, group="第二村民小组")
    p = PublicToiletFactory(village=tree.v1)
    toilet(tree.v2, group="第一村民小组")  # another village: never next
    inspected(survey, c, "submitted")
    inspected(survey, d, "returned", "缺照片")
    user = users.surveyor
    # Worklist order: 第一组 a b c, 第二组 d (returned) e, 公厕 p.
    assert next_toilet(user, survey, a) == b
    assert next_toilet(user, survey, b) == d
    assert next_toilet(user, survey, d) == e
    assert next_toilet(user, survey, e) == p
    assert next_toilet(user, survey, p) is None
    # A toilet just surveyed: what is left of its group comes next.
    assert next_toilet(user, survey, c) == a
    inspected(survey, a, "submitted")
    assert next_toilet(user, survey, a) == b
    for t in (b, e, p):
        inspected(survey, t, "verified")
    d.inspections.update(status="verified")
    assert next_toilet(user, survey, a) is None


def test_the_form_links_next_which_is_worked_out_when_followed(as_user, users, tree, survey):
    """The form does not work out 下一户 on every opening (it cost a worklist query each
    time); its link asks the server when it is followed, after the save."""
    a = toilet(tree.v1, group="第一村民小组")
    b = toilet(tree.v1, group="第一村民小组")
    client = as_user(users.surveyor)
    form = client.get(reverse("surveys:inspect", args=[survey.pk, a.pk]))
    follow = reverse("surveys:inspect-next", args=[survey.pk, a.pk])
    assert f'data-next-url="{follow}"' in form.content.decode()
    inspected(survey, a, "submitted")
    assert client.get(follow).url == reverse("surveys:inspect", args=[survey.pk, b.pk])
    inspected(survey, b, "submitted")
    response = client.get(follow, follow=True)
    assert "本轮清单中已没有待摸排或被退回的厕所" in response.content.decode()
    # Another village's toilet, or a user who does not survey: no next.
    neighbour = toilet(tree.v2)
    assert (
        client.get(reverse("surveys:inspect-next", args=[survey.pk, neighbour.pk])).status_code
        == 404
    )
    township = as_user(users.township)
    assert township.get(follow).status_code == 403


# Query count -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "params", "queries"),
    [
        (3, {}, WORKLIST_QUERIES),
        (60, {}, WORKLIST_QUERIES),
        (60, {"page": 2}, WORKLIST_QUERIES),
        (60, {"status": "todo", "group": "第1组"}, WORKLIST_QUERIES),
        (60, {"q": "户主", "status": "todo", "group": "第一村民小组"}, WORKLIST_SEARCH_QUERIES),
    ],
)
def test_worklist_query_count_is_pinned(
    as_user, users, tree, survey, django_assert_num_queries, extra, params, queries
):
    for i in range(extra):
        t = toilet(tree.v1, group=f"第{i % 3 + 1}组")
        if i % 4 == 0:
            inspected(survey, t, "returned" if i % 8 else "submitted", "重拍")
    PublicToiletFactory(village=tree.v1)
    client = as_user(users.surveyor)
    with django_assert_num_queries(queries):
        response = client.get(WORKLIST, params)
    assert response.status_code == 200 and response.context["toilets"]


# On a phone --------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_surveyor_searches_the_worklist_on_a_360px_phone(live_server, users, tree):
    from tests.browser import fits_a_phone, log_in, phone_page

    survey = SurveyRoundFactory(county=tree.county, name="2023年摸排")
    household = HouseholdFactory(
        village=tree.v1, head_name="欧阳春花", group_name="第十二村民小组", address="很长" * 40
    )
    indoor = ToiletFactory(household=household, placement="indoor", build_year=2016)
    outdoor = ToiletFactory(household=household, tech_type="double_pit", flush_kind="dry")
    for i in range(8):
        toilet(tree.v1, group=f"第{i + 1}组")
    PublicToiletFactory(village=tree.v1, name="村委会旁边的第一公共厕所（新建）")
    inspected(survey, outdoor, "returned", "化粪池照片看不清楚，请补拍一张清楚的照片" * 2)
    with phone_page() as page:
        log_in(page, live_server, "surveyor")
        page.goto(f"{live_server.url}{WORKLIST}")
        assert page.inner_text("#remaining") == "10"
        assert fits_a_phone(page)
        page.fill("input[name=q]", "欧阳")
        page.click("form.worklist-filters button[type=submit]")
        page.wait_for_url("**/surveys/worklist/?q=*")
        cards = page.locator("#list [data-toilet]")
        assert cards.count() == 2
        assert {cards.nth(i).get_attribute("data-toilet") for i in range(2)} == {
            str(indoor.pk),
            str(outdoor.pk),
        }
        assert "第十二村民小组" in page.inner_text("#list h2")
        assert "被退回" in page.inner_text(f"[data-toilet='{outdoor.pk}']")
        assert fits_a_phone(page)
        # The status filter sits folded under 筛选, and is kept with the search.
        page.click("summary:has-text('筛选')")
        page.select_option("select[name=status]", "returned")
        page.click("form.worklist-filters button[type=submit]")
        page.wait_for_url("**status=returned*")
        assert page.locator("#list [data-toilet]").count() == 1
        assert fits_a_phone(page)
        page.click(f"[data-toilet='{outdoor.pk}'] a.button")
        page.wait_for_url(f"**/surveys/rounds/{survey.pk}/toilets/{outdoor.pk}/inspect/")

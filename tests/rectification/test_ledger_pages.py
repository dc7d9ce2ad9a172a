"""The ledger's list pages (问题台账, 整改日志), their exports and the overdue dashboard: what
each user sees, the counts and queues above the list, and what a download holds."""

import datetime
import io
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from rectification.exports import LEDGER_HEADERS, LOG_HEADERS
from rectification.models import LedgerEntry
from rectification.overdue import record_overdue
from regions.choices import Role
from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory, UserFactory
from tests.ledger import after_photo, drive, move, open_entry, plan_data

pytestmark = pytest.mark.django_db

LEDGER = reverse("rectification:ledger")
EXPORT = reverse("rectification:ledger-export")
LOG = reverse("rectification:log")
LOG_EXPORT = reverse("rectification:log-export")
OVERDUE = reverse("rectification:overdue")


@dataclass
class Entries:
    e1: LedgerEntry  # 王建国, V1 (township T1)
    e2: LedgerEntry  # 赵六, V2 (township T1)
    e3: LedgerEntry  # 李秀英, V3 (township T2)
    e4: LedgerEntry  # 张志强, V4 (county B)


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2022年摸排")


@pytest.fixture
def entries(tree, users, register, survey):
    h2 = HouseholdFactory(village=tree.v2, head_name="赵六")
    surveyor_v3 = UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))
    surveyor_v4 = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, tree.v4))
    survey_b = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    return Entries(
        e1=open_entry(users.surveyor, survey, register.t1),
        e2=open_entry(users.surveyor_v2, survey, ToiletFactory(household=h2)),
        e3=open_entry(surveyor_v3, survey, register.t3),
        e4=open_entry(surveyor_v4, survey_b, register.t4),
    )


def shown(response) -> set[int]:
    return {e.pk for e in response.context["object_list"]}


def make_overdue(entry, township, days=5):
    entry = move(entry, "plan", township, plan=plan_data())
    deadline = timezone.localdate() - datetime.timedelta(days=days)
    LedgerEntry.objects.filter(pk=entry.pk).update(deadline=deadline)
    entry.refresh_from_db()
    return entry


def sheet_rows(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_dicts(rows) -> list[dict]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


# Access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LEDGER, EXPORT, LOG, LOG_EXPORT, OVERDUE])
def test_it_sends_anonymous_users_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "who, expected",
    [
        ("surveyor", {"e1"}),
        ("township", {"e1", "e2"}),
        ("township_t2", {"e3"}),
        ("county", {"e1", "e2", "e3"}),
        ("inspector", {"e1", "e2", "e3"}),
        ("outsider", {"e4"}),
    ],
)
def test_it_lists_only_the_users_own_region(as_user, users, entries, who, expected):
    response = as_user(getattr(users, who)).get(LEDGER)
    assert response.status_code == 200
    assert shown(response) == {getattr(entries, name).pk for name in expected}


def test_it_shows_the_row_with_its_link_and_columns(as_user, users, entries):
    page = as_user(users.township).get(LEDGER).content.decode()
    assert reverse("rectification:entry", args=[entries.e1.pk]) in page
    assert "王建国" in page and "沙埠镇 沙埠村" in page
    assert "粪池问题" in page  # the category's name
    assert "不能使用" in page and "2022年摸排" in page
    assert "李秀英" not in page and "张志强" not in page


def test_it_shows_an_empty_list_and_an_error_for_another_regions_village(
    as_user, users, entries, tree
):
    client = as_user(users.township)
    response = client.get(LEDGER, {"village": tree.v3.code})
    assert response.status_code == 200
    assert shown(response) == set()
    page = response.content.decode()
    assert 'class="errors"' in page and "行政村" in page
    assert "李秀英" not in page
    assert all(tab.count == 0 for tab in response.context["state_tabs"])
    assert client.get(EXPORT, {"village": tree.v3.code}).status_code == 404
    assert client.get(LOG, {"village": tree.v3.code}).context["object_list"].count() == 0
    assert client.get(LOG_EXPORT, {"village": tree.v3.code}).status_code == 404


def test_it_shows_a_helpful_sentence_when_there_is_nothing(as_user, users, tree):
    page = as_user(users.township).get(LEDGER).content.decode()
    assert "暂无问题台账" in page


# Counts and queues --------------------------------------------------------------------------


def counts(response, name="state_tabs") -> dict[str, int]:
    return {tab.key: tab.count for tab in response.context[name]}


def test_it_counts_entries_per_state_ignoring_the_state_filter(as_user, users, entries):
    drive(entries.e1, township=users.township, surveyor=users.surveyor, to="rectified")
    client = as_user(users.township)
    response = client.get(LEDGER, {"state": "registered"})
    assert shown(response) == {entries.e2.pk}
    assert counts(response) == {
        "registered": 1,
        "planned": 0,
        "in_progress": 0,
        "rectified": 1,
        "accepted": 0,
        "closed": 0,
    }
    page = response.content.decode()
    assert "已整改 <b>1</b>" in page
    assert "?state=rectified" in page
    assert shown(client.get(LEDGER, {"state": "rectified"})) == {entries.e1.pk}


def test_the_counts_follow_the_other_filters(as_user, users, entries, tree):
    response = as_user(users.township).get(LEDGER, {"village": tree.v2.code})
    assert counts(response)["registered"] == 1
    assert response.context["total"] == 1
    # Each count's link keeps the village filter.
    assert f"village={tree.v2.code}&amp;state=registered" in response.content.decode()


@pytest.mark.parametrize(
    "who, labels",
    [
        ("township", ["待制定方案", "待验收", "待销号", "已逾期"]),
        ("surveyor", ["待整改", "已逾期"]),
        ("county", ["待复核", "已逾期"]),
        ("inspector", ["已逾期"]),
    ],
)
def test_it_shows_the_queues_of_the_users_role(as_user, users, tree, who, labels):
    response = as_user(getattr(users, who)).get(LEDGER)
    assert [tab.label for tab in response.context["queue_tabs"]] == labels


def test_each_queue_shows_its_entries(as_user, users, entries, tree, register, survey):
    t, s = users.township, users.surveyor
    extra = [open_entry(s, survey, ToiletFactory(household=HouseholdFactory(village=tree.v1)))]
    extra += [open_entry(s, survey, ToiletFactory(household=HouseholdFactory(village=tree.v1)))]
    planned = drive(entries.e1, township=t, surveyor=s, to="planned")
    rectified = drive(extra[0], township=t, surveyor=s, to="rectified")
    closed = drive(extra[1], township=t, surveyor=s, to="closed")
    accepted = entries.e2
    accepted = drive(accepted, township=t, surveyor=users.surveyor_v2, to="accepted")

    township = as_user(t)
    assert shown(township.get(LEDGER, {"queue": "to_plan"})) == set()
    assert shown(township.get(LEDGER, {"queue": "to_accept"})) == {rectified.pk}
    assert shown(township.get(LEDGER, {"queue": "to_close"})) == {accepted.pk}
    response = township.get(LEDGER, {"queue": "to_accept"})
    assert counts(response, "queue_tabs") == {
        "to_plan": 0,
        "to_accept": 1,
        "to_close": 1,
        "overdue": 0,
    }
    assert shown(as_user(s).get(LEDGER, {"queue": "to_rectify"})) == {planned.pk}
    county = as_user(users.county)
    assert shown(county.get(LEDGER, {"queue": "to_review"})) == {closed.pk}
    move(closed, "review", users.county)
    assert shown(county.get(LEDGER, {"queue": "to_review"})) == set()


def test_the_to_accept_queue_offers_bulk_acceptance_to_the_township(as_user, users, entries):
    rectified = drive(entries.e1, township=users.township, surveyor=users.surveyor, to="rectified")
    page = as_user(users.township).get(LEDGER, {"queue": "to_accept"}).content.decode()
    assert f'action="{reverse("rectification:bulk-accept")}"' in page
    assert f'name="ids" value="{rectified.pk}"' in page
    assert "批量验收所选" in page
    # Not on other queues, and not for roles that cannot accept.
    assert "批量验收所选" not in as_user(users.township).get(LEDGER).content.decode()
    page = as_user(users.county).get(LEDGER, {"queue": "to_accept"}).content.decode()
    assert 'name="ids"' not in page


def test_it_links_the_villages_notices(as_user, users, entries, tree):
    notices = reverse("rectification:notices")
    page = as_user(users.township).get(LEDGER, {"village": tree.v1.code}).content.decode()
    assert f"{notices}?village={tree.v1.code}" in page
    assert "打印本村整改告知单" not in as_user(users.township).get(LEDGER).content.decode()
    page = as_user(users.surveyor).get(LEDGER).content.decode()
    assert f"{notices}?village={tree.v1.code}" in page


def test_it_links_the_export_with_the_same_filters(as_user, users, entries, tree):
    page = as_user(users.township).get(LEDGER, {"village": tree.v1.code}).content.decode()
    assert f"{EXPORT}?village={tree.v1.code}" in page
    assert "整改日志" in page


# Overdue ----------------------------------------------------------------------------------


def test_an_overdue_entry_shows_its_days_and_is_filtered(as_user, users, entries):
    make_overdue(entries.e1, users.township, days=5)
    move(entries.e2, "plan", users.township, plan=plan_data())  # planned, deadline ahead
    client = as_user(users.township)
    page = client.get(LEDGER).content.decode()
    assert "已逾期 5 天" in page
    assert page.count("已逾期 5 天") == 1
    assert shown(client.get(LEDGER, {"overdue": "true"})) == {entries.e1.pk}
    assert shown(client.get(LEDGER, {"overdue": "false"})) == {entries.e2.pk}
    response = client.get(LEDGER, {"queue": "overdue"})
    assert shown(response) == {entries.e1.pk}
    assert counts(response, "queue_tabs")["overdue"] == 1


def test_a_rectified_entry_past_its_deadline_is_not_overdue(as_user, users, entries):
    entry = make_overdue(entries.e1, users.township)
    entry = move(entry, "start", users.township)
    move(entry, "rectify", users.surveyor, photos=[after_photo()])
    page = as_user(users.township).get(LEDGER).content.decode()
    assert "已逾期 5 天" not in page


def test_the_overdue_page_counts_per_township_with_the_trend(as_user, users, entries, tree):
    make_overdue(entries.e1, users.township, days=5)
    make_overdue(entries.e2, users.township, days=1)
    make_overdue(entries.e3, users.township_t2, days=5)
    today = timezone.localdate()
    record_overdue(today - datetime.timedelta(days=2))  # e2 not yet overdue then
    record_overdue(today)

    response = as_user(users.county).get(OVERDUE)
    assert response.status_code == 200
    rows = {region.code: (count, url) for region, count, url in response.context["rows"]}
    assert rows[tree.t1.code][0] == 2 and rows[tree.t2.code][0] == 1
    assert rows[tree.t1.code][1] == f"{LEDGER}?township={tree.t1.code}&queue=overdue"
    trend = {day["day"]: day["total"] for day in response.context["trend"]}
    assert trend == {today - datetime.timedelta(days=2): 2, today: 3}
    page = response.content.decode()
    assert "00:30" in page
    assert f"township={tree.t1.code}&amp;queue=overdue" in page

    # The link leads to exactly those entries.
    township = as_user(users.township)
    linked = township.get(LEDGER, {"township": tree.t1.code, "queue": "overdue"})
    assert shown(linked) == {entries.e1.pk, entries.e2.pk}

    response = township.get(OVERDUE)
    assert [region.code for region, _, _ in response.context["rows"]] == [tree.t1.code]
    assert {d["day"]: d["total"] for d in response.context["trend"]} == {
        today - datetime.timedelta(days=2): 1,
        today: 2,
    }

    response = as_user(users.outsider).get(OVERDUE)
    assert [region.code for region, _, _ in response.context["rows"]] == [tree.t3.code]
    assert response.context["total"] == 0
    assert {d["day"]: d["total"] for d in response.context["trend"]} == {
        today - datetime.timedelta(days=2): 0,
        today: 0,
    }


def test_the_overdue_page_shows_a_village_user_its_village(as_user, users, entries, tree):
    make_overdue(entries.e1, users.township)
    response = as_user(users.surveyor).get(OVERDUE)
    assert [(r.code, n) for r, n, _ in response.context["rows"]] == [(tree.v1.code, 1)]


def test_the_trend_leaves_out_days_older_than_thirty(as_user, users, entries):
    make_overdue(entries.e1, users.township, days=60)
    today = timezone.localdate()
    record_overdue(today - datetime.timedelta(days=30))
    record_overdue(today - datetime.timedelta(days=29))
    response = as_user(users.county).get(OVERDUE)
    assert [d["day"] for d in response.context["trend"]] == [today - datetime.timedelta(days=29)]


# Export -----------------------------------------------------------------------------------


def test_the_export_holds_the_filtered_rows(as_user, users, entries, register, tree):
    make_overdue(entries.e1, users.township, days=5)
    rows = sheet_rows(as_user(users.township).get(EXPORT))
    assert rows[0] == LEDGER_HEADERS
    by_name = {row["户主"]: row for row in as_dicts(rows)}
    assert set(by_name) == {"王建国", "赵六"}
    row = by_name["王建国"]
    assert row["乡镇"] == "沙埠镇" and row["行政村"] == "沙埠村"
    assert row["区划代码"] == tree.v1.code
    assert row["身份证号"] == register.h1.id_number  # the township sees full numbers
    assert row["联系电话"] == "13812345678"
    assert row["问题类型"] == "粪池问题"
    assert row["使用情况"] == "不能使用"
    assert row["整改类别"] == "技术指导整改"
    assert row["状态"] == "已制定方案"
    assert row["是否逾期"] == "是"
    assert row["责任人"] == "陈志明"
    assert row["发现轮次"] == "2022年摸排"
    assert by_name["赵六"]["是否逾期"] == "否"

    filtered = sheet_rows(as_user(users.township).get(EXPORT, {"village": tree.v2.code}))
    assert [row["户主"] for row in as_dicts(filtered)] == ["赵六"]


def test_the_export_masks_identity_for_the_county(as_user, users, entries, register):
    rows = as_dicts(sheet_rows(as_user(users.county).get(EXPORT)))
    row = next(row for row in rows if row["户主"] == "王建国")
    assert row["身份证号"] != register.h1.id_number
    assert row["身份证号"].startswith(register.h1.id_number[:6]) and "*" in row["身份证号"]
    assert row["联系电话"] == "138****5678"
    assert {row["户主"] for row in rows} == {"王建国", "赵六", "李秀英"}


def test_the_export_escapes_formulas(as_user, users, tree, survey):
    household = HouseholdFactory(village=tree.v1, head_name='=HYPERLINK("http://x")')
    open_entry(users.surveyor, survey, ToiletFactory(household=household))
    rows = as_dicts(sheet_rows(as_user(users.township).get(EXPORT)))
    assert rows[0]["户主"] == '\'=HYPERLINK("http://x")'


def test_the_export_is_named_and_scoped(as_user, users, entries):
    response = as_user(users.outsider).get(EXPORT)
    stamp = timezone.localdate().strftime("%Y%m%d")
    assert (
        f"filename*=UTF-8''{quote(f'钦北区-问题台账-{stamp}.xlsx')}"
        in (response["Content-Disposition"])
    )
    assert [row["户主"] for row in as_dicts(sheet_rows(response))] == ["张志强"]


# Log --------------------------------------------------------------------------------------


def test_the_log_lists_the_users_own_region_newest_first(as_user, users, entries):
    move(entries.e1, "plan", users.township, plan=plan_data())
    response = as_user(users.township).get(LOG)
    logs = list(response.context["object_list"])
    assert {log.entry_id for log in logs} == {entries.e1.pk, entries.e2.pk}
    assert logs[0].action == "plan"
    page = response.content.decode()
    assert "制定整改方案" in page and "登记 → 已制定方案" in page
    assert reverse("rectification:entry", args=[entries.e1.pk]) in page
    assert "李秀英" not in page
    other = as_user(users.township_t2).get(LOG)
    assert {log.entry_id for log in other.context["object_list"]} == {entries.e3.pk}


def test_the_log_is_filtered_by_entry(as_user, users, entries):
    response = as_user(users.township).get(LOG, {"entry": entries.e2.pk})
    assert {log.entry_id for log in response.context["object_list"]} == {entries.e2.pk}
    # Another region's entry shows nothing.
    response = as_user(users.township).get(LOG, {"entry": entries.e3.pk})
    assert list(response.context["object_list"]) == []


def test_the_log_export_is_scoped_and_masked(as_user, users, entries, register):
    users.township.first_name = "镇审核员"
    users.township.save()
    move(entries.e1, "plan", users.township, plan=plan_data(), note="")
    rows = sheet_rows(as_user(users.county).get(LOG_EXPORT))
    assert rows[0] == LOG_HEADERS
    data = as_dicts(rows)
    assert {row["户主"] for row in data} == {"王建国", "赵六", "李秀英"}
    plan = next(row for row in data if row["操作"] == "制定整改方案")
    assert plan["户主"] == "王建国" and plan["乡镇"] == "沙埠镇"
    assert (plan["原状态"], plan["新状态"]) == ("登记", "已制定方案")
    assert plan["操作人"] == "镇审核员"
    assert "*" in plan["身份证号"]
    register_row = next(row for row in data if row["户主"] == "李秀英")
    assert register_row["操作"] == "登记问题"

    rows = as_dicts(sheet_rows(as_user(users.township).get(LOG_EXPORT)))
    assert {row["户主"] for row in rows} == {"王建国", "赵六"}
    assert register.h1.id_number in {row["身份证号"] for row in rows}


# Home -------------------------------------------------------------------------------------


def test_the_home_page_shows_the_users_queue_counts(as_user, users, entries):
    make_overdue(entries.e1, users.township)
    response = as_user(users.township).get(reverse("home"))
    queues = {q.label: q.count for q in response.context["ledger_queues"]}
    assert queues == {"待制定方案": 1, "待验收": 0, "待销号": 0, "已逾期": 1}
    page = response.content.decode()
    assert "问题台账" in page
    assert f"{LEDGER}?queue=to_plan" in page

    response = as_user(users.surveyor).get(reverse("home"))
    assert {q.label: q.count for q in response.context["ledger_queues"]} == {
        "待整改": 1,
        "已逾期": 1,
    }


def test_the_nav_links_the_ledger(as_user, users, tree):
    page = as_user(users.surveyor).get(reverse("home")).content.decode()
    assert f'href="{LEDGER}">台账</a>' in page


# Query counts -----------------------------------------------------------------------------

# session, user, role assignment; count, rows, categories; the counts' aggregate; the filter
# form's choices (villages, rounds, categories: a township's user has no township filter).
LEDGER_LIST_QUERIES = 10
# session, user, role assignment; count, rows; the filter form's choices (townships, villages).
LOG_LIST_QUERIES = 7
# session, user, role assignment; the row count (sent at once or as a job); rows, categories
# (once per chunk of 2000).
LEDGER_EXPORT_QUERIES = 6
LOG_EXPORT_QUERIES = 5


def fill(users, survey, tree, n):
    for _ in range(n):
        toilet = ToiletFactory(household=HouseholdFactory(village=tree.v1))
        entry = open_entry(users.surveyor, survey, toilet, cats=("tank", "water"))
        move(entry, "plan", users.township, plan=plan_data())


@pytest.mark.parametrize("rows", [3, 15])
def test_the_ledger_list_query_count_is_pinned(
    as_user, users, tree, survey, django_assert_num_queries, rows
):
    fill(users, survey, tree, rows)
    client = as_user(users.township)
    with django_assert_num_queries(LEDGER_LIST_QUERIES):
        response = client.get(LEDGER)
    assert len(response.context["object_list"]) == rows


@pytest.mark.parametrize("rows", [3, 15])
def test_the_log_list_query_count_is_pinned(
    as_user, users, tree, survey, django_assert_num_queries, rows
):
    fill(users, survey, tree, rows)
    client = as_user(users.township)
    with django_assert_num_queries(LOG_LIST_QUERIES):
        response = client.get(LOG)
    assert len(response.context["object_list"]) == min(rows * 2, 20)


@pytest.mark.parametrize("rows", [3, 15])
def test_the_export_query_counts_are_pinned(
    as_user, users, tree, survey, django_assert_num_queries, rows
):
    fill(users, survey, tree, rows)
    client = as_user(users.township)
    with django_assert_num_queries(LEDGER_EXPORT_QUERIES):
        assert len(sheet_rows(client.get(EXPORT))) == rows + 1
    with django_assert_num_queries(LOG_EXPORT_QUERIES):
        assert len(sheet_rows(client.get(LOG_EXPORT))) == rows * 2 + 1

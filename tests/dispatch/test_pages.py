"""The dispatch pages: who sees what (another county's briefing 404, a surveyor 403), the
printable briefing, its spreadsheet, the formula page, the township's own view, and bounded
queries."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from dispatch.models import Briefing, RankingFormula
from dispatch.services import generate_briefing
from rectification.choices import LedgerState
from surveys.services import open_round
from tests.factories import SurveyRoundFactory, ToiletFactory
from tests.ledger import drive, open_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def briefing(tree, users, register, survey, surveyor_v3):
    """康熙岭镇 has closed its one problem toilet but surveyed one of its two toilets (80
    points), 沙埠镇 surveyed all and closed nothing (40): 康熙岭镇 first."""
    ToiletFactory(household=register.h3)
    open_entry(users.surveyor, survey, register.t1)
    other = open_entry(surveyor_v3, survey, register.t3)
    drive(other, township=users.township_t2, surveyor=surveyor_v3, to=LedgerState.CLOSED)
    return generate_briefing(actor=users.county, county=tree.county, kind="week")


@pytest.fixture
def other_briefing(tree, users):
    survey_b = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排", status="draft")
    open_round(actor=users.outsider, survey_round=survey_b)
    return generate_briefing(actor=users.outsider, county=tree.county_b, kind="week")


def test_the_briefing_page(as_user, users, briefing):
    page = as_user(users.county).get(reverse("dispatch:detail", args=[briefing.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert briefing.title in html
    assert "得分 = 40×摸排覆盖率 + 60×销号率 − 0.5×逾期户数 − 20×抽查不一致率" in html
    assert "名次并列" in html  # the tie rule is stated
    assert "dispatch.css" in html and "data-print" in html
    rows = {r["name"]: r for r in briefing.data["rows"]}
    assert rows["康熙岭镇"]["place"] == 1 and rows["沙埠镇"]["place"] == 2
    assert rows["康熙岭镇"]["components"] == {
        "coverage": "20.00",
        "closeout": "60.00",
        "overdue": "0.00",
        "discrepancy": "0.00",
    }


@pytest.mark.parametrize("who", ["county", "township", "township_t2", "inspector"])
def test_the_county_and_its_townships_read_the_briefing(as_user, users, briefing, who):
    client = as_user(getattr(users, who))
    assert client.get(reverse("dispatch:detail", args=[briefing.pk])).status_code == 200
    assert client.get(reverse("dispatch:list")).status_code == 200


def test_another_countys_briefing_does_not_exist(as_user, users, briefing, other_briefing):
    client = as_user(users.outsider)
    assert client.get(reverse("dispatch:detail", args=[briefing.pk])).status_code == 404
    assert client.get(reverse("dispatch:xlsx", args=[briefing.pk])).status_code == 404
    listing = client.get(reverse("dispatch:list")).content.decode()
    assert "钦北区" in listing and "钦南区" not in listing
    client = as_user(users.county)
    assert client.get(reverse("dispatch:detail", args=[other_briefing.pk])).status_code == 404


def test_the_city_reads_its_counties(as_user, tree, briefing, other_briefing):
    from regions.choices import Role
    from tests.factories import UserFactory

    city = UserFactory(username="city", role=(Role.INSPECTOR, tree.city))
    listing = as_user(city).get(reverse("dispatch:list")).content.decode()
    assert "钦北区" in listing and "钦南区" in listing


def test_a_surveyor_has_no_dispatch_pages(as_user, users, briefing):
    client = as_user(users.surveyor)
    for url in [
        reverse("dispatch:list"),
        reverse("dispatch:detail", args=[briefing.pk]),
        reverse("dispatch:xlsx", args=[briefing.pk]),
        reverse("dispatch:mine"),
        reverse("dispatch:formula"),
    ]:
        assert client.get(url).status_code == 403, url


def test_anonymous_users_log_in_first(client, briefing):
    assert client.get(reverse("dispatch:detail", args=[briefing.pk])).status_code == 302


def test_the_spreadsheet_has_the_numbers(as_user, users, briefing):
    response = as_user(users.township).get(reverse("dispatch:xlsx", args=[briefing.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("名次", "乡镇（街道）", "得分")
    first, second, total = rows[1], rows[2], rows[3]
    col = {name: i for i, name in enumerate(header)}
    assert (first[0], first[1], first[2]) == (1, "康熙岭镇", 80.0)
    assert (second[0], second[1], second[2]) == (2, "沙埠镇", 40.0)
    assert first[col["累计销号"]] == 1 and second[col["累计问题厕所"]] == 1
    assert total[1] == "合计" and total[col["累计问题厕所"]] == 2
    assert any(r and r[0] == "排名公式" for r in rows)


def test_no_edit_path(as_user, users, briefing):
    client = as_user(users.county)
    url = reverse("dispatch:detail", args=[briefing.pk])
    assert client.post(url, {"data": "{}"}).status_code == 405
    assert Briefing.objects.get(pk=briefing.pk).data == briefing.data


def test_the_county_generates_on_demand(as_user, users, tree, briefing):
    client = as_user(users.county)
    listing = client.get(reverse("dispatch:list")).content.decode()
    assert 'id="generate"' in listing
    response = client.post(reverse("dispatch:generate"), {"kind": "month"})
    made = Briefing.objects.latest("id")
    assert response.status_code == 302
    assert response["Location"] == reverse("dispatch:detail", args=[made.pk])
    assert made.kind == "month" and made.generated_by == users.county
    township = as_user(users.township)
    assert 'id="generate"' not in township.get(reverse("dispatch:list")).content.decode()
    assert township.post(reverse("dispatch:generate"), {"kind": "week"}).status_code == 403


def test_the_formula_page(as_user, users, tree):
    client = as_user(users.county)
    page = client.get(reverse("dispatch:formula"))
    assert page.status_code == 200 and "尚未设置，使用默认权重" in page.content.decode()
    data = {"coverage": "30", "closeout": "70", "overdue": "2", "discrepancy": "10"}
    assert client.post(reverse("dispatch:formula"), data).status_code == 302
    formula = RankingFormula.objects.get(region=tree.county)
    assert (formula.coverage, formula.closeout, formula.updated_by) == (30, 70, users.county)
    refused = client.post(reverse("dispatch:formula"), {**data, "overdue": "5000"})
    assert refused.status_code == 200 and "权重须在 0 到 1000 之间" in refused.content.decode()
    for user in (users.township, users.inspector):
        assert as_user(user).get(reverse("dispatch:formula")).status_code == 403


def test_the_township_sees_what_would_move_it_up(as_user, users, briefing):
    page = as_user(users.township).get(reverse("dispatch:mine"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "排第 <strong>2</strong> 名" in html
    assert "再销号 1 户可升至第 1 名" in html
    first = as_user(users.township_t2).get(reverse("dispatch:mine")).content.decode()
    assert "排第 <strong>1</strong> 名" in first and "请保持" in first
    assert as_user(users.county).get(reverse("dispatch:mine")).status_code == 403


def test_the_township_row_is_marked_on_the_briefing(as_user, users, briefing):
    html = as_user(users.township).get(reverse("dispatch:detail", args=[briefing.pk]))
    assert f'data-code="{briefing.data["rows"][1]["code"]}" class="own"' in html.content.decode()


def test_pages_take_a_fixed_number_of_queries(
    as_user, users, tree, register, survey, briefing, django_assert_num_queries
):
    client = as_user(users.township)
    counts = {}
    for name, url in [
        ("list", reverse("dispatch:list")),
        ("detail", reverse("dispatch:detail", args=[briefing.pk])),
        ("xlsx", reverse("dispatch:xlsx", args=[briefing.pk])),
        ("mine", reverse("dispatch:mine")),
    ]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts[name] = len(captured)
    # More briefings and more problem toilets: the same numbers of queries.
    for _ in range(3):
        open_entry(users.surveyor, survey, ToiletFactory(household=register.h1))
        generate_briefing(actor=users.county, county=tree.county, kind="week")
    latest = Briefing.objects.latest("id")
    for url, expected in [
        (reverse("dispatch:list"), counts["list"]),
        (reverse("dispatch:detail", args=[latest.pk]), counts["detail"]),
        (reverse("dispatch:mine"), counts["mine"]),
    ]:
        with django_assert_num_queries(expected):
            client.get(url)
    assert counts == PINNED


# Session, user, scope (role assignment), then the page's own: the list's count and page;
# the briefing (with its county, round and author) for the others.
PINNED = {"list": 5, "detail": 4, "xlsx": 4, "mine": 4}

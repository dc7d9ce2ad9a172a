"""Briefings of a city (counties as rows) and of the province (cities as rows): each county's
figures are its own table's at the cut-off in its own current round, ranked by the city's
formula, frozen in numbered editions, made by the city user or the schedule; read by the unit,
above it and by the counties below it (通报), never by another city."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from dispatch import figures, ranking, tasks
from dispatch.models import BriefingKind, UnitBriefing
from dispatch.services import generate_briefing, generate_unit_briefing, save_formula
from regions.choices import Role
from regions.models import Region
from reports import chain
from reports.build import build_summary
from tests.config.test_province_scale import COUNTIES, province  # noqa: F401 (a fixture)
from tests.factories import (
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
    default_template,
    region,
)
from tests.ledger import drive, open_entry

pytestmark = pytest.mark.django_db


def rows_by_name(briefing):
    return {row["name"]: row for row in briefing.data["rows"]}


def table_figures(summary_total):
    return {
        "registered": summary_total[1],
        "problems": summary_total[6] + summary_total[9],
        "closed": summary_total[29] + summary_total[32],
        "unfinished": summary_total[33],
    }


# Figures -------------------------------------------------------------------------------------


def test_each_county_row_is_its_own_table_at_the_cut_off(world, tree):
    briefing = generate_unit_briefing(actor=world["city"], region=tree.city, kind="week")
    rows = rows_by_name(briefing)
    assert set(rows) == {"钦南区", "钦北区"}
    for county, survey in ((tree.county, world["survey"]), (tree.county_b, world["survey_b"])):
        total = build_summary(survey, county, cutoff=briefing.cutoff).total
        row = rows[county.name]
        assert {k: row[k] for k in ("registered", "problems", "closed", "unfinished")} == (
            table_figures(total)
        )
        assert row["rounds"] == [f"{survey.name}（进行中）"]
    a = rows["钦南区"]
    assert (a["registered"], a["problems"], a["closed"], a["unfinished"]) == (4, 2, 1, 1)
    # Every figure equals the county briefing's 合计 at the same cut-off.
    county_briefing = generate_briefing(
        actor=None, county=tree.county, kind="week", now=briefing.cutoff
    )
    assert {k: a[k] for k in figures.COUNTS} == {
        k: county_briefing.data["total"][k] for k in figures.COUNTS
    }
    total = briefing.data["total"]
    assert total["registered"] == a["registered"] + rows["钦北区"]["registered"]


def test_a_past_period_reads_the_tables_as_they_stood(world, tree, users):
    last_week = timezone.localdate() - datetime.timedelta(days=7)
    briefing = generate_unit_briefing(
        actor=world["city"], region=tree.city, kind="week", day=last_week
    )
    assert briefing.cutoff < timezone.now()
    for county, survey in ((tree.county, world["survey"]), (tree.county_b, world["survey_b"])):
        total = build_summary(survey, county, cutoff=briefing.cutoff).total
        row = rows_by_name(briefing)[county.name]
        assert {k: row[k] for k in ("registered", "problems", "closed", "unfinished")} == (
            table_figures(total)
        )
        assert row["registered"] == 0  # everything was registered this week


def test_the_province_has_one_row_per_city(world, tree):
    city_briefing = generate_unit_briefing(actor=world["city"], region=tree.city, kind="month")
    briefing = generate_unit_briefing(actor=world["province"], region=tree.province, kind="month")
    rows = rows_by_name(briefing)
    assert list(rows) == ["钦州市", "贵港市"]
    qinzhou = rows["钦州市"]
    for name in figures.COUNTS:
        assert qinzhou[name] == city_briefing.data["total"][name]
    assert (qinzhou["briefed"], qinzhou["counties"], qinzhou["place"]) == (2, 2, 1)
    # 贵港市: its county has no round yet — listed, not ranked.
    guigang = rows["贵港市"]
    assert (guigang["briefed"], guigang["counties"], guigang["place"]) == (0, 1, None)
    assert briefing.row_label == "市" and city_briefing.row_label == "县（区）"


def test_a_city_without_any_round_below_gets_no_briefing(world):
    with pytest.raises(ValidationError):
        generate_unit_briefing(actor=world["city2_user"], region=world["city2"], kind="week")


# Ranking -------------------------------------------------------------------------------------


def test_counties_are_ranked_by_the_city_formula(world, tree, users):
    weights = {"coverage": "10", "closeout": "90", "overdue": "1", "discrepancy": "0"}
    save_formula(actor=world["city"], county=tree.city, weights=weights)
    briefing = generate_unit_briefing(actor=world["city"], region=tree.city, kind="week")
    assert briefing.formula["weights"] == {k: f"{v}.00" for k, v in weights.items()}
    ranked = briefing.data["rows"]
    for row in ranked:
        assert row["score"] == str(ranking.score(row, briefing.formula["weights"]))
    assert [row["place"] for row in ranked] == ranking.places(
        [ranking.score(r, weights) for r in ranked]
    )
    # 钦南区 closed one of two problem toilets, 钦北区 none of one: 钦南区 first.
    assert [row["name"] for row in ranked] == ["钦南区", "钦北区"]
    # The county's formula is the county's; the city's is the city's.
    with pytest.raises(PermissionDenied):
        save_formula(actor=users.county, county=tree.city, weights=weights)
    with pytest.raises(PermissionDenied):
        save_formula(actor=world["city"], county=tree.county, weights=weights)
    with pytest.raises(PermissionDenied):
        save_formula(actor=world["city2_user"], county=tree.city, weights=weights)


def test_only_the_unit_generates_its_briefing(world, tree, users):
    for user in (users.county, users.township, users.inspector, world["city2_user"],
                 world["province"]):  # fmt: skip
        with pytest.raises(PermissionDenied):
            generate_unit_briefing(actor=user, region=tree.city, kind="week")
    with pytest.raises(ValidationError):
        generate_unit_briefing(actor=world["city"], region=tree.county, kind="week")


# Editions ------------------------------------------------------------------------------------


def test_a_frozen_edition_never_changes_and_a_new_one_counts_the_writes(world, tree, users):
    first = generate_unit_briefing(actor=None, region=tree.city, kind="week")
    frozen = UnitBriefing.objects.get(pk=first.pk).data
    surveyor_v3 = UserFactory(username="surveyor_v3b", role=(Role.SURVEYOR, tree.v3))
    entry = open_entry(surveyor_v3, world["survey"], ToiletFactory(household__village=tree.v3))
    drive(entry, township=users.township_t2, surveyor=surveyor_v3, to="closed")
    assert UnitBriefing.objects.get(pk=first.pk).data == frozen
    with pytest.raises(ValueError):
        first.save()
    with pytest.raises(ValueError):
        UnitBriefing.objects.filter(pk=first.pk).update(edition=5)
    with pytest.raises(ValueError):
        UnitBriefing.objects.all().delete()
    # The schedule finds its own; the city makes edition 2, which counts the close-out.
    assert generate_unit_briefing(actor=None, region=tree.city, kind="week") == first
    second = generate_unit_briefing(actor=world["city"], region=tree.city, kind="week")
    assert second.edition == 2 and "（第2版）" in second.title
    before, after = rows_by_name(first)["钦南区"], rows_by_name(second)["钦南区"]
    assert (after["closed"], after["problems"]) == (before["closed"] + 1, before["problems"] + 1)


def test_the_next_period_compares_with_the_previous_one(world, tree):
    friday = timezone.localdate() + datetime.timedelta(
        days=(4 - timezone.localdate().weekday()) % 7
    )
    now = timezone.make_aware(datetime.datetime.combine(friday, datetime.time(15)))
    first = generate_unit_briefing(actor=None, region=tree.city, kind="week", now=now)
    second = generate_unit_briefing(
        actor=None, region=tree.city, kind="week", now=now + datetime.timedelta(days=7)
    )
    assert second.previous == first
    assert set(second.data["change"]) == {tree.county.code, tree.county_b.code}


def test_the_schedule_briefs_the_city_and_the_province(world, tree):
    friday = datetime.date(2027, 1, 8)
    now = timezone.make_aware(datetime.datetime.combine(friday, datetime.time(15)))
    # Two counties, their city, the province (贵港市 has no round: no briefing).
    assert tasks.weekly(now=now) == 4
    assert set(UnitBriefing.objects.values_list("region__name", flat=True)) == {
        "钦州市",
        "广西壮族自治区",
    }
    assert tasks.weekly(now=now + datetime.timedelta(minutes=5)) == 4
    assert UnitBriefing.objects.count() == 2


def test_the_schedule_counts_each_county_once_and_the_same_as_a_user_would(
    world, tree, monkeypatch
):
    """The county briefings' totals are the counties' rows of the city's and the province's
    briefings of the same run: each county is counted once, not once per unit above it."""
    counted = []
    real = figures.compute

    def counting(survey_round, county, *args, **kwargs):
        counted.append(county.name)
        return real(survey_round, county, *args, **kwargs)

    monkeypatch.setattr(figures, "compute", counting)
    friday = datetime.date(2027, 1, 8)
    now = timezone.make_aware(datetime.datetime.combine(friday, datetime.time(15)))
    assert tasks.weekly(now=now) == 4
    assert sorted(counted) == sorted([tree.county.name, tree.county_b.name])

    monkeypatch.setattr(figures, "compute", real)
    for unit, user in ((tree.city, world["city"]), (tree.province, world["province"])):
        scheduled = UnitBriefing.objects.get(region=unit, generated_by__isnull=True)
        by_hand = generate_unit_briefing(actor=user, region=unit, kind="week", now=now)
        assert scheduled.data["rows"] == by_hand.data["rows"]
        assert scheduled.data["total"] == by_hand.data["total"]


def test_a_half_month_briefing(world, tree):
    day = datetime.date(2027, 1, 20)
    now = timezone.make_aware(datetime.datetime.combine(day, datetime.time(15)))
    briefing = generate_unit_briefing(
        actor=world["city"], region=tree.city, kind=BriefingKind.HALF_MONTH, now=now
    )
    assert (briefing.period_start, briefing.period_end) == (
        datetime.date(2027, 1, 16),
        datetime.date(2027, 1, 31),
    )
    assert briefing.title.endswith("半月通报·2027年1月下半月")


# Deliveries ----------------------------------------------------------------------------------


def test_each_county_shows_its_delivery_and_who_is_late(world, tree):
    from tests.reports.test_chain import county_table

    collection = chain.create_collection(
        actor=world["city"], name="2026年全市汇总", template=default_template(),
        deadline=timezone.localdate() - datetime.timedelta(days=1),
    )  # fmt: skip
    survey = world["survey"]
    county_user = UserFactory(username="county_a2", role=(Role.COUNTY, tree.county))
    chain.deliver(
        actor=county_user,
        submission=county_table(tree.county, survey, world["city"], seed=0),
        collection=collection,
    )
    briefing = generate_unit_briefing(actor=world["city"], region=tree.city, kind="week")
    rows = rows_by_name(briefing)
    assert (rows["钦南区"]["delivery"]["label"], rows["钦南区"]["delivery"]["late"]) == (
        "已上报",
        False,
    )
    assert (rows["钦北区"]["delivery"]["label"], rows["钦北区"]["delivery"]["late"]) == (
        "未上报",
        True,
    )
    assert briefing.data["collection"]["late"] == 1


# Pages and scoping ---------------------------------------------------------------------------


def test_the_pages(as_user, world, tree, django_capture_on_commit_callbacks):
    briefing = generate_unit_briefing(actor=world["city"], region=tree.city, kind="week")
    client = as_user(world["city"])
    listing = client.get(reverse("dispatch:units"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert 'id="generate"' in body and reverse("dispatch:unit", args=[briefing.pk]) in body
    detail = client.get(reverse("dispatch:unit", args=[briefing.pk])).content.decode()
    assert "县（区）" in detail and "钦南区" in detail and "钦北区" in detail
    assert "data-print" in detail and "当前轮次" in detail
    response = client.get(reverse("dispatch:unit-xlsx", args=[briefing.pk]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert header[1] == "县（区）" and header[-2:] == ["当前轮次", "汇总表报送"]
    assert {sheet.cell(row=r, column=2).value for r in (2, 3)} == {"钦南区", "钦北区"}
    # Generating from the page makes a new edition (in the background) and opens it.
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(reverse("dispatch:unit-generate"), {"kind": "week"})
    second = UnitBriefing.objects.get(region=tree.city, edition=2)
    assert client.get(made.url).url == reverse("dispatch:unit", args=[second.pk])


def test_the_list_is_paged(as_user, world, tree):
    for _ in range(23):
        generate_unit_briefing(actor=world["city"], region=tree.city, kind="week")
    page = as_user(world["city"]).get(reverse("dispatch:units"))
    assert len(page.context["briefings"]) == 20
    assert page.context["page_obj"].paginator.count == 23


def test_scoping(as_user, world, tree, users):
    """Another city's briefing is a 404; the counties of the city read it (通报 is sent down to
    them), with their own row marked; a township or a village does not."""
    briefing = generate_unit_briefing(actor=world["city"], region=tree.city, kind="week")
    detail = reverse("dispatch:unit", args=[briefing.pk])
    xlsx = reverse("dispatch:unit-xlsx", args=[briefing.pk])
    for user in (world["city2_user"], world["county_c_user"], users.township):
        client = as_user(user)
        assert client.get(detail).status_code == 404
        assert client.get(xlsx).status_code == 404
        assert "钦南区" not in client.get(reverse("dispatch:units")).content.decode()
    assert as_user(users.surveyor).get(detail).status_code == 403
    for user in (world["city"], world["province"], users.county, users.outsider, users.inspector):
        assert as_user(user).get(detail).status_code == 200
    page = as_user(users.county).get(detail)
    assert [row["name"] for row in page.context["rows"] if row["own"]] == ["钦南区"]
    assert 'id="advice"' in page.content.decode()
    # A county reads; it does not generate the city's.
    assert (
        as_user(users.county).post(reverse("dispatch:unit-generate"), {"kind": "week"}).status_code
        == 403
    )


def test_the_city_sets_its_formula_on_the_formula_page(as_user, world, tree):
    client = as_user(world["city"])
    page = client.get(reverse("dispatch:formula"))
    assert page.status_code == 200 and "钦州市" in page.content.decode()
    client.post(
        reverse("dispatch:formula"),
        {"coverage": "30", "closeout": "70", "overdue": "1", "discrepancy": "10"},
    )
    briefing = generate_unit_briefing(actor=world["city"], region=tree.city, kind="week")
    assert briefing.formula["weights"]["closeout"] == "70.00"


# Queries -------------------------------------------------------------------------------------


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


def test_queries_grow_with_the_counties_only(world, tree, users):
    """Generating reads a fixed handful plus each county's figures; nothing per township or
    village. A third county with a round adds one county's figures."""
    generate_unit_briefing(actor=None, region=tree.province, kind="month")  # rollups computed
    two = _queries(
        lambda: generate_unit_briefing(actor=world["province"], region=tree.province, kind="month")
    )
    county = region("450704000000", "灵山县", tree.city)
    for code, name in (("450704100000", "灵城街道"), ("450704101000", "三海街道")):
        region(f"{code[:9]}201", f"{name}一村", region(code, name, county))
    SurveyRoundFactory(county=county, name="灵山县摸排", status="open")
    generate_unit_briefing(actor=None, region=tree.province, kind="week")  # its rollups
    three = _queries(
        lambda: generate_unit_briefing(actor=world["province"], region=tree.province, kind="month")
    )
    # Per county: its townships, its villages' rollups (3), the six aggregates of the figures.
    per_county = three - two
    assert per_county <= 10
    # Fixed: the scope, the lock, the editions, the units, counties, rounds, the collection,
    # the formula, the previous briefing, the insert.
    assert two <= 16 + 2 * per_county


def test_the_pages_read_a_fixed_number_of_queries(
    as_user, world, tree, django_assert_max_num_queries
):
    for _ in range(3):
        briefing = generate_unit_briefing(
            actor=world["province"], region=tree.province, kind="week"
        )
    client = as_user(world["province"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("dispatch:units")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("dispatch:unit", args=[briefing.pk])).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("dispatch:unit-xlsx", args=[briefing.pk])).status_code == 200


def test_a_province_of_36_counties(client, province, django_assert_max_num_queries):  # noqa: F811
    """6 cities × 6 counties × 300 villages: the province's briefing reads a fixed handful
    plus nine queries per county, and its pages stay small and bounded."""
    unit = Region.objects.get(code="450000000000")
    # Cold, the rollups of every county are computed (the build's queries over each county,
    # and their writes); warm, each county reads them in three queries.
    with CaptureQueriesContext(connection) as cold:
        generate_unit_briefing(actor=province["province"], region=unit, kind="week")
    assert len(cold) <= 16 + 25 * 6 * COUNTIES
    with CaptureQueriesContext(connection) as warm:
        briefing = generate_unit_briefing(actor=province["province"], region=unit, kind="week")
    assert len(warm) <= 16 + 10 * 6 * COUNTIES
    assert [row["briefed"] for row in briefing.data["rows"]] == [COUNTIES] * 6
    client.force_login(province["province"])
    for url in (reverse("dispatch:units"), reverse("dispatch:unit", args=[briefing.pk])):
        with django_assert_max_num_queries(12):
            response = client.get(url)
        assert response.status_code == 200 and len(response.content) < 100_000

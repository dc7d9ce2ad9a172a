"""The chain above the county: a city's collection, the counties' stamped tables delivered to
it, the city's review (notes hidden until sent), the city table built from the accepted
versions, stamped and delivered to the province, and what each level may see."""

import datetime
import io
import json
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.errors import ConflictError, StaleEditError
from regions.choices import Role
from reports import chain, services
from reports.columns import COLUMNS
from reports.models import Delivery, Submission, SubmissionKind, SubmissionStatus
from reports.sheet import read_summary
from reports.stamp import stamped_workbook
from tests.factories import SurveyRoundFactory, UserFactory, default_template, region
from tests.reports.test_stamp import consistent

pytestmark = pytest.mark.django_db

FILLER = {"filler_name": "黄海燕", "filler_phone": "0777-2822001", "filled_on": None}


def filler():
    return {**FILLER, "filled_on": timezone.localdate()}


def county_table(county, survey_round, user, seed: int, version: int = 1) -> Submission:
    """A county's stamped table as ``services.submit_county`` leaves it (two township rows
    that satisfy every rule), with a real stamped file."""
    rows = [("甲镇", consistent(seed)), ("乙镇", consistent(seed + 1))]
    total = {c: rows[0][1][c] + rows[1][1][c] for c in COLUMNS}
    code = services.new_code()
    data = stamped_workbook(
        title=f"{county.name}汇总表",
        unit=county.name,
        row_label="乡镇",
        rows=rows,
        total=total,
        filler="陈志明",
        phone="0777-1234567",
        filled_on=datetime.date(2026, 5, 6),
        bucket_labels=None,
        code=code,
        version=version,
        round_name=survey_round.name,
        submitted_at=timezone.localtime(),
    )
    submission = Submission(
        survey_round=survey_round,
        region=county,
        kind=SubmissionKind.COUNTY,
        version=version,
        status=SubmissionStatus.FINAL,
        cutoff=timezone.now(),
        rows=[
            {"code": f"{county.code[:6]}10{i}000", "name": n, "values": services.stored_values(v)}
            for i, (n, v) in enumerate(rows)
        ],
        total=services.stored_values(total),
        submitted_by=user,
        filler_name="陈志明",
        filler_phone="0777-1234567",
        filled_on=datetime.date(2026, 5, 6),
        code=code,
        sha256=__import__("hashlib").sha256(data).hexdigest(),
    )
    submission.file.save(f"{county.code}_{version}_{code}.xlsx", ContentFile(data), save=False)
    submission.save()
    return submission


@pytest.fixture
def chain_users(tree, users):
    city2 = region("450800000000", "贵港市", tree.province)
    county_c2 = region("450802000000", "港北区", city2)
    return {
        "city": UserFactory(username="city", role=(Role.CITY, tree.city)),
        "province": UserFactory(username="province", role=(Role.PROVINCE, tree.province)),
        "city2": UserFactory(username="city2", role=(Role.CITY, city2)),
        "county_c2": UserFactory(username="county_c2", role=(Role.COUNTY, county_c2)),
        "county": users.county,
        "county_b": users.outsider,
        "township": users.township,
    }


@pytest.fixture
def rounds(tree):
    return {
        "a": SurveyRoundFactory(county=tree.county, name="2026年摸排", status="closed"),
        "b": SurveyRoundFactory(county=tree.county_b, name="2026年摸排", status="closed"),
    }


@pytest.fixture
def province_collection(chain_users):
    return chain.create_collection(
        actor=chain_users["province"],
        name="2026年全区农村户厕问题摸排汇总",
        template=default_template(),
        deadline=datetime.date(2026, 5, 20),
    )


@pytest.fixture
def collection(chain_users, province_collection):
    return chain.create_collection(
        actor=chain_users["city"],
        name="2026年全市农村户厕问题摸排汇总",
        template=default_template(),
        deadline=datetime.date(2026, 5, 10),
        parent=province_collection,
    )


@pytest.fixture
def tables(tree, rounds, chain_users):
    return {
        "a": county_table(tree.county, rounds["a"], chain_users["county"], seed=0),
        "b": county_table(tree.county_b, rounds["b"], chain_users["county_b"], seed=5),
    }


def both_accepted(chain_users, collection, tables):
    for who, key in (("county", "a"), ("county_b", "b")):
        delivery = chain.deliver(
            actor=chain_users[who], submission=tables[key], collection=collection
        )
        chain.accept_delivery(actor=chain_users["city"], delivery=delivery)


# Collections ---------------------------------------------------------------------------------


def test_only_a_city_or_the_province_publishes_a_collection(chain_users, tree):
    with pytest.raises(PermissionDenied):
        chain.create_collection(
            actor=chain_users["county"],
            name="县里的任务",
            template=default_template(),
            deadline=datetime.date(2026, 5, 10),
        )
    with pytest.raises(ValidationError):
        chain.create_collection(
            actor=chain_users["city"], name=" ", template=default_template(), deadline=None
        )


def test_the_counties_below_see_the_collection_and_its_deadline_another_city_does_not(
    as_user, chain_users, collection
):
    for who in ("county", "county_b", "township", "province"):
        page = as_user(chain_users[who]).get(reverse("reports:collection", args=[collection.pk]))
        assert page.status_code == 200 and "2026年5月10日" in page.content.decode()
    for who in ("city2", "county_c2"):
        page = as_user(chain_users[who]).get(reverse("reports:collection", args=[collection.pk]))
        assert page.status_code == 404
        listing = as_user(chain_users[who]).get(reverse("reports:collections")).content.decode()
        assert "全市农村户厕" not in listing


def test_a_city_publishes_a_collection_through_its_page(as_user, chain_users, province_collection):
    client = as_user(chain_users["city"])
    response = client.post(
        reverse("reports:collections"),
        {
            "name": "2026年汇总",
            "template": default_template().pk,
            "deadline": "2026-05-10",
            "parent": province_collection.pk,
        },
    )
    assert response.status_code == 302
    made = chain.collections_for(chain_users["city"]).get(name="2026年汇总")
    assert made.parent == province_collection and made.region.name == "钦州市"


# County → city -------------------------------------------------------------------------------


def test_the_city_sees_each_county_as_delivered_or_not_and_who_is_late(
    as_user, chain_users, collection, tables, tree
):
    chain.deliver(actor=chain_users["county"], submission=tables["a"], collection=collection)
    table = chain.unit_table(chain_users["city"], collection, today=datetime.date(2026, 5, 11))
    states = {u.region.name: (u.status_label, u.late) for u in table.units}
    assert states == {"钦南区": ("已上报", False), "钦北区": ("未上报", True)}
    page = as_user(chain_users["city"]).get(reverse("reports:collection", args=[collection.pk]))
    body = page.content.decode()
    assert "已上报" in body and "未上报" in body


def test_only_the_latest_stamped_version_of_the_own_county_is_delivered(
    chain_users, collection, tables, tree, rounds
):
    newer = county_table(tree.county, rounds["a"], chain_users["county"], seed=0, version=2)
    with pytest.raises(ConflictError, match="第2版"):
        chain.deliver(actor=chain_users["county"], submission=tables["a"], collection=collection)
    with pytest.raises(PermissionDenied):
        chain.deliver(actor=chain_users["county_b"], submission=newer, collection=collection)
    with pytest.raises(PermissionDenied):
        chain.deliver(actor=chain_users["city"], submission=newer, collection=collection)
    delivery = chain.deliver(actor=chain_users["county"], submission=newer, collection=collection)
    assert delivery.status == "submitted"
    with pytest.raises(ConflictError, match="正在等待"):
        chain.deliver(actor=chain_users["county"], submission=newer, collection=collection)


def test_a_county_cannot_deliver_to_another_citys_collection(chain_users, tables):
    other = chain.create_collection(
        actor=chain_users["city2"],
        name="贵港汇总",
        template=default_template(),
        deadline=datetime.date(2026, 5, 10),
    )
    with pytest.raises(PermissionDenied):
        chain.deliver(actor=chain_users["county"], submission=tables["a"], collection=other)


def test_the_review_note_reaches_the_county_only_with_the_decision(
    as_user, chain_users, collection, tables
):
    delivery = chain.deliver(
        actor=chain_users["county"], submission=tables["a"], collection=collection
    )
    chain.save_review_note(
        actor=chain_users["city"], delivery=delivery, note="第6列与上月通报不一致"
    )
    county = as_user(chain_users["county"])
    url = reverse("reports:delivery", args=[delivery.pk])
    assert "第6列与上月通报不一致" not in county.get(url).content.decode()
    collection_page = county.get(reverse("reports:collection", args=[collection.pk]))
    assert "第6列与上月通报不一致" not in collection_page.content.decode()

    city = as_user(chain_users["city"])
    assert "第6列与上月通报不一致" in city.get(url).content.decode()
    response = city.post(url, {"action": "return", "reason": "", "version": ""})
    assert response.status_code == 200 and "请填写退回原因" in response.content.decode()
    response = city.post(url, {"action": "return", "reason": "第6列数据有误，请核实"})
    assert response.status_code == 302

    county = as_user(chain_users["county"])
    body = county.get(url).content.decode()
    assert "第6列与上月通报不一致" in body and "第6列数据有误，请核实" in body
    with pytest.raises(ConflictError):
        chain.save_review_note(actor=chain_users["city"], delivery=delivery, note="改")


def test_only_the_collecting_city_reviews(chain_users, collection, tables):
    delivery = chain.deliver(
        actor=chain_users["county"], submission=tables["a"], collection=collection
    )
    for who in ("county", "county_b", "city2"):
        with pytest.raises(PermissionDenied):
            chain.accept_delivery(actor=chain_users[who], delivery=delivery)
    # The province is above the city but is not the collecting unit.
    with pytest.raises(PermissionDenied):
        chain.accept_delivery(actor=chain_users["province"], delivery=delivery)


def test_a_stale_or_double_review_is_refused(chain_users, collection, tables):
    delivery = chain.deliver(
        actor=chain_users["county"], submission=tables["a"], collection=collection
    )
    seen = delivery.version
    chain.accept_delivery(actor=chain_users["city"], delivery=delivery, expected_version=seen)
    with pytest.raises(StaleEditError):
        chain.return_delivery(
            actor=chain_users["city"], delivery=delivery, reason="晚了", expected_version=seen
        )
    with pytest.raises(ConflictError):
        chain.accept_delivery(actor=chain_users["city"], delivery=delivery)
    # An accepted table stays until the city returns it.
    with pytest.raises(ConflictError, match="已接收"):
        chain.deliver(actor=chain_users["county"], submission=tables["a"], collection=collection)


def test_a_returned_county_resubmits_and_the_city_accepts(
    chain_users, collection, tables, tree, rounds
):
    first = chain.deliver(
        actor=chain_users["county"], submission=tables["a"], collection=collection
    )
    chain.return_delivery(actor=chain_users["city"], delivery=first, reason="第6列有误")
    corrected = county_table(tree.county, rounds["a"], chain_users["county"], seed=2, version=2)
    second = chain.deliver(actor=chain_users["county"], submission=corrected, collection=collection)
    chain.accept_delivery(actor=chain_users["city"], delivery=second)
    statuses = list(
        Delivery.objects.filter(region=tree.county).order_by("pk").values_list("status", flat=True)
    )
    assert statuses == ["returned", "accepted"]


# The city's table ----------------------------------------------------------------------------


def test_the_city_table_waits_for_every_county(chain_users, collection, tables):
    chain.deliver(actor=chain_users["county"], submission=tables["a"], collection=collection)
    with pytest.raises(services.Refused) as refused:
        chain.submit_unit_table(actor=chain_users["city"], collection=collection, **filler())
    assert "钦北区（未上报）" in refused.value.details
    assert not Submission.objects.filter(kind="city").exists()


def test_the_city_table_is_the_sum_of_the_accepted_county_versions_and_revalidates(
    chain_users, collection, tables, tmp_path
):
    both_accepted(chain_users, collection, tables)
    city_table = chain.submit_unit_table(
        actor=chain_users["city"], collection=collection, **filler()
    )
    assert [row["name"] for row in city_table.rows] == ["钦南区", "钦北区"]
    for row, key in zip(city_table.rows, ("a", "b"), strict=True):
        assert row["values"] == tables[key].total
    for column in COLUMNS:
        want = int(tables["a"].total[str(column)]) + int(tables["b"].total[str(column)])
        assert city_table.total[str(column)] == want

    data = city_table.file.read()
    parsed = read_summary(data)
    assert parsed.errors == [] and parsed.violations == []
    assert [label for label, _ in parsed.rows] == ["钦南区", "钦北区"]
    path = tmp_path / "city.xlsx"
    path.write_bytes(data)
    out = io.StringIO()
    call_command("validate_summary", str(path), stdout=out)  # exits non-zero on a violation
    assert json.loads(out.getvalue())["ok"] is True
    # The public verify page knows the city table by its code and by its file.
    assert services.verify_code(city_table.code).ok
    assert services.verify_file(data).ok


def test_the_verify_page_shows_a_city_table(client, chain_users, collection, tables):
    both_accepted(chain_users, collection, tables)
    city_table = chain.submit_unit_table(
        actor=chain_users["city"], collection=collection, **filler()
    )
    page = client.post(reverse("reports:verify"), {"code": city_table.code})
    body = page.content.decode()
    assert page.status_code == 200 and "核验通过" in body
    assert "钦州市" in body and "2026年全市农村户厕问题摸排汇总" in body


def test_the_city_delivers_its_table_to_the_province_which_accepts_it(
    as_user, chain_users, collection, province_collection, tables
):
    both_accepted(chain_users, collection, tables)
    city_table = chain.submit_unit_table(
        actor=chain_users["city"], collection=collection, **filler()
    )
    delivery = chain.deliver(
        actor=chain_users["city"], submission=city_table, collection=province_collection
    )
    province = as_user(chain_users["province"])
    page = province.get(reverse("reports:collection", args=[province_collection.pk]))
    assert "钦州市" in page.content.decode() and "已上报" in page.content.decode()
    response = province.post(reverse("reports:delivery", args=[delivery.pk]), {"action": "accept"})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "accepted"
    download = province.get(reverse("reports:submission-download", args=[city_table.pk]))
    assert download.status_code == 200


# What each level sees ------------------------------------------------------------------------


def test_each_level_sees_its_own_and_below_only(as_user, chain_users, collection, tables):
    delivery_a = chain.deliver(
        actor=chain_users["county"], submission=tables["a"], collection=collection
    )
    delivery_b = chain.deliver(
        actor=chain_users["county_b"], submission=tables["b"], collection=collection
    )
    both = {delivery_a.pk, delivery_b.pk}
    assert (
        set(Delivery.objects.visible_to(chain_users["city"]).values_list("pk", flat=True)) == both
    )
    assert (
        set(Delivery.objects.visible_to(chain_users["province"]).values_list("pk", flat=True))
        == both
    )
    assert not Delivery.objects.visible_to(chain_users["city2"]).exists()

    url_b = reverse("reports:delivery", args=[delivery_b.pk])
    assert as_user(chain_users["county"]).get(url_b).status_code == 404
    assert as_user(chain_users["city2"]).get(url_b).status_code == 404
    assert as_user(chain_users["city"]).get(url_b).status_code == 200
    download_b = reverse("reports:submission-download", args=[tables["b"].pk])
    assert as_user(chain_users["county"]).get(download_b).status_code == 404
    assert as_user(chain_users["city"]).get(download_b).status_code == 200


def test_the_county_cannot_read_the_city_table(as_user, chain_users, collection, tables):
    both_accepted(chain_users, collection, tables)
    city_table = chain.submit_unit_table(
        actor=chain_users["city"], collection=collection, **filler()
    )
    for who in ("county", "city2"):
        client = as_user(chain_users[who])
        assert client.get(reverse("reports:submission", args=[city_table.pk])).status_code == 404
        assert (
            client.get(reverse("reports:submission-download", args=[city_table.pk])).status_code
            == 404
        )
    assert (
        as_user(chain_users["province"])
        .get(reverse("reports:submission", args=[city_table.pk]))
        .status_code
        == 200
    )


def test_the_collection_page_reads_a_bounded_number_of_queries(
    as_user, chain_users, collection, tables, django_assert_max_num_queries
):
    both_accepted(chain_users, collection, tables)
    client = as_user(chain_users["city"])
    with django_assert_max_num_queries(16):
        assert client.get(reverse("reports:collection", args=[collection.pk])).status_code == 200


def test_an_xlsx_of_the_city_table_names_its_counties(chain_users, collection, tables):
    both_accepted(chain_users, collection, tables)
    city_table = chain.submit_unit_table(
        actor=chain_users["city"], collection=collection, **filler()
    )
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(city_table.file.read())).active
    labels = [cell.value for cell in sheet["A"] if cell.value]
    assert "县区" in labels and "钦南区" in labels and "合计" in labels


def test_home_pages_say_where_each_level_stands(as_user, chain_users, collection, tables):
    chain.deliver(actor=chain_users["county"], submission=tables["a"], collection=collection)
    city_home = as_user(chain_users["city"]).get(reverse("home")).content.decode()
    assert "各单位已接收 0/2" in city_home and "待审核 1 个" in city_home
    county_b_home = as_user(chain_users["county_b"]).get(reverse("home")).content.decode()
    assert "钦州市要求 2026年5月10日 前报送" in county_b_home and "未上报" in county_b_home
    assert "上报</a>" in county_b_home  # the nav link to the collections


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite locks the whole database for a writer; CI runs this on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_first_deliveries_on_postgresql_exactly_one_lands(
    chain_users, collection, tables, tree
):
    colleague = UserFactory(username="county_a2", role=(Role.COUNTY, tree.county))
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(actor):
        try:
            barrier.wait(timeout=10)
            chain.deliver(actor=actor, submission=tables["a"], collection=collection)
            outcomes.append("delivered")
        except ConflictError:
            outcomes.append("conflict")
        except Exception as exc:  # surfaced by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(who,)) for who in (chain_users["county"], colleague)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "delivered"]
    assert Delivery.objects.filter(region=tree.county).count() == 1


def test_a_unit_that_only_reads_a_collection_is_told_who_sends_to_it(
    as_user, chain_users, collection, province_collection
):
    """A county reading the province's collection (its cities send to it) is told so, not
    that counties send to it; reading its city's collection it is a sender itself."""
    county = as_user(chain_users["county"])
    page = county.get(province_collection.get_absolute_url()).content.decode()
    assert "由各市报送，本单位无需操作" in page
    assert "县（区）报送" not in page
    own = county.get(collection.get_absolute_url()).content.decode()
    assert "本单位无需操作" not in own

"""一村一册: the village book a report job writes (reports/book.py) — one self-contained HTML
file with the cover, the village's row of the summary table, its problem toilets and one page
per household (一户一档) with its photos and close-out evidence; started from the village page
and the round pages, read through the starter's scoping, downloadable by the starter only."""

import base64
import re
import tempfile

import pytest
from django.urls import reverse
from django.utils import timezone

from reports import book
from reports.build import build_summary
from reports.models import JobStatus, ReportJob
from surveys.models import Inspection, ProblemCategory
from surveys.services import save_inspection
from tests.factories import HouseholdFactory, PublicToiletFactory, SurveyRoundFactory, ToiletFactory
from tests.images import jpeg
from tests.ledger import drive, open_entry
from toilets.identity import mask_id_number, mask_phone

pytestmark = pytest.mark.django_db

START = reverse("reports:job-start")


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2024年问题摸排")


def inspect_with_photos(surveyor, survey_round, toilet, *, photos=2, usability="unusable"):
    """A problem inspection of ``toilet`` with ``photos`` on-site photos; its ledger entry."""
    inspection = Inspection(
        round=survey_round,
        toilet=toilet,
        usability=usability,
        check_method="on_site",
        partner_name="李四",
        inspected_at=timezone.now(),
        signed=True,
    )
    save_inspection(
        actor=surveyor,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code__in=["tank"])),
        photos=[jpeg(f"p{i}.jpg", color=(30 * i, 120, 90)) for i in range(photos)],
    )
    return toilet.ledger_entries.get(opened_by_inspection=inspection)


@pytest.fixture
def village(users, register, survey, tree):
    """V1: 王建国 (h1) with an entry closed out with its evidence, a second household with an
    open entry, a third without a problem, and a public toilet with a problem."""
    closed = inspect_with_photos(users.surveyor, survey, register.t1)
    closed = drive(closed, township=users.township, surveyor=users.surveyor, to="closed")
    h2 = HouseholdFactory(village=tree.v1, head_name="陈桂兰", group_name="第二村民小组")
    open_one = open_entry(users.surveyor, survey, ToiletFactory(household=h2))
    h3 = HouseholdFactory(village=tree.v1, head_name="黄志明", group_name="第三村民小组")
    ToiletFactory(household=h3)
    open_entry(users.surveyor, survey, PublicToiletFactory(village=tree.v1))
    return {"closed": closed, "open": open_one, "h2": h2, "h3": h3}


def start(client, capture, **data):
    with capture(execute=True):
        return client.post(START, {"kind": book.VILLAGE_BOOK, **data})


def make_book(as_user, user, village_code, survey, capture) -> tuple[ReportJob, str]:
    """Start the book as ``user`` from the page's form, let it run, download it."""
    client = as_user(user)
    response = start(client, capture, region=village_code, round=survey.pk)
    job = ReportJob.objects.filter(created_by=user).latest("id")
    assert response.status_code == 302
    assert response.url == reverse("reports:job", args=[job.pk])
    download = client.get(reverse("reports:job-download", args=[job.pk]))
    assert download.status_code == 200
    return job, b"".join(download.streaming_content).decode()


def household_page(html: str, household) -> str:
    start_at = html.index(f'data-household="{household.pk}"')
    end_at = html.find("<section", start_at)
    return html[start_at : end_at if end_at != -1 else len(html)]


def entry_block(page: str, entry) -> str:
    start_at = page.index(f'data-entry="{entry.pk}"')
    end_at = page.find("data-entry=", start_at + 1)
    return page[start_at : end_at if end_at != -1 else len(page)]


def images_in(html: str) -> list[bytes]:
    return [
        base64.b64decode(data) for data in re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    ]


# The content --------------------------------------------------------------------------------


def test_it_prints_a_household_with_its_closed_out_entry_and_evidence(
    as_user, users, register, tree, survey, village, django_capture_on_commit_callbacks
):
    job, html = make_book(
        as_user, users.township, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    page = household_page(html, register.h1)
    assert "王建国" in page
    assert "沙埠镇 沙埠村" in page
    # The inspection with its two on-site photos, embedded (no link back to the server).
    inspection = village["closed"].opened_by_inspection
    inspection_part = page[page.index(f'data-inspection="{inspection.pk}"') :]
    inspection_part = inspection_part[: inspection_part.index("<h5>")]
    assert "不能使用" in inspection_part and "粪池" in inspection_part
    assert len(images_in(inspection_part)) == 2
    # The entry: closed out, its plan, its log, its after photo, checklist and signature.
    entry = entry_block(page, village["closed"])
    assert 'data-state="closed"' in entry
    assert "已销号" in entry and "销号</strong>" in entry
    assert "更换破损化粪池盖板" in entry and "陈志明" in entry
    for step in ("登记问题", "→ 已制定方案", "→ 整改中", "→ 已整改", "→ 已验收", "→ 已销号"):
        assert step in entry
    assert "验收清单：全部合格" in entry
    assert "户主签字：王建国" in entry
    after = entry[entry.index("data-after") :]
    assert len(images_in(after)) == 2  # the after photo, then the signature
    every_image = images_in(html)
    assert len(every_image) == 4
    assert all(image.startswith(b"\xff\xd8") for image in every_image)  # JPEGs
    # Self-contained: no URL of the site in the file.
    assert "/media/" not in html and "/photos/" not in html and "<script" not in html
    # Named by the local day (Asia/Shanghai), which is not UTC's from 16:00 UTC on.
    day = timezone.localtime(job.created_at)
    assert job.result_name == f"沙埠村-{survey.name}-一村一册-{day:%Y%m%d}.html"


def test_it_prints_every_household_of_the_village_in_order_and_no_other(
    as_user, users, register, tree, survey, village, django_capture_on_commit_callbacks
):
    _, html = make_book(
        as_user, users.surveyor, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    pages = re.findall(r'data-household="(\d+)"', html)
    # By 村民小组 (each where its first household was registered), then registration.
    assert pages == [str(h.pk) for h in (register.h1, village["h2"], village["h3"])]
    late = HouseholdFactory(village=tree.v1, head_name="刘一", group_name="第一村民小组")
    _, html = make_book(
        as_user, users.surveyor, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    pages = re.findall(r'data-household="(\d+)"', html)
    assert pages == [str(h.pk) for h in (register.h1, late, village["h2"], village["h3"])]
    assert "李秀英" not in html and "张志强" not in html  # other villages' households
    h2 = household_page(html, village["h2"])
    assert 'data-state="registered"' in h2
    assert "无问题台账" in household_page(html, village["h3"])


def test_it_shows_id_and_phone_numbers_as_the_household_page_does(
    as_user, users, register, tree, survey, village, django_capture_on_commit_callbacks
):
    h1 = register.h1
    _, full = make_book(
        as_user, users.township, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    assert h1.id_number in full and h1.phone in full
    _, masked = make_book(
        as_user, users.county, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    assert h1.id_number not in masked and h1.phone not in masked
    page = household_page(masked, h1)
    assert mask_id_number(h1.id_number) in page and mask_phone(h1.phone) in page


def cover_figure(html: str, name: str) -> int:
    return int(re.search(rf'data-figure="{name}">(\d+)<', html).group(1))


def test_its_cover_and_summary_equal_the_summary_table(
    as_user, users, register, tree, survey, village, django_capture_on_commit_callbacks
):
    _, html = make_book(
        as_user, users.county, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    table = build_summary(survey, tree.t1, user=users.county)
    row = next(r for r in table.rows if r.code == tree.v1.code).values
    assert row[6] + row[9] == 3 and row[29] == 1  # the fixture's problems, one closed out
    for column in range(1, 34):
        cell = re.search(rf'data-column="{column}">.*?<td class="num">(\d+)</td></tr>', html)
        assert int(cell.group(1)) == row[column], f"column {column}"
    assert cover_figure(html, "toilets") == row[1]
    assert cover_figure(html, "problems") == row[6] + row[9]
    assert cover_figure(html, "closed") == row[29] + row[32]
    assert cover_figure(html, "open") == row[33]
    assert cover_figure(html, "households") == 3
    # The cover names the village in full, the round and the date.
    assert "钦州市钦南区沙埠镇沙埠村" in html
    assert survey.name in html and "数据截止" in html
    # The problem toilets behind columns 6–33, with their states.
    assert len(re.findall(r"data-problem=", html)) == row[6] + row[9]
    assert re.findall(r'<td class="state state-\w+" data-state="(\w+)"', html).count("closed") == 1
    assert "已销号 <strong>1</strong>" in html and "登记 <strong>2</strong>" in html


def test_it_embeds_photos_within_its_budget_and_says_how_many_were_left_out(
    as_user, users, register, tree, survey, village, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(book, "IMAGE_BUDGET", 1)  # the first photo uses it up
    job, html = make_book(
        as_user, users.township, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    assert len(images_in(html)) == 1
    assert html.count("超出本册容量，未嵌入") == 3
    assert "另有 3 张照片超出本册容量未嵌入" in job.message


# The job ------------------------------------------------------------------------------------


def test_its_progress_reaches_100_percent_and_the_file_downloads(
    as_user, users, register, tree, survey, village, django_capture_on_commit_callbacks
):
    client = as_user(users.township)
    start(client, django_capture_on_commit_callbacks, region=tree.v1.code, round=survey.pk)
    job = ReportJob.objects.get()
    assert job.kind == "village_book" and job.region == tree.v1
    assert job.status == JobStatus.DONE
    assert job.total == 3 + 2  # the summary, the cover, then a step per household
    payload = client.get(reverse("reports:job-status", args=[job.pk])).json()
    assert payload["percent"] == 100 and payload["finished"]
    assert payload["message"] == "已完成，共 3 户，照片 4 张。"
    assert payload["download_url"] == reverse("reports:job-download", args=[job.pk])
    page = client.get(reverse("reports:job", args=[job.pk])).content.decode()
    assert "沙埠村 · 2024年问题摸排 · 一村一册（打印版）" in page
    assert "另存为 PDF" in page
    response = client.get(payload["download_url"])
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).decode().startswith("<!DOCTYPE html>")


def test_it_prints_on_a4_with_a_page_per_household(
    as_user, users, register, tree, survey, village, django_capture_on_commit_callbacks
):
    _, html = make_book(
        as_user, users.township, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    assert "@page { size: A4;" in html and 'font-family: "Noto Sans CJK SC"' in html
    assert ".page { break-after: page; }" in html
    assert html.count('<section class="page household"') == 3


def test_its_queries_do_not_grow_with_the_households(users, register, tree, survey, village):
    def queries_for_book(django_queries):
        with tempfile.TemporaryFile() as out, django_queries as context:
            book.build_book(users.township, tree.v1, survey, out)
        return len(context.captured_queries)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few = queries_for_book(CaptureQueriesContext(connection))
    for _ in range(10):
        inspect_with_photos(
            users.surveyor, survey, ToiletFactory(household=HouseholdFactory(village=tree.v1))
        )
    assert queries_for_book(CaptureQueriesContext(connection)) == few


# Scoping ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["surveyor_v2", "township_t2", "outsider"])
def test_another_villages_or_townships_user_gets_404_when_starting(
    as_user, users, register, tree, survey, village, who, django_capture_on_commit_callbacks
):
    response = start(
        as_user(getattr(users, who)),
        django_capture_on_commit_callbacks,
        region=tree.v1.code,
        round=survey.pk,
    )
    assert response.status_code == 404
    assert not ReportJob.objects.exists()


def test_it_refuses_another_countys_round_and_a_region_that_is_not_a_village(
    as_user, users, tree, survey, django_capture_on_commit_callbacks
):
    other = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    client = as_user(users.county)
    response = start(
        client, django_capture_on_commit_callbacks, region=tree.v1.code, round=other.pk
    )
    assert response.status_code == 302
    response = start(
        client, django_capture_on_commit_callbacks, region=tree.t1.code, round=survey.pk
    )
    assert not ReportJob.objects.exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "一村一册按行政村生成，请选择行政村。" in messages


@pytest.mark.parametrize("who", ["surveyor_v2", "township_t2", "outsider", "county", "surveyor"])
def test_only_its_starter_opens_or_downloads_the_book(
    as_user, users, register, tree, survey, village, who, django_capture_on_commit_callbacks
):
    """The file holds what its starter may see (full ID numbers for a township user): even the
    county above, or the village's own surveyor, gets a 404."""
    job, _ = make_book(
        as_user, users.township, tree.v1.code, survey, django_capture_on_commit_callbacks
    )
    client = as_user(getattr(users, who))
    for name in ("reports:job", "reports:job-status", "reports:job-download"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404


# The buttons ------------------------------------------------------------------------------


def test_the_village_page_offers_the_book_for_the_countys_rounds(
    as_user, users, register, tree, survey
):
    page = as_user(users.surveyor).get(reverse("regions:detail", args=[tree.v1.code]))
    html = page.content.decode()
    assert "生成一村一册" in html
    assert f'<option value="{survey.pk}">{survey.name}</option>' in html
    assert f'name="region" value="{tree.v1.code}"' in html
    township_page = as_user(users.township).get(reverse("regions:detail", args=[tree.t1.code]))
    assert "生成一村一册" not in township_page.content.decode()


def test_the_round_pages_offer_the_book_for_the_users_villages(
    as_user, users, register, tree, survey
):
    township = as_user(users.township).get(
        reverse("reports:township", args=[survey.pk, tree.t1.code])
    )
    html = township.content.decode()
    assert "生成一村一册" in html
    assert f'<option value="{tree.v1.code}">沙埠村</option>' in html
    assert tree.v3.code not in html.split('id="village-book"')[1]
    county = as_user(users.county).get(
        reverse("reports:county", args=[survey.pk, tree.county.code])
    )
    html = county.content.decode().split('id="village-book"')[1]
    assert '<optgroup label="沙埠镇">' in html and '<optgroup label="康熙岭镇">' in html
    assert tree.v3.code in html and tree.v4.code not in html

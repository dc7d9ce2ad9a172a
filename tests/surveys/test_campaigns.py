"""Spot-checks across counties (市级抽查、省级抽验): the reproducible draw of one sample per
county, checkers from other counties only, results hidden from the checked county (pages, API
and the briefing's figures) until the city publishes, then rates per county; the scoping of the
campaign pages."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from regions.choices import Role
from surveys import campaign_jobs, campaigns, spotchecks
from surveys.models import (
    CampaignDrawJob,
    Inspection,
    ProblemCategory,
    SpotCheckCampaign,
    SpotCheckItem,
    SpotCheckSample,
)
from surveys.tasks import draw_campaign_task, sweep_draws_task
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
    region,
)

pytestmark = pytest.mark.django_db


def inspect(survey, village, surveyor, n=1, usability="normal"):
    return [
        InspectionFactory(
            round=survey,
            toilet=ToiletFactory(household=HouseholdFactory(village=village)),
            surveyor=surveyor,
            usability=usability,
        )
        for _ in range(n)
    ]


class City:
    """钦州市 with county A (钦南区: V1, V2, V3) and county B (钦北区: V4) inspected, 灵山县
    without an opened round, and 贵港市 next door with its own county and round."""

    def __init__(self, tree, users):
        self.tree = tree
        self.round_a = SurveyRoundFactory(county=tree.county, name="钦南区2026年摸排")
        self.round_b = SurveyRoundFactory(county=tree.county_b, name="钦北区2026年摸排")
        self.lingshan = region("450721000000", "灵山县", tree.city)
        SurveyRoundFactory(county=self.lingshan, name="灵山县2026年摸排", status="draft")
        inspect(self.round_a, tree.v1, users.surveyor, 3)
        inspect(self.round_a, tree.v2, users.surveyor_v2, 2)
        inspect(self.round_a, tree.v3, UserFactory(role=(Role.SURVEYOR, tree.v3)), 2)
        inspect(self.round_b, tree.v4, UserFactory(role=(Role.SURVEYOR, tree.v4)), 4)
        self.city = UserFactory(username="city", role=(Role.CITY, tree.city))
        self.province = UserFactory(username="province", role=(Role.PROVINCE, tree.province))
        self.county_b_inspector = UserFactory(
            username="inspector_b", role=(Role.INSPECTOR, tree.county_b)
        )
        self.city_inspector = UserFactory(
            username="inspector_city", role=(Role.INSPECTOR, tree.city)
        )
        guigang = region("450800000000", "贵港市", tree.province)
        gangbei = region("450802000000", "港北区", guigang)
        self.other_city = UserFactory(username="guigang", role=(Role.CITY, guigang))
        self.other_county = UserFactory(username="gangbei", role=(Role.COUNTY, gangbei))
        self.other_city_round = SurveyRoundFactory(county=gangbei, name="港北区2026年摸排")


@pytest.fixture
def city(tree, users):
    return City(tree, users)


def draw(city, **kwargs):
    kwargs.setdefault("per_village", 1000)  # every inspection of each county
    return campaigns.draw_campaign(
        actor=city.city, name=kwargs.pop("name", "2026年市级抽查"), **kwargs
    )


def job_page(job):
    return reverse("surveys:campaign-job", args=[job.pk])


def job_status(job):
    return reverse("surveys:campaign-job-status", args=[job.pk])


def sample_of(campaign, county):
    return campaign.samples.get(round__county=county)


def record(item, checker, usability="normal", categories=()):
    found = [ProblemCategory.objects.get(code=code) for code in categories]
    return spotchecks.record_result(actor=checker, item=item, usability=usability, categories=found)


@pytest.fixture
def checked(city, users):
    """A campaign with every item checked: county A by county B's county staff, one item
    found differing; county B by county A's inspector, all the same."""
    campaign = draw(city)
    a = sample_of(campaign, city.tree.county)
    b = sample_of(campaign, city.tree.county_b)
    spotchecks.assign_items(actor=city.city, items=a.items.all(), checker=users.outsider)
    spotchecks.assign_items(actor=city.city, items=b.items.all(), checker=users.inspector)
    for n, item in enumerate(a.items.order_by("id")):
        record(item, users.outsider, *(("unusable", ["room"]) if n == 0 else ()))
    for item in b.items.all():
        record(item, users.inspector)
    return campaign


def publish(campaign, city):
    return campaigns.publish_campaign(actor=city.city, campaign=campaign)


# Drawing ----------------------------------------------------------------------------------


def test_it_draws_one_sample_per_county_from_its_current_round(city):
    campaign = draw(city, per_village=1)
    samples = {s.round.county.name: s for s in campaign.samples.select_related("round__county")}
    assert set(samples) == {"钦南区", "钦北区"}
    assert samples["钦南区"].round == city.round_a
    assert samples["钦南区"].items.count() == 3  # one per village: V1, V2, V3
    assert samples["钦北区"].items.count() == 1
    assert all(s.created_by == city.city and not s.is_published for s in samples.values())


def test_it_skips_a_county_without_an_opened_round_with_a_note(city, as_user):
    campaign = draw(city)
    assert campaign.skipped == [
        {"code": "450721000000", "name": "灵山县", "reason": "没有已开始的摸排轮次"}
    ]
    page = as_user(city.city).get(campaign.get_absolute_url()).content.decode()
    assert "灵山县：没有已开始的摸排轮次" in page


def test_it_takes_the_latest_opened_round_when_none_is_open(city, tree):
    SurveyRoundFactory(county=tree.county_b, name="钦北区上一轮摸排", status="closed")
    city.round_b.status = "closed"
    city.round_b.start_date = datetime.date(2022, 6, 1)  # later than the earlier round
    city.round_b.save()
    assert sample_of(draw(city), tree.county_b).round == city.round_b


def test_it_skips_a_round_without_inspections(city, tree):
    city.round_b.inspections.all().delete()
    campaign = draw(city)
    assert [s["name"] for s in campaign.skipped] == ["钦北区", "灵山县"]
    assert "还没有摸排记录" in campaign.skipped[0]["reason"]


def test_it_is_reproducible_from_the_seed(city, users, tree):
    first = draw(city, per_village=1, seed=424242, name="第一次")
    again = draw(city, per_village=1, seed=424242, name="第二次")

    def picked(campaign):
        return {
            s.round.county_id: sorted(s.items.values_list("original_id", flat=True))
            for s in campaign.samples.all()
        }

    assert picked(first) == picked(again)
    # Each county's seed is recorded on its sample and redraws that county alone.
    a, b = sample_of(first, tree.county), sample_of(first, tree.county_b)
    assert a.seed == campaigns.county_seed(424242, tree.county.code) != b.seed
    redraw = spotchecks.draw_sample(
        actor=users.county, round=city.round_a, per_village=1, seed=a.seed
    )
    assert (
        sorted(redraw.items.values_list("original_id", flat=True)) == picked(first)[tree.county.pk]
    )


def test_it_refuses_drawing_to_others_than_the_city_or_province(city, users):
    for who in (users.county, users.inspector, users.township):
        with pytest.raises(PermissionDenied):
            campaigns.draw_campaign(actor=who, name="抽查", per_village=1)
    assert not SpotCheckCampaign.objects.exists()


def test_it_refuses_a_duplicate_name_and_a_missing_method(city):
    draw(city)
    with pytest.raises(ValidationError) as duplicate:
        draw(city)
    assert "同名" in str(duplicate.value)
    with pytest.raises(ValidationError):
        campaigns.draw_campaign(actor=city.city, name="另一次", per_village=None)


def test_a_draw_that_fails_midway_stores_nothing(city, monkeypatch):
    """The second county's items cannot be stored (the database gave out): no campaign is
    left with one county drawn and the other missing, and the name is free again."""
    real = SpotCheckItem.objects.bulk_create
    calls = []

    def failing(objs, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database gave out")
        return real(objs, *args, **kwargs)

    monkeypatch.setattr(SpotCheckItem.objects, "bulk_create", failing)
    with pytest.raises(RuntimeError):
        draw(city)
    assert len(calls) == 2
    assert not SpotCheckCampaign.objects.exists()
    assert not SpotCheckSample.objects.exists() and not SpotCheckItem.objects.exists()
    monkeypatch.setattr(SpotCheckItem.objects, "bulk_create", real)
    assert draw(city).samples.count() == 2


def test_the_province_draws_across_its_cities(city, tree):
    campaign = campaigns.draw_campaign(actor=city.province, name="2026年省级抽验", percent=50)
    assert campaign.kind_label == "省级抽验"
    counties = set(campaign.samples.values_list("round__county__name", flat=True))
    assert counties == {"钦南区", "钦北区"}  # 港北区's round has no inspections
    assert {s["name"] for s in campaign.skipped} == {"灵山县", "港北区"}


def test_the_draw_form_draws_in_the_background_and_opens_the_campaign(
    city, as_user, django_capture_on_commit_callbacks
):
    url = reverse("surveys:campaign-list")
    client = as_user(city.city)
    form = {"name": "上半年市级抽查", "method": "percent", "amount": "50", "seed": "99"}
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(url, form)
    job = CampaignDrawJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job_page(job)
    assert len(queued) == 1  # queued once the job row was committed
    campaign = SpotCheckCampaign.objects.get()
    assert (campaign.percent, campaign.seed, campaign.region.name) == (50, 99, "钦州市")
    status = client.get(job_status(job)).json()
    assert status["status"] == "done" and status["finished"] and status["percent"] == 100
    assert status["message"].startswith("已在 2 个县（区）抽取样本，随机种子 99")
    opened = client.get(job_page(job))
    assert opened.status_code == 302 and opened["Location"] == campaign.get_absolute_url()
    assert "随机种子 99（请记录在案）" in client.get(opened["Location"]).content.decode()
    assert "上半年市级抽查" in client.get(url).content.decode()


def test_the_draw_form_shows_what_it_refuses_at_once(city, as_user):
    draw(city, name="上半年市级抽查")
    page = as_user(city.city).post(
        reverse("surveys:campaign-list"),
        {"name": "上半年市级抽查", "method": "percent", "amount": "50", "seed": ""},
    )
    assert page.status_code == 200
    assert "本单位已有同名的抽查，请换一个名称。" in page.content.decode()
    assert not CampaignDrawJob.objects.exists()


def test_a_draw_nothing_can_be_drawn_for_ends_with_the_reason(
    city, users, tree, as_user, django_capture_on_commit_callbacks
):
    """Every county's round without inspections: the job fails, saying so; nothing drawn."""
    Inspection.objects.all().delete()
    client = as_user(city.city)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("surveys:campaign-list"),
            {"name": "抽查", "method": "per_village", "amount": "1", "seed": ""},
        )
    job = CampaignDrawJob.objects.get()
    assert job.status == "failed" and job.campaign is None
    page = client.get(response["Location"]).content.decode()
    assert "下辖各县（区）都没有可抽查的摸排记录" in page and "返回抽查列表" in page
    assert not SpotCheckCampaign.objects.exists()


def test_a_draw_is_its_creators_and_a_redelivered_task_does_nothing(city, users, tree, as_user):
    job = campaign_jobs.start_draw(actor=city.city, name="抽查", per_village=1)
    # Another person, even of the same city or above it, does not see the draw.
    other = UserFactory(username="city_two", role=(Role.CITY, tree.city))
    for user in (other, city.province, city.other_city, users.county):
        client = as_user(user)
        assert client.get(job_page(job)).status_code in (403, 404)
        assert client.get(job_status(job)).status_code in (403, 404)
    assert draw_campaign_task(job.pk) == "done"
    assert draw_campaign_task(job.pk) == "skipped"
    assert SpotCheckCampaign.objects.count() == 1
    # A double click while it waits is the same draw; another draw must wait for it.
    again = campaign_jobs.start_draw(actor=city.city, name="抽查二", per_village=1)
    assert campaign_jobs.start_draw(actor=city.city, name="抽查二", per_village=1) == again
    with pytest.raises(ValidationError, match="您的上一次抽取（“抽查二”）还在进行中"):
        campaign_jobs.start_draw(actor=city.city, name="抽查三", percent=30, seed=7)
    assert CampaignDrawJob.objects.filter(name="抽查三").count() == 0


def test_a_draw_that_failed_after_the_user_left_is_listed_with_its_reason(city, as_user):
    """Found on the campaigns page (the job's own page may be long closed)."""
    job = campaign_jobs.start_draw(actor=city.city, name="抽查", per_village=1)
    Inspection.objects.all().delete()
    assert draw_campaign_task(job.pk) == "failed"
    page = as_user(city.city).get(reverse("surveys:campaign-list")).content.decode()
    assert "我的抽取任务（未完成或失败）" in page and job_page(job) in page
    assert "下辖各县（区）都没有可抽查的摸排记录" in page
    # Only the person's own: the province's page does not list the city's draw.
    other = as_user(city.province).get(reverse("surveys:campaign-list")).content.decode()
    assert job_page(job) not in other


def test_a_draw_whose_worker_died_is_swept_and_a_lost_one_queued_again(city):
    stuck = campaign_jobs.start_draw(actor=city.city, name="抽查", per_village=1)
    CampaignDrawJob.objects.filter(pk=stuck.pk).update(
        status="running",
        claimed_at=timezone.now() - campaign_jobs.STALE_AFTER - datetime.timedelta(seconds=1),
    )
    lost = campaign_jobs.start_draw(actor=city.province, name="省级抽验", percent=50)
    CampaignDrawJob.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - campaign_jobs.REQUEUE_AFTER - datetime.timedelta(seconds=1)
    )
    assert sweep_draws_task() == {"failed": [stuck.pk], "queued": [lost.pk]}
    stuck.refresh_from_db()
    lost.refresh_from_db()
    assert stuck.status == "failed" and stuck.message == campaign_jobs.INTERRUPTED
    assert lost.status == "done" and lost.campaign.name == "省级抽验"


# Assigning --------------------------------------------------------------------------------


def test_it_refuses_a_checker_from_the_checked_county(city, users, tree):
    a = sample_of(draw(city), tree.county)
    with pytest.raises(ValidationError) as refused:
        spotchecks.assign_items(actor=city.city, items=a.items.all(), checker=users.inspector)
    assert "来自被抽查的县（区），市级抽查须由其他县（区）的人员承担" in str(refused.value)
    with pytest.raises(ValidationError):
        spotchecks.assign_items(actor=city.city, items=a.items.all(), checker=users.county)
    assert not a.items.filter(inspector__isnull=False).exists()


def test_it_refuses_the_wrong_roles(city, users, tree):
    b = sample_of(draw(city), tree.county_b)
    for who in (users.township, users.surveyor):
        with pytest.raises(ValidationError) as refused:
            spotchecks.assign_items(actor=city.city, items=b.items.all(), checker=who)
        assert "不是督导或县级管理员，不能承担市级抽查" in str(refused.value)


def test_it_refuses_a_checker_outside_the_city(city, tree):
    b = sample_of(draw(city), tree.county_b)
    with pytest.raises(ValidationError) as refused:
        spotchecks.assign_items(actor=city.city, items=b.items.all(), checker=city.other_county)
    assert "不在钦州市" in str(refused.value)


def test_it_accepts_other_counties_staff_and_the_citys_inspectors(city, users, tree):
    campaign = draw(city)
    a, b = sample_of(campaign, tree.county), sample_of(campaign, tree.county_b)
    assert spotchecks.assign_items(actor=city.city, items=a.items.all(), checker=users.outsider)
    assert spotchecks.assign_items(
        actor=city.city, items=b.items.all()[:2], checker=city.city_inspector
    )
    assert spotchecks.assign_items(
        actor=city.city, items=b.items.all()[2:], checker=users.inspector
    )


def test_the_checked_county_may_not_assign_or_publish_its_sample(city, users, tree):
    campaign = draw(city)
    a = sample_of(campaign, tree.county)
    with pytest.raises(PermissionDenied) as refused:
        spotchecks.assign_items(actor=users.county, items=a.items.all(), checker=users.inspector)
    assert "钦州市组织的市级抽查" in str(refused.value)
    with pytest.raises(PermissionDenied):
        spotchecks.publish_sample(actor=users.county, sample=a)
    with pytest.raises(PermissionDenied):
        campaigns.publish_campaign(actor=users.county, campaign=campaign)
    with pytest.raises(PermissionDenied):  # the province reads the city's campaign, no more
        campaigns.publish_campaign(actor=city.province, campaign=campaign)


def test_the_campaign_page_offers_only_other_counties_staff(city, users, tree, as_user):
    campaign = draw(city)
    a = sample_of(campaign, tree.county)
    page = as_user(city.city).get(campaign.get_absolute_url()).content.decode()
    row = page.split(f'data-sample="{a.pk}"')[1].split("</tr>")[0]
    assert f'value="{users.outsider.pk}"' in row  # 钦北区's county staff
    assert f'value="{city.city_inspector.pk}"' in row
    assert f'value="{users.inspector.pk}"' not in row  # 钦南区's own inspector
    assert f'value="{users.county.pk}"' not in row
    assert f'value="{city.other_county.pk}"' not in page


def test_the_city_assigns_a_county_from_the_page(city, users, tree, as_user):
    campaign = draw(city)
    a = sample_of(campaign, tree.county)
    client = as_user(city.city)
    url = campaign.get_absolute_url()
    data = {"action": "assign_county", "sample": a.pk, "checker": users.inspector.pk}
    client.post(url, data)  # 钦南区's own inspector: not a candidate
    assert not a.items.filter(inspector__isnull=False).exists()
    client.post(url, {**data, "checker": users.outsider.pk})
    assert a.items.filter(inspector=users.outsider).count() == 7


def test_a_county_checker_records_through_its_worklist(city, users, tree, as_user):
    campaign = draw(city)
    b = sample_of(campaign, tree.county_b)
    spotchecks.assign_items(actor=city.city, items=b.items.all(), checker=users.county)
    client = as_user(users.county)
    home = client.get(reverse("home")).content.decode()
    assert 'id="campaign-checks"' in home and "复核 4 户" in home
    mine = client.get(reverse("surveys:spotcheck-mine")).content.decode()
    item = b.items.first()
    assert reverse("surveys:spotcheck-item", args=[item.pk]) in mine
    response = client.post(
        reverse("surveys:spotcheck-item", args=[item.pk]), {"usability": "normal", "notes": ""}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.checked_at is not None and item.differs is False


# Hidden until published -------------------------------------------------------------------


def test_the_checked_county_sees_no_items_or_rates_before_publication(
    checked, city, users, tree, as_user
):
    a = sample_of(checked, tree.county)
    for who in (users.county, users.township):
        client = as_user(who)
        detail = client.get(reverse("surveys:spotcheck-detail", args=[a.pk]))
        assert detail.status_code == 200
        html = detail.content.decode()
        assert "不一致率" not in html
        assert "待钦州市公布" in html
        assert not list(detail.context["items"])
        assert str(a.seed) not in html
        listing = client.get(reverse("surveys:spotcheck-list", args=[city.round_a.pk]))
        assert str(a.seed) not in listing.content.decode()
        assert "结果待钦州市公布后可见" in listing.content.decode()
        # No way to assign or publish it either.
        response = client.post(
            reverse("surveys:spotcheck-detail", args=[a.pk]), {"action": "publish"}
        )
        assert response.status_code == 403


def test_the_checked_county_sees_nothing_in_the_api_before_publication(
    checked, city, users, tree, api
):
    a = sample_of(checked, tree.county)
    for who in (users.county, users.township):
        api.force_authenticate(who)
        assert api.get("/api/spot-check-items/").json()["results"] == []
        assert api.get("/api/spot-check-items/", {"sample": a.pk}).json()["results"] == []
        row = api.get(f"/api/spot-check-samples/{a.pk}/").json()
        assert row["campaign"] == checked.pk and row["seed"] is None
    api.force_authenticate(city.city)
    items = api.get("/api/spot-check-items/", {"sample": a.pk}).json()
    assert items["count"] == 7
    assert api.get(f"/api/spot-check-samples/{a.pk}/").json()["seed"] == a.seed


def test_the_briefing_figures_leave_out_an_unpublished_campaign(checked, city, tree):
    from dispatch.figures import compute

    def spot_checked():
        _rows, total = compute(
            city.round_a, tree.county, timezone.now() - datetime.timedelta(7), timezone.now()
        )
        return total["spot_checked"], total["spot_differing"]

    assert spot_checked() == (0, 0)
    publish(checked, city)
    assert spot_checked() == (7, 1)


def test_publication_waits_for_every_result(city, users, tree):
    campaign = draw(city)
    with pytest.raises(ValidationError) as refused:
        publish(campaign, city)
    assert "还有 11 户未录入抽查结果" in str(refused.value)


def test_a_campaign_sample_is_published_with_its_campaign_only(checked, city, users, tree):
    a = sample_of(checked, tree.county)
    with pytest.raises(ValidationError) as refused:
        spotchecks.publish_sample(actor=city.city, sample=a)
    assert "统一公布" in str(refused.value)
    publish(checked, city)
    assert all(s.is_published for s in checked.samples.all())
    with pytest.raises(ValidationError):
        publish(checked, city)
    with pytest.raises(ValidationError):  # results are final
        record(a.items.first(), users.outsider)


# After publication ------------------------------------------------------------------------


def test_after_publication_the_county_sees_its_items_and_rates(
    checked, city, users, tree, as_user, api
):
    publish(checked, city)
    a = sample_of(checked, tree.county)
    detail = as_user(users.county).get(reverse("surveys:spotcheck-detail", args=[a.pk]))
    assert len(detail.context["items"]) == 7
    assert detail.context["by_village"].total.rate == round(100 / 7, 1)
    township = as_user(users.township).get(reverse("surveys:spotcheck-detail", args=[a.pk]))
    assert township.context["by_village"].total.sampled == 5  # T1: V1 and V2 only
    api.force_authenticate(users.county)
    assert api.get("/api/spot-check-items/").json()["count"] == 7
    assert api.get(f"/api/spot-check-samples/{a.pk}/").json()["seed"] == a.seed


def test_the_city_sees_rates_per_county(checked, city, tree, as_user):
    table = campaigns.rates_by_county(checked, city.city)
    rows = {row.name: (row.sampled, row.checked, row.differing, row.rate) for row in table.rows}
    assert rows == {"钦南区": (7, 7, 1, 14.3), "钦北区": (4, 4, 0, 0.0)}
    assert (table.total.sampled, table.total.rate) == (11, 9.1)
    page = as_user(city.city).get(checked.get_absolute_url()).content.decode()
    assert "各县（区）不一致率" in page and "14.3%" in page
    # The province reads it only once published.
    assert campaigns.rates_by_county(checked, city.province).rows == []
    publish(checked, city)
    assert len(campaigns.rates_by_county(checked, city.province).rows) == 2


# Scoping ----------------------------------------------------------------------------------


def test_another_citys_user_gets_404(checked, city, tree, as_user, api):
    a = sample_of(checked, tree.county)
    for who in (city.other_city, city.other_county):
        client = as_user(who)
        assert client.get(checked.get_absolute_url()).status_code == 404
        assert client.post(checked.get_absolute_url(), {"action": "publish"}).status_code == 404
        assert client.get(reverse("surveys:spotcheck-detail", args=[a.pk])).status_code == 404
        api.force_authenticate(who)
        assert api.get(f"/api/spot-check-samples/{a.pk}/").status_code == 404
    assert campaigns.rates_by_county(checked, city.other_city).total.sampled == 0


def test_a_county_gets_404_for_the_campaign_page_and_403_for_the_list(checked, users, as_user):
    client = as_user(users.county)
    assert client.get(checked.get_absolute_url()).status_code == 404
    assert client.get(reverse("surveys:campaign-list")).status_code == 403


def test_the_pages_send_anonymous_users_to_login(checked, client):
    for url in (reverse("surveys:campaign-list"), checked.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_province_reads_the_citys_campaign_without_running_it(checked, city, as_user):
    client = as_user(city.province)
    page = client.get(checked.get_absolute_url())
    assert page.status_code == 200
    assert not page.context["can_assign"] and page.context["by_county"] is None
    assert client.post(checked.get_absolute_url(), {"action": "publish"}).status_code == 403


def test_the_list_pages_queries_are_bounded(city, as_user, django_assert_max_num_queries):
    for n in range(5):
        draw(city, name=f"第{n}次", per_village=1)
    client = as_user(city.city)
    with django_assert_max_num_queries(6):  # with the user's unfinished draws (one query)
        assert client.get(reverse("surveys:campaign-list")).status_code == 200
    campaign = SpotCheckCampaign.objects.first()
    with django_assert_max_num_queries(8):
        assert client.get(campaign.get_absolute_url()).status_code == 200


def test_the_nav_and_home_link_the_campaigns_for_the_city(city, users, as_user):
    home = as_user(city.city).get(reverse("home")).content.decode()
    assert reverse("surveys:campaign-list") in home
    county_home = as_user(users.county).get(reverse("home")).content.decode()
    assert reverse("surveys:campaign-list") not in county_home


def test_it_leaves_county_samples_as_they_were(city, users, tree):
    """The county still runs its own samples on the same round, with its own checkers."""
    own = spotchecks.draw_sample(actor=users.county, round=city.round_a, per_village=1, seed=1)
    draw(city)
    assert spotchecks.manages_sample(users.county, own)
    assert not spotchecks.manages_sample(city.city, own)
    assert SpotCheckSample.objects.filter(round=city.round_a).count() == 2
    assert SpotCheckItem.objects.filter(sample=own).count() == 3


def test_the_city_assigns_items_on_the_sample_page(city, users, tree, as_user):
    campaign = draw(city)
    a = sample_of(campaign, tree.county)
    client = as_user(city.city)
    url = reverse("surveys:spotcheck-detail", args=[a.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["manages"] and page.context["can_assign"]
    assert not page.context["can_publish"]  # published with the campaign
    item = page.context["items"][0]
    offered = {choice.user_id for choice in item.checker_choices}
    assert users.outsider.pk in offered and users.inspector.pk not in offered
    client.post(url, {"action": "assign_item", "item": item.pk, "checker": users.outsider.pk})
    item.refresh_from_db()
    assert item.inspector == users.outsider
    village = tree.v3.code
    client.post(
        url, {"action": "assign_village", "village": village, "checker": city.city_inspector.pk}
    )
    assert (
        a.items.filter(
            original__toilet__village__code=village, inspector=city.city_inspector
        ).count()
        == 2
    )

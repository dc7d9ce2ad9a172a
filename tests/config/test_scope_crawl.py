"""The region boundary, crawled: every URL of the site that names an object, tried with every
object of another county, by every role of this county, by GET and by POST.

The demo county (``seed_demo``: register, open round, inspections, ledger entries at every
close-out step with their evidence and consents) plus one object of each remaining kind is
the other county; the crawlers are the users of a second county (钦北区). Each answer must be
a refusal (403, 404, 405, or the login page for a page the role has no use of), never a 500,
never a success; every page a crawler may open (its lists, its home, its dashboards) must not
name any village, household, ID number or phone of the other county; and nothing of the other
county may change. ``docs/security.md`` quotes the figures this test prints.

A new URL that names an object fails ``test_every_object_url_is_crawled`` until it is added to
``SAMPLES`` below, so the crawl keeps covering the whole site.
"""

import re
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from apitokens.models import ApiToken
from dispatch.models import Briefing
from imports.models import ImportJob, ValueAlias
from portal.demo import seed_demo
from public.models import Lead, LeadLog, Plate, Posting
from rectification.models import Consent, EvidencePhoto, LedgerEntry, LedgerLog, OverdueSnapshot
from regions.choices import Level, Role
from regions.models import Region
from reports.models import ProgressTarget, ReportJob, Submission
from surveys.models import (
    CorrectionRequest,
    Inspection,
    InspectionFlag,
    InspectionPhoto,
    ReconciliationNote,
    SpotCheckItem,
    SpotCheckSample,
    SurveyRound,
)
from tests.factories import UserFactory, region
from toilets.demo import COUNTY_CODE
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db

DEMO = COUNTY_CODE[:6]
# Answers that refuse: not found, forbidden, method not allowed, and (for pages that need a
# capability the role lacks and answer with the login page) a redirect to the login.
REFUSED = {403, 404, 405}
# Reference data every user reads alike (not a region's): the national problem categories and
# the report templates.
SHARED = (":problem-category-", ":report-template-")
# Public by design: anyone holding a printed plate's or 公示's token opens these (no login);
# tests/public checks that they show the listed public facts only.
PUBLIC_PAGES = {"public:plate", "public:objection"}
SKIP_NAMESPACES = {"admin"}  # staff only; the admin's scoping has tests/regions/test_admin_scope.py


def _patterns(patterns=None, prefix="", namespace=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            yield from _patterns(
                pattern.url_patterns,
                prefix + str(pattern.pattern),
                f"{namespace}:{ns}".strip(":") if ns else namespace,
            )
        elif isinstance(pattern, URLPattern):
            yield namespace, prefix + str(pattern.pattern), pattern


def _object_urls():
    """(name, route) of every route with a parameter other than a format suffix."""
    found = set()
    for namespace, route, pattern in _patterns():
        if namespace.split(":")[0] in SKIP_NAMESPACES or route.startswith("admin/"):
            continue
        if "<" not in route and "(?P<" not in route:
            continue
        if "(?P<format>" in route and route.count("(?P<") == 1:
            continue  # a list with a format suffix
        if "(?P<rest>" in route or route.endswith("<drf_format_suffix:format>"):
            continue  # the API's catch-all 404, the API root
        name = f"{namespace}:{pattern.name or ''}"
        if any(name.startswith(shared) for shared in SHARED) or name in PUBLIC_PAGES:
            continue
        found.add((name, route))
    return found


class World:
    """The other county's objects, one of each kind (ids and codes)."""

    def __init__(self):
        county = Region.objects.get(code=COUNTY_CODE)
        township = Region.objects.filter(code__startswith=DEMO, level=Level.TOWNSHIP).first()
        village = Region.objects.filter(code__startswith=DEMO, level=Level.VILLAGE).first()
        officer = get_user_model().objects.get(username="county")
        survey_round = SurveyRound.objects.get(county=county)
        inspection = Inspection.objects.filter(round=survey_round).first()
        entry = (
            LedgerEntry.objects.filter(photos__isnull=False).first() or LedgerEntry.objects.first()
        )
        now = timezone.now()
        self.county, self.township, self.village = county, township, village
        self.round, self.inspection, self.entry = survey_round, inspection, entry
        self.household = Household.objects.filter(village__code__startswith=DEMO).first()
        self.toilet = Toilet.objects.filter(village__code__startswith=DEMO).first()
        self.photo = InspectionPhoto.objects.create(
            inspection=inspection, image="x.jpg", thumbnail="x_t.jpg", uploaded_by=officer
        )
        self.flag = InspectionFlag.objects.create(
            inspection=inspection, kind="no_photo", detail="问题厕所没有照片"
        )
        self.correction = CorrectionRequest.objects.create(
            inspection=inspection, surveyor=officer, payload={}
        )
        self.sample = SpotCheckSample.objects.create(
            round=survey_round, seed=1, per_village=2, created_by=officer
        )
        self.item = SpotCheckItem.objects.create(sample=self.sample, original=inspection)
        self.note = ReconciliationNote.objects.create(
            round=survey_round, village=village, change_key="k", reason="r", author=officer
        )
        self.evidence = EvidencePhoto.objects.first()
        self.consent = Consent.objects.first()
        self.overdue = OverdueSnapshot.objects.create(day=now.date(), township=township, count=1)
        self.submission = Submission.objects.create(
            survey_round=survey_round, region=township, kind="township", version=1,
            status="submitted", cutoff=now, rows=[], total={}, submitted_by=officer,
            filler_name="填报人", filler_phone="13800000000", filled_on=now.date(),
        )  # fmt: skip
        self.target = ProgressTarget.objects.create(
            year=now.year, village=village, updated_by=officer
        )
        self.report_job = ReportJob.objects.create(
            kind="summary", region=county, created_by=officer
        )
        self.import_job = ImportJob.objects.create(
            file="imports/x.xlsx", original_name="x.xlsx", round_name="r", region=county,
            created_by=officer,
        )  # fmt: skip
        self.alias = ValueAlias.objects.create(
            county=county, column="tech_type", alias="三格式X", value="三格化粪池式",
            created_by=officer,
        )  # fmt: skip
        self.token = ApiToken.objects.create(
            user=officer, name="t", prefix="abcd1234", key_hash="0" * 64
        )
        # seed_demo plates the first village's toilets; another village's toilet gets one here.
        self.plate = Plate.objects.filter(toilet=self.toilet).first() or Plate.objects.create(
            toilet=self.toilet, number="ACDEFGHJ", token="w" * 24, issued_by=officer
        )
        self.lead = Lead.objects.create(
            kind="report", category="tank", code="ACDEFGHK", village=self.toilet.village,
            toilet=self.toilet, plate=self.plate, description="x", photo="x.jpg",
        )  # fmt: skip
        self.lead_log = LeadLog.objects.create(lead=self.lead, action="file", to_state="new")
        self.posting = Posting.objects.create(
            village=village, year=now.year, complaint_phone="12345678", starts_on=now.date(),
            ends_on=now.date(), created_by=officer, posted_photo="x.jpg",
        )  # fmt: skip
        self.briefing = Briefing.objects.create(
            county=county, round=survey_round, kind="week", period_start=now.date(),
            period_end=now.date(), cutoff=now, generated_at=now, data={}, formula={},
        )  # fmt: skip
        # Made before the crawl's "before" state is taken (a stamped submission counts in it).
        self.collection, self.delivery = crawl_collection(self), crawl_delivery(self)
        self.campaign = crawl_campaign(self)


# Each object route's parameters, from the other county's world.
SAMPLES = {
    "reports:collection": lambda w: [{"pk": crawl_collection(w).pk}],
    "reports:delivery": lambda w: [{"pk": crawl_delivery(w).pk}],
    "regions:detail": lambda w: [
        {"code": c} for c in (w.county.code, w.township.code, w.village.code)
    ],
    "surveys:inspect": lambda w: [{"round_pk": w.round.pk, "toilet_pk": w.toilet.pk}],
    "surveys:inspect-next": lambda w: [{"round_pk": w.round.pk, "toilet_pk": w.toilet.pk}],
    "surveys:photo": lambda w: [
        {"pk": w.photo.pk, "size": "full"},
        {"pk": w.photo.pk, "size": "thumb"},
    ],
    "surveys:correction-handle": lambda w: [{"pk": w.correction.pk}],
    "surveys:correction-photo": lambda w: [{"pk": w.correction.pk, "size": "full"}],
    "surveys:spotcheck-detail": lambda w: [{"pk": w.sample.pk}],
    "surveys:spotcheck-item": lambda w: [{"pk": w.item.pk}],
    "surveys:flag-clear": lambda w: [{"pk": w.flag.pk}],
    "surveys:reconcile-village": lambda w: [{"pk": w.round.pk, "code": w.village.code}],
    "rectification:transition": lambda w: [
        {"pk": w.entry.pk, "action": a}
        for a in ("plan", "start", "rectify", "accept", "close", "reopen")
    ],
    "rectification:evidence-photo": lambda w: [{"pk": w.evidence.pk, "size": "full"}],
    "rectification:consent-image": lambda w: [{"pk": w.consent.pk}],
    "reports:summary-region": lambda w: [{"pk": w.round.pk, "code": w.township.code}],
    "reports:township": lambda w: [{"pk": w.round.pk, "code": w.township.code}],
    "reports:county": lambda w: [{"pk": w.round.pk, "code": w.county.code}],
    "reports:seal-image": lambda w: [{"code": w.county.code}],
    "imports:aliases": lambda w: [{"code": w.county.code}],
    "imports:alias-delete": lambda w: [{"code": w.county.code, "pk": w.alias.pk}],
    "toilets:household-toilet-create": lambda w: [{"household_pk": w.household.pk}],
    "dashboards:data": lambda w: [{"key": "coverage"}],  # the region comes as a parameter
    "dashboards:export": lambda w: [{"key": "coverage"}],
    "public:village-plates": lambda w: [{"code": w.village.code}],
    "public:village-plates-print": lambda w: [{"code": w.village.code}],
    "rectification:plan-new": lambda w: [{"round_pk": w.round.pk}],
    "rectification:plan": lambda w: [{"pk": crawl_plan(w).pk}],
    "rectification:plan-edit": lambda w: [{"pk": crawl_plan(w).pk}],
    "rectification:plan-submit": lambda w: [{"pk": crawl_plan(w).pk}],
    "rectification:plan-review": lambda w: [{"pk": crawl_plan(w).pk}],
    "rectification:plan-revise": lambda w: [{"pk": crawl_plan(w).pk}],
    "training:person": lambda w: [{"pk": crawl_field_user(w).pk}],
    "dispatch:problem": lambda w: [{"pk": crawl_work_problem(w).pk}],
    "dispatch:problem-edit": lambda w: [{"pk": crawl_work_problem(w).pk}],
    "dispatch:problem-start": lambda w: [{"pk": crawl_work_problem(w).pk}],
    "dispatch:problem-close": lambda w: [{"pk": crawl_work_problem(w).pk}],
    "dispatch:problem-reopen": lambda w: [{"pk": crawl_work_problem(w).pk}],
    "dispatch:problem-evidence": lambda w: [{"pk": crawl_work_problem(w).evidence.get().pk}],
    "surveys:campaign-detail": lambda w: [{"pk": crawl_campaign(w).pk}],
    "surveys:campaign-job": lambda w: [{"pk": crawl_campaign_draw(w).pk}],
    "surveys:campaign-job-status": lambda w: [{"pk": crawl_campaign_draw(w).pk}],
    "dispatch:unit": lambda w: [{"pk": crawl_unit_briefing(w).pk}],
    "dispatch:unit-xlsx": lambda w: [{"pk": crawl_unit_briefing(w).pk}],
    "dispatch:unit-job": lambda w: [{"pk": crawl_unit_briefing_job(w).pk}],
    "dispatch:unit-job-status": lambda w: [{"pk": crawl_unit_briefing_job(w).pk}],
}
# Routes whose one ``pk`` is an object of this kind (by the route's name).
BY_PK = {
    "surveys:round-": "round", "surveys:review": "round", "surveys:progress": "round",
    "surveys:coverage": "round", "surveys:spotcheck-list": "round", "surveys:flags": "round",
    "surveys:reconcile": "round", "surveys:inspection-detail": "inspection",
    "surveys:verify": "inspection", "surveys:return": "inspection",
    "rectification:entry": "entry", "rectification:notice": "entry",
    "reports:summary": "round", "reports:round-reopen": "round", "reports:submission": "submission",
    "reports:job": "report_job", "imports:job": "import_job", "imports:confirm": "import_job",
    "imports:mapping": "import_job", "imports:errors": "import_job",
    "dispatch:detail": "briefing", "dispatch:xlsx": "briefing", "apitokens:revoke": "token",
    "toilets:household-": "household", "toilets:toilet-": "toilet",
    "public:lead": "lead", "public:log-photo": "lead_log", "public:plate-print": "plate",
    "public:posting": "posting", "public:toilet-plates": "toilet",
    ":household-": "household", ":toilet-": "toilet", ":round-": "round",
    ":inspection-flag-": "flag", ":inspection-": "inspection",
    ":spot-check-sample-": "sample", ":spot-check-item-": "item",
    ":reconciliation-note-": "note", ":ledger-log-": "log", ":ledger-": "entry",
    ":overdue-snapshot-": "overdue", ":submission-": "submission", ":report-job-": "report_job",
    ":progress-target-": "target", ":region-": "region",
}  # fmt: skip


def _params(world, name):
    if name in SAMPLES:
        return SAMPLES[name](world)
    for start, attribute in sorted(BY_PK.items(), key=lambda kv: -len(kv[0])):
        if name.startswith(start):
            if attribute == "region":
                return [{"code": world.village.code}]
            if attribute == "log":
                return [{"pk": LedgerLog.objects.filter(entry=world.entry).first().pk}]
            return [{"pk": getattr(world, attribute).pk}]
    return None


def _url(route, params):
    """The route with its parameters filled in (Django paths and DRF regexes alike)."""
    url = route
    for key, value in params.items():
        url = re.sub(rf"\(\?P<{key}>[^)]*\)", str(value), url)
        url = re.sub(rf"<(?:\w+:)?{key}>", str(value), url)
    url = url.replace("^", "").replace("$", "").replace("\\.", ".")
    url = re.sub(r"\(\?P<format>[^)]*\)/\?", "json", url)
    return "/" + url.lstrip("/")


@pytest.fixture
def world(settings):
    settings.MEDIA_ROOT = settings.MEDIA_ROOT  # the autouse tmp media
    seed_demo(households=24)
    return World()


@pytest.fixture
def crawlers():
    """Every role of another county (钦北区, 450703)."""
    city = Region.objects.get(code="450700000000")
    county = region("450703000000", "钦北区", city)
    township = region("450703100000", "大垌镇", county)
    village = region("450703100201", "大垌村", township)
    return {
        "surveyor": UserFactory(username="b_surveyor", role=(Role.SURVEYOR, village)),
        "township": UserFactory(username="b_township", role=(Role.TOWNSHIP, township)),
        "county": UserFactory(username="b_county", role=(Role.COUNTY, county)),
        "inspector": UserFactory(username="b_inspector", role=(Role.INSPECTOR, county)),
    }


def _secrets(world):
    """Strings of the other county that no crawler may see."""
    households = Household.objects.filter(village__code__startswith=DEMO)
    names = set(households.values_list("head_name", flat=True))
    ids = set(households.values_list("id_number", flat=True))
    phones = {p for p in households.values_list("phone", flat=True) if p}
    villages = set(
        Region.objects.filter(code__startswith=DEMO, level=Level.VILLAGE).values_list(
            "name", flat=True
        )
    )
    # Village names that are also the township's (沙埠村 in 沙埠镇) are searched whole.
    return {s for s in names | ids | phones | villages if len(s) >= 2}


def _fresh_throttles():
    for cache in caches.all():
        if isinstance(cache, LocMemCache):
            cache.clear()


def _state():
    return (
        LedgerLog.objects.count(),
        Inspection.history.count(),
        Toilet.history.count(),
        Household.history.count(),
        Submission.objects.exclude(status="submitted").count(),
        ValueAlias.objects.count(),
        ApiToken.objects.filter(revoked_at__isnull=False).count(),
        CorrectionRequest.objects.exclude(status="open").count(),
        InspectionFlag.objects.filter(cleared_by__isnull=False).count(),
        Lead.objects.exclude(state="new").count(),
        Plate.objects.count(),
        Posting.objects.filter(posted_on__isnull=False).count(),
    )


def test_every_object_url_is_crawled(db):
    missing = sorted(name for name, _route in _object_urls() if _params_missing(name))
    assert not missing, f"add these routes to SAMPLES or BY_PK: {missing}"


def _params_missing(name):
    if name in SAMPLES:
        return False
    return not any(name.startswith(start) for start in BY_PK)


def test_no_role_of_another_county_reaches_or_changes_anything(world, crawlers, client, capsys):
    secrets = _secrets(world)
    before = _state()
    answers = Counter()
    failures = []
    requests = 0
    for role, user in crawlers.items():
        client.force_login(user)
        for name, route in sorted(_object_urls()):
            for params in _params(world, name) or []:
                url = _url(route, params)
                for method in ("get", "post"):
                    _fresh_throttles()
                    # The dashboards name their region in the query string.
                    query = {"region": world.county.code} if name.startswith("dashboards:") else {}
                    response = getattr(client, method)(url, query)
                    requests += 1
                    status = response.status_code
                    answers[status] += 1
                    login = status == 302 and "/login" in response.get("Location", "")
                    if status not in REFUSED and not login:
                        failures.append((role, method.upper(), url, status))
                    body = response.content.decode("utf-8", "replace") if status != 302 else ""
                    leaked = [s for s in secrets if s in body]
                    if leaked:
                        failures.append((role, method.upper(), url, f"names {leaked[:3]}"))
    assert _state() == before, "a crawler changed another county's data"
    assert not failures, failures[:20]
    assert answers[500] == 0
    with capsys.disabled():
        print(f"\nscope crawl: {requests} requests to {len(_object_urls())} object routes "
              f"by {len(crawlers)} roles; answers {dict(sorted(answers.items()))}; "
              f"leaks 0; 500s 0")  # fmt: skip


def test_the_pages_a_crawler_may_open_name_nothing_of_another_county(
    world, crawlers, client, capsys
):
    """Every parameterless page and API list, as every role of the other county, with the
    other county's codes in the query string too (filters, regions, rounds)."""
    secrets = _secrets(world)
    routes = sorted(
        {
            route
            for namespace, route, _p in _patterns()
            if "<" not in route
            and "(?P<" not in route.replace("(?P<format>", "")
            and not route.startswith("admin/")
            and "logout" not in route
        }
    )
    queries = [
        {},
        {"region": world.county.code, "round": world.round.pk},
        {"village": world.village.code, "township": world.township.code, "q": "王"},
    ]
    requests, opened, failures = 0, 0, []
    for role, user in crawlers.items():
        client.force_login(user)
        for route in routes:
            url = _url(route, {})
            for query in queries:
                _fresh_throttles()
                response = client.get(url, query)
                requests += 1
                if response.status_code == 500:
                    failures.append((role, url, query, 500))
                if response.status_code != 200 or response.get("Content-Disposition"):
                    continue
                opened += 1
                body = response.content.decode("utf-8", "replace")
                leaked = [s for s in secrets if s in body]
                if leaked:
                    failures.append((role, url, query, leaked[:3]))
    assert not failures, failures[:20]
    with capsys.disabled():
        print(f"\nscope crawl (pages): {requests} requests, {opened} pages opened, leaks 0, 500s 0")


def test_the_demo_world_has_one_of_each(world):
    """The crawl means something only if the other county really holds each kind of object."""
    assert world.entry is not None and world.evidence is not None and world.consent is not None
    assert LedgerLog.objects.filter(entry=world.entry).exists()
    assert world.household is not None and world.toilet is not None
    assert world.round.status == "open"
    assert Inspection.objects.filter(round=world.round).count() > 5
    assert world.inspection.village.code.startswith(DEMO)


def crawl_plan(world):
    """The other county's township plan (整改方案), submitted, as seed_demo files it."""
    from rectification.models import RectificationPlan

    officer = get_user_model().objects.get(username="county")
    plan, _ = RectificationPlan.objects.get_or_create(
        survey_round=world.round,
        township=world.township,
        defaults={
            "state": "submitted",
            "created_by": officer,
            "submitted_by": officer,
            "submitted_at": timezone.now(),
        },
    )
    return plan


def crawl_field_user(world):
    """A surveyor of the other county (its 岗前培训 page)."""
    from regions.models import RoleAssignment

    field = RoleAssignment.objects.filter(region__code__startswith=DEMO, role="surveyor")
    return field.first().user


def crawl_work_problem(world):
    """The other county's township's work-process problem (工作推进问题), closed with a photo."""
    from dispatch.models import WorkProblem, WorkProblemEvidence, WorkProblemLog

    officer = get_user_model().objects.get(username="county")
    today = timezone.localdate()
    problem, made = WorkProblem.objects.get_or_create(
        region=world.township,
        title="盲目赶进度",
        defaults={"category": "rushing", "description": "d", "measures": "m", "responsible": "r",
                  "found_on": today, "deadline": today, "state": "closed",
                  "closed_at": timezone.now(), "created_by": officer},
    )  # fmt: skip
    if made:
        log = WorkProblemLog.objects.create(
            problem=problem, actor=officer, action="close", from_state="in_progress",
            to_state="closed", note="n",
        )  # fmt: skip
        WorkProblemEvidence.objects.create(
            problem=problem, log=log, kind="photo", file="x.jpg", name="x.jpg",
            content_type="image/jpeg", size=1, sha256="0" * 64, uploaded_by=officer,
        )  # fmt: skip
    return problem


def crawl_collection(world):
    """Another city's collection (汇总任务): the crawlers' own city's is theirs to read."""
    from reports.models import Collection
    from surveys.models import ReportTemplate

    officer = get_user_model().objects.get(username="county")
    province = Region.objects.get(code="450000000000")
    city = Region.objects.filter(code="450800000000").first() or region(
        "450800000000", "贵港市", province
    )
    collection, _ = Collection.objects.get_or_create(
        region=city,
        name="贵港市汇总",
        defaults={"template": ReportTemplate.objects.first(), "deadline": timezone.localdate(),
                  "created_by": officer},
    )  # fmt: skip
    return collection


def crawl_delivery(world):
    """The demo county's stamped table delivered to its city (a sibling county must not see
    it, though both answer the same city)."""
    from reports.models import Collection, Delivery

    existing = Delivery.objects.filter(region=world.county).first()
    if existing is not None:
        return existing
    officer = get_user_model().objects.get(username="county")
    now = timezone.now()
    final = Submission.objects.create(
        survey_round=world.round, region=world.county, kind="county", version=1,
        status="final", cutoff=now, rows=[], total={}, submitted_by=officer, code="CRAWLCODE2",
        filler_name="填报人", filler_phone="13800000000", filled_on=now.date(),
    )  # fmt: skip
    collection = Collection.objects.create(
        region=world.county.parent, name="钦州市汇总", template=world.round.template,
        deadline=now.date(), created_by=officer,
    )  # fmt: skip
    return Delivery.objects.create(
        collection=collection, region=world.county, submission=final, delivered_by=officer
    )


def crawl_unit_briefing_job(world):
    """Another city's briefing being generated, by that city's manager: only theirs to follow."""
    from dispatch.models import UnitBriefingJob

    briefing = crawl_unit_briefing(world)
    manager = get_user_model().objects.filter(username="crawl_city_2").first() or UserFactory(
        username="crawl_city_2", role=(Role.CITY, briefing.region)
    )
    return UnitBriefingJob.objects.filter(created_by=manager).first() or (
        UnitBriefingJob.objects.create(
            region=briefing.region, kind="week", created_by=manager, briefing=briefing
        )
    )


def crawl_unit_briefing(world):
    """Another city's briefing (counties as rows): the crawlers' own city's is sent down to
    them (通报), another city's is not theirs."""
    from dispatch.models import UnitBriefing

    province = Region.objects.get(code="450000000000")
    city = Region.objects.filter(code="450800000000").first() or region(
        "450800000000", "贵港市", province
    )
    now = timezone.now()
    briefing = UnitBriefing.objects.filter(region=city).first()
    return briefing or UnitBriefing.objects.create(
        region=city, kind="week", period_start=now.date(), period_end=now.date(), cutoff=now,
        generated_at=now, data={"rows": [], "total": {}, "change": {}}, formula={},
    )  # fmt: skip


def crawl_campaign_draw(world):
    """The draw of the crawlers' city's campaign, by the city's officer: only theirs to follow."""
    from surveys.models import CampaignDrawJob

    campaign = crawl_campaign(world)
    return CampaignDrawJob.objects.filter(campaign=campaign).first() or (
        CampaignDrawJob.objects.create(
            region=campaign.region, name=campaign.name, per_village=1, seed=1,
            created_by=campaign.created_by, campaign=campaign, status="done",
        )
    )  # fmt: skip


def crawl_campaign(world):
    """The crawlers' own city's spot-check campaign (市级抽查) with a sample of the demo county:
    a county never reads the campaign's page, even one that checks it, nor a sibling's sample."""
    from surveys.models import SpotCheckCampaign

    existing = SpotCheckCampaign.objects.filter(region=world.county.parent).first()
    if existing is not None:
        return existing
    officer = get_user_model().objects.get(username="county")
    campaign = SpotCheckCampaign.objects.create(
        region=world.county.parent, name="钦州市抽查", per_village=1, seed=1, created_by=officer
    )
    sample = SpotCheckSample.objects.create(
        round=world.round, campaign=campaign, per_village=1, seed=2, created_by=officer
    )
    SpotCheckItem.objects.create(sample=sample, original=world.inspection)
    return campaign

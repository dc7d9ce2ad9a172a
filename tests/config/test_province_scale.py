"""A province on the real code table's scale: 10,800 villages under 36 counties. Every page a
city or province user opens stays bounded (size and queries): lists are paged, region filters
above the county take a code instead of listing thousands of villages, the overview reads the
rollups in a fixed number of queries."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from regions.codes import ancestor_codes
from regions.models import Region, RoleAssignment
from surveys.models import SurveyRound
from tests.factories import default_template

pytestmark = pytest.mark.django_db

CITIES, COUNTIES, TOWNSHIPS, VILLAGES = 6, 6, 10, 30
PAGES = [
    "home",
    "surveys:round-list",
    "rectification:ledger",
    "rectification:plans",
    "reports:index",
    "reports:collections",
    "reports:overview",
    "reports:progress",
    "dashboards:index",
    "dispatch:list",
    "dispatch:units",
    "dispatch:problems",
    "toilets:household-list",
    "toilets:toilet-list",
    "regions:root",
    "public:queue",
]
MAX_BYTES = 200_000
MAX_QUERIES = 40


@pytest.fixture
def province():
    regions = [Region(code="450000000000", name="广西壮族自治区", level="province")]
    for c in range(1, CITIES + 1):
        city = f"45{c:02d}"
        regions.append(Region(code=f"{city}00000000", name=f"第{c}市", level="city"))
        for k in range(1, COUNTIES + 1):
            county = f"{city}{k:02d}"
            regions.append(Region(code=f"{county}000000", name=f"第{c}-{k}县", level="county"))
            for t in range(1, TOWNSHIPS + 1):
                township = f"{county}{100 + t:03d}"
                regions.append(
                    Region(code=f"{township}000", name=f"镇{c}-{k}-{t}", level="township")
                )
                regions += [
                    Region(code=f"{township}{200 + v:03d}", name=f"村{c}-{k}-{t}-{v}", level="village")
                    for v in range(1, VILLAGES + 1)
                ]  # fmt: skip
    Region.objects.bulk_create(regions, batch_size=5000)
    ids = dict(Region.objects.values_list("code", "pk"))
    children = list(Region.objects.exclude(level="province"))
    for child in children:
        child.parent_id = ids[ancestor_codes(child.code)[0]]
    Region.objects.bulk_update(children, ["parent"], batch_size=5000)
    template = default_template()
    SurveyRound.objects.bulk_create(
        SurveyRound(
            name="2026年摸排", kind="survey", county=county, start_date=datetime.date(2026, 4, 1),
            end_date=datetime.date(2026, 12, 31), template=template, status="open",
        )
        for county in Region.objects.filter(level="county")
    )  # fmt: skip
    users = {}
    for username, role, code in (
        ("province", "province", "450000000000"),
        ("city", "city", "450100000000"),
    ):
        users[username] = get_user_model().objects.create(username=username)
        RoleAssignment.objects.create(user=users[username], role=role, region_id=ids[code])
    return users


def test_every_page_above_the_county_stays_bounded(client, province, django_assert_max_num_queries):
    assert Region.objects.filter(level="village").count() == 10_800
    for user in province.values():
        client.force_login(user)
        client.get(reverse("reports:overview"))  # the rollups computed once
        for name in PAGES:
            with django_assert_max_num_queries(MAX_QUERIES):
                response = client.get(reverse(name), follow=True)
            assert response.status_code == 200, (user.username, name)
            assert len(response.content) < MAX_BYTES, (user.username, name, len(response.content))

    # Above the county the village filter takes a code.
    client.force_login(province["province"])
    body = client.get(reverse("toilets:household-list")).content.decode()
    assert 'placeholder="输入12位区划代码"' in body and "村1-1-1-1<" not in body
    filtered = client.get(reverse("toilets:household-list"), {"village": "450101101201"})
    assert filtered.status_code == 200
    assert "选择一个有效的选项" not in filtered.content.decode()

    # The province's overview has a row per city, each with its counties' rounds.
    page = client.get(reverse("reports:overview"))
    assert [row.region.name for row in page.context["rows"]] == [
        f"第{c}市" for c in range(1, CITIES + 1)
    ]
    assert all(len(row.rounds) == COUNTIES for row in page.context["rows"])

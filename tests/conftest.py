"""Shared fixtures: a small tree with two counties and one user per role (plus outsiders).

county A 450702: township T1 (villages V1, V2), township T2 (village V3)
county B 450703: township T3 (village V4)
"""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from regions.choices import Role
from regions.models import Region
from tests.factories import PASSWORD, HouseholdFactory, ToiletFactory, UserFactory, region


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def axes_only_when_marked(request, settings):
    """django-axes is on in production, but its backend refuses ``client.login()`` (no request):
    tests run without it unless marked ``@pytest.mark.axes``."""
    settings.AXES_ENABLED = request.node.get_closest_marker("axes") is not None


@pytest.fixture(autouse=True)
def fresh_cache():
    """API throttle counters must not leak from one test into the next. Only in-memory caches
    are cleared: clearing a Redis cache would flush the whole Redis database."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    for cache in caches.all():
        if isinstance(cache, LocMemCache):
            cache.clear()


@dataclass
class Tree:
    province: Region
    city: Region
    county: Region
    t1: Region
    v1: Region
    v2: Region
    t2: Region
    v3: Region
    county_b: Region
    t3: Region
    v4: Region


@pytest.fixture
def tree(db):
    province = region("450000000000", "广西壮族自治区")
    city = region("450700000000", "钦州市", province)
    county = region("450702000000", "钦南区", city)
    t1 = region("450702100000", "沙埠镇", county)
    t2 = region("450702101000", "康熙岭镇", county)
    county_b = region("450703000000", "钦北区", city)
    t3 = region("450703100000", "大垌镇", county_b)
    return Tree(
        province=province,
        city=city,
        county=county,
        t1=t1,
        v1=region("450702100201", "沙埠村", t1),
        v2=region("450702100202", "东风村", t1),
        t2=t2,
        v3=region("450702101201", "坪山村", t2),
        county_b=county_b,
        t3=t3,
        v4=region("450703100201", "大垌村", t3),
    )


@dataclass
class Users:
    surveyor: object  # village V1
    surveyor_v2: object  # village V2, same township
    township: object  # T1
    township_t2: object  # T2, same county
    county: object  # county A
    inspector: object  # county A, read-only
    outsider: object  # county B's county user


@pytest.fixture
def users(tree):
    return Users(
        surveyor=UserFactory(username="surveyor", role=(Role.SURVEYOR, tree.v1)),
        surveyor_v2=UserFactory(username="surveyor_v2", role=(Role.SURVEYOR, tree.v2)),
        township=UserFactory(username="township", role=(Role.TOWNSHIP, tree.t1)),
        township_t2=UserFactory(username="township_t2", role=(Role.TOWNSHIP, tree.t2)),
        county=UserFactory(username="county", role=(Role.COUNTY, tree.county)),
        inspector=UserFactory(username="inspector", role=(Role.INSPECTOR, tree.county)),
        outsider=UserFactory(username="outsider", role=(Role.COUNTY, tree.county_b)),
    )


@dataclass
class Register:
    h1: object  # household in V1
    t1: object  # its toilet
    h3: object  # household in V3 (other township)
    t3: object
    h4: object  # household in V4 (other county)
    t4: object


@pytest.fixture
def register(tree):
    h1 = HouseholdFactory(village=tree.v1, head_name="王建国", phone="13812345678")
    h3 = HouseholdFactory(village=tree.v3, head_name="李秀英")
    h4 = HouseholdFactory(village=tree.v4, head_name="张志强")
    return Register(
        h1=h1,
        t1=ToiletFactory(household=h1),
        h3=h3,
        t3=ToiletFactory(household=h3),
        h4=h4,
        t4=ToiletFactory(household=h4),
    )


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def as_user(client):
    """``as_user(user)`` returns the test client logged in as that user."""
    return lambda user: login(client, user)


@pytest.fixture
def api():
    return APIClient()

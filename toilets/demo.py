"""The demo county: a small but realistic region tree, households, toilets and one user per
role. Deterministic and idempotent, so ``seed_demo`` can run on every ``make run``.

Names and codes are illustrative demo data, not an official register.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model

from regions.choices import NEEDS_TRAINING, ROLE_CAPABILITIES, Level, Role
from regions.models import Region, RoleAssignment, TrainingRecord

from .choices import (
    TECH_TYPE_FLUSH,
    FlushKind,
    Funding,
    Occupancy,
    Placement,
    TechType,
    ToiletKind,
    default_lead_department,
)
from .identity import check_character
from .models import Household, Toilet

DEMO_PASSWORD = "demo1234"
COUNTY_CODE = "450702000000"

TREE = {
    ("450000000000", "广西壮族自治区"): {
        ("450700000000", "钦州市"): {
            (COUNTY_CODE, "钦南区"): {
                ("450702100000", "沙埠镇"): ["沙埠村", "东风村", "长湾村", "新华村"],
                ("450702101000", "康熙岭镇"): ["康熙岭村", "坪山村", "团和村", "横山村"],
                ("450702102000", "黄屋屯镇"): ["黄屋屯村", "屯西村", "大江村", "茅坡村"],
                ("450702103000", "那丽镇"): ["那丽村", "平心村", "三隆村", "田寮村"],
            }
        }
    }
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
GIVEN = "建国永华秀英桂兰志强海燕丽娟金凤德明文光春梅玉兰成龙家宝国庆小红晓东福生明辉学军"

TECH_WEIGHTS = [
    (TechType.THREE_COMPARTMENT, 55),
    (TechType.DOUBLE_URN, 12),
    (TechType.BIOGAS, 8),
    (TechType.SEWER, 8),
    (TechType.URINE_DIVERSION, 4),
    (TechType.DOUBLE_PIT, 3),
    (TechType.OTHER_SANITARY, 4),
    (TechType.NON_SANITARY, 6),
]


@dataclass
class SeedResult:
    households_created: int = 0
    toilets_created: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    # (what, path) of pages worth opening by hand, filled by the apps seeded after the register.
    pages: list[tuple[str, str]] = field(default_factory=list)


def demo_id_number(index: int) -> str:
    """A valid, unique 18-digit ID for the index-th demo household."""
    born = datetime.date(1945, 1, 1) + datetime.timedelta(days=(index // 1000) * 47 % 18000)
    first17 = f"450702{born:%Y%m%d}{index % 1000:03d}"
    return first17 + check_character(first17)


def _regions() -> tuple[Region, list[Region], list[Region]]:
    def upsert(code, name, level, parent):
        region, _ = Region.objects.update_or_create(
            code=code, defaults={"name": name, "level": level, "parent": parent}
        )
        return region

    townships, villages = [], []
    county = None
    for (pcode, pname), cities in TREE.items():
        province = upsert(pcode, pname, Level.PROVINCE, None)
        for (ccode, cname), counties in cities.items():
            city = upsert(ccode, cname, Level.CITY, province)
            for (xcode, xname), towns in counties.items():
                county = upsert(xcode, xname, Level.COUNTY, city)
                for (tcode, tname), village_names in towns.items():
                    township = upsert(tcode, tname, Level.TOWNSHIP, county)
                    townships.append(township)
                    for n, vname in enumerate(village_names, start=1):
                        vcode = f"{tcode[:9]}{200 + n:03d}"
                        villages.append(upsert(vcode, vname, Level.VILLAGE, township))
    return county, townships, villages


def _users(county, townships, villages, result: SeedResult):
    user_model = get_user_model()

    def account(username, full_name, role, region):
        user, _ = user_model.objects.get_or_create(username=username)
        user.first_name = full_name
        user.set_password(DEMO_PASSWORD)
        user.save()
        if role is not None:
            RoleAssignment.objects.update_or_create(
                user=user, defaults={"role": role, "region": region}
            )
            if ROLE_CAPABILITIES[role] & NEEDS_TRAINING:
                TrainingRecord.objects.get_or_create(
                    user=user,
                    defaults={
                        "trained_on": datetime.date(2026, 3, 2),
                        "course": "农村户厕问题摸排整改业务培训",
                        "trainer": f"{county.name}农业农村局",
                    },
                )
        result.logins.append(
            (Role(role).label if role else "系统管理员", username, str(region or "全部"))
        )

    account("county", "县农业农村局管理员", Role.COUNTY, county)
    account("inspector", "县督导组", Role.INSPECTOR, county)
    for n, township in enumerate(townships, start=1):
        account(f"township{n}", f"{township.name}审核员", Role.TOWNSHIP, township)
    for n, village in enumerate(villages, start=1):
        account(f"surveyor{n}", f"{village.name}摸排员", Role.SURVEYOR, village)
    admin, _ = user_model.objects.get_or_create(username="admin")
    admin.is_staff = admin.is_superuser = True
    admin.set_password(DEMO_PASSWORD)
    admin.save()
    result.logins.append(("系统管理员（后台）", "admin", "全部"))


def _household_and_toilets(index: int, village: Region, rng: random.Random):
    name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))
    household = Household(
        village=village,
        county_code=village.code[:6],
        group_name=f"第{rng.randint(1, 8)}村民小组",
        head_name=name,
        id_number=demo_id_number(index),
        phone=f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}",
        address=f"{village.name}{rng.randint(1, 120)}号",
        occupancy=rng.choices(list(Occupancy), weights=[85, 12, 3])[0],
    )
    toilets = [_toilet(village, household, rng) for _ in range(2 if index % 23 == 0 else 1)]
    return household, toilets


def _toilet(village: Region, household, rng: random.Random) -> Toilet:
    tech = rng.choices([t for t, _ in TECH_WEIGHTS], weights=[w for _, w in TECH_WEIGHTS])[0]
    year = rng.choice([*range(2004, 2013), *range(2013, 2022), *range(2013, 2022)])
    funding = Funding.GOVERNMENT if year >= 2013 and rng.random() < 0.8 else Funding.SELF_BUILT
    flush = TECH_TYPE_FLUSH[tech][0] or FlushKind.DRY
    base_lat = Decimal("21.90") + Decimal(int(village.code[9:]) % 10) / 100
    base_lon = Decimal("108.60") + Decimal(int(village.code[6:9]) % 10) / 100
    return Toilet(
        village=village,
        household=household,
        kind=ToiletKind.HOUSEHOLD if household is not None else ToiletKind.PUBLIC,
        tech_type=tech,
        flush_kind=flush,
        placement=rng.choice(list(Placement)),
        build_year=year,
        funding=funding,
        lead_department=default_lead_department(year),
        latitude=base_lat + Decimal(rng.randint(0, 9999)) / 1000000,
        longitude=base_lon + Decimal(rng.randint(0, 9999)) / 1000000,
    )


def seed_register(households: int = 600):
    """Create what is missing of the demo county's register; running it again changes nothing.
    Returns the result with the county, its townships and its villages.

    1. The region tree (province → city → county → 4 townships → 16 villages).
    2. One user per role, all with the demo password.
    3. ``households`` households with one toilet each (every 23rd has two), then one
       public toilet per village. Household i always gets the same ID number, so existing
       ones are skipped.
    """
    result = SeedResult()
    county, townships, villages = _regions()
    _users(county, townships, villages, result)

    wanted = {demo_id_number(i): i for i in range(households)}
    existing = set(
        Household.objects.filter(county_code=county.code[:6], id_number__in=wanted).values_list(
            "id_number", flat=True
        )
    )
    batch_households, batch_toilets = [], []
    for id_number, index in wanted.items():
        if id_number in existing:
            continue
        rng = random.Random(index)
        household, toilets = _household_and_toilets(index, villages[index % len(villages)], rng)
        batch_households.append(household)
        batch_toilets.append(toilets)
        if len(batch_households) >= 5000:
            _flush(batch_households, batch_toilets, result)
    _flush(batch_households, batch_toilets, result)

    for village in villages:
        name = f"{village.name}村委公厕"
        if not Toilet.objects.filter(village=village, kind=ToiletKind.PUBLIC, name=name).exists():
            toilet = _toilet(village, None, random.Random(village.code))
            toilet.name = name
            toilet.save()
            result.toilets_created += 1
    return result, county, townships, villages


def _flush(households: list, toilets: list, result: SeedResult):
    if not households:
        return
    Household.objects.bulk_create(households, batch_size=2000)
    flat = []
    for household, own in zip(households, toilets, strict=True):
        for toilet in own:
            toilet.household = household
            flat.append(toilet)
    Toilet.objects.bulk_create(flat, batch_size=2000)
    result.households_created += len(households)
    result.toilets_created += len(flat)
    households.clear()
    toilets.clear()

"""The chain above the demo county: a city and a province administrator, the province's
collection and the city's (due 5月10日, seed 000), for ``seed_demo``. Idempotent."""

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from regions.choices import Role
from regions.models import Region, RoleAssignment
from surveys.models import ReportTemplate
from toilets.demo import DEMO_PASSWORD, SeedResult

from .models import Collection


def _account(username: str, full_name: str, role: Role, region: Region, result: SeedResult):
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.first_name = full_name
    user.set_password(DEMO_PASSWORD)
    user.save()
    RoleAssignment.objects.update_or_create(user=user, defaults={"role": role, "region": region})
    result.logins.append((role.label, username, region.name))
    return user


def _next_may_10(today: datetime.date) -> datetime.date:
    due = datetime.date(today.year, 5, 10)
    return due if due >= today else datetime.date(today.year + 1, 5, 10)


def seed_chain(county: Region, result: SeedResult) -> Collection | None:
    city = county.parent
    province = city.parent if city is not None else None
    template = ReportTemplate.objects.filter(is_default=True).first()
    if city is None or province is None or template is None:
        return None
    city_user = _account("city", f"{city.name}农业农村局管理员", Role.CITY, city, result)
    province_user = _account(
        "province", f"{province.name}农业农村厅管理员", Role.PROVINCE, province, result
    )
    due = _next_may_10(timezone.localdate())
    above, _ = Collection.objects.get_or_create(
        region=province,
        name=f"{due.year}年全区农村户厕问题摸排整改汇总",
        defaults={
            "template": template,
            "deadline": due + datetime.timedelta(days=10),
            "created_by": province_user,
        },
    )
    collection, _ = Collection.objects.get_or_create(
        region=city,
        name=f"{due.year}年全市农村户厕问题摸排整改汇总",
        defaults={"template": template, "deadline": due, "parent": above, "created_by": city_user},
    )
    result.pages.append(("市级汇总任务", collection.get_absolute_url()))
    return collection

"""Demo public side: the townships' service phone and 举报电话, plates for the first village's
toilets, and three leads in different states on the first plate (one overdue, one assigned,
one answered), so the queue, the home page's callout, the public page and the lookup page
all have something to show. Each part is made only when missing: running it again changes
nothing."""

import datetime

from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils import timezone

from regions.choices import Role

from . import services
from .choices import LeadCategory, LeadKind, LeadState
from .models import Lead, LeadLog, Plate, ServiceContact, answer_days

# (kind, category, description, days ago, the township's step and its fields)
LEADS = [
    (
        LeadKind.REPORT,
        LeadCategory.TANK,
        "化粪池盖板裂了，下雨后往外渗水，味道很大。",
        None,  # overdue: LEAD_ANSWER_DAYS + 3 days ago, still waiting
        None,
    ),
    (
        LeadKind.MAINTENANCE,
        LeadCategory.PUMPING,
        "化粪池快满了，请安排抽粪。",
        2,
        {"action": "assign", "assignee": "李师傅（吸粪车）"},
    ),
    (
        LeadKind.REPORT,
        LeadCategory.FIXTURE,
        "冲水按钮坏了，按下去不出水。",
        5,
        {
            "action": "close",
            "answer": "已联系村管护员上门检查，冲水阀已更换，可正常使用。如仍有问题请拨打服务电话。",
        },
    ),
]


def seed_public(county, townships, villages) -> None:
    users = get_user_model().objects
    admin = users.get(role_assignment__role=Role.COUNTY, role_assignment__region=county)
    for n, township in enumerate(townships, start=1):
        if not ServiceContact.objects.filter(township=township).exists():
            services.save_contact(
                actor=admin,
                township=township,
                service_phone=f"0777-32{n}1000",
                complaint_phone=f"0777-32{n}9999",
            )
    first = townships[0]
    village = next(v for v in villages if v.parent_id == first.pk)
    officer = users.get(role_assignment__region=first)
    services.issue_village_plates(actor=officer, village=village)
    plate = demo_plate(village)
    if plate is None or Lead.objects.filter(village=village).exists():
        return
    for kind, category, description, days_ago, step in LEADS:
        lead = services.file_lead(
            plate=plate,
            filing=services.Filing(kind=kind, category=category, description=description),
        )
        _filed_days_ago(lead, answer_days() + 3 if days_ago is None else days_ago)
        if step is not None:
            services.act(actor=officer, lead=lead, **step)


def _filed_days_ago(lead, days: int) -> None:
    """The demo's past: the lead and its filing's log row dated ``days`` ago. The log is
    immutable to every code path of the application; the demo writes its own history once,
    before anybody reads it, through a plain queryset."""
    at = timezone.now() - datetime.timedelta(days=days)
    Lead.objects.filter(pk=lead.pk).update(created_at=at)
    models.QuerySet(LeadLog).filter(lead=lead, action="file").update(at=at)


def demo_plate(village) -> Plate | None:
    """The plate of the village's first toilet, the one the demo leads are about."""
    return (
        Plate.objects.active().filter(toilet__village=village).order_by("toilet_id", "pk").first()
    )


def demo_pages(village) -> list[tuple[str, str]]:
    """(what, path) of the public pages to try by hand: the demo plate's page, and the lookup
    page of the answered demo lead."""
    plate = demo_plate(village)
    if plate is None:
        return []
    pages = [
        ("服务标识牌公开页（扫码所见，无需登录）", reverse("public:plate", args=[plate.token]))
    ]
    answered = Lead.objects.filter(plate=plate, state=LeadState.CLOSED).order_by("pk").first()
    if answered is not None:
        lookup = reverse("public:lookup")
        pages.append((f"查询码 {answered.code} 的办理结果", f"{lookup}?code={answered.code}"))
    return pages

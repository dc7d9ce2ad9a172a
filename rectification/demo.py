"""Demo ledger: a few inspections in the demo county's first township and problem entries at
every step of the close-out workflow, so that each role finds work on its first login; the
township's rectification plan (整改方案) sent to the county for review."""

import datetime
import io
import random

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from surveys.choices import CheckMethod, Usability
from surveys.models import Inspection, ProblemCategory

from . import plans, services
from .checklists import checklist_for
from .choices import ConsentMethod, LedgerState

# The steps each demo problem toilet is driven through, cycling over the problems found.
TARGETS = [
    LedgerState.REGISTERED,
    LedgerState.PLANNED,
    LedgerState.IN_PROGRESS,
    LedgerState.RECTIFIED,
    LedgerState.ACCEPTED,
    LedgerState.CLOSED,
]
PER_VILLAGE = 10  # toilets inspected per village
PROBLEMS_PER_VILLAGE = 3


def _jpeg(color) -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (480, 360), color).save(buffer, "JPEG")
    return ContentFile(buffer.getvalue(), name="demo.jpg")


def _signature() -> ContentFile:
    image = Image.new("RGBA", (300, 120), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(20, 80), (110, 30), (190, 90), (280, 40)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return ContentFile(buffer.getvalue(), name="signature.png")


def seed_ledger(survey_round, township, villages) -> int:
    """Inspect the first toilets of ``villages`` and drive the problem ones along the workflow.
    Does nothing when the round already has inspections. Returns the number of entries."""
    if Inspection.objects.filter(round=survey_round).exists():
        return 0
    users = get_user_model().objects
    officer = users.get(role_assignment__region=township)
    categories = list(ProblemCategory.objects.order_by("column"))
    rng = random.Random(survey_round.pk)
    entries = 0
    for village in villages:
        surveyor = users.get(role_assignment__region=village)
        toilets = list(village.toilets.filter(household__isnull=False).order_by("pk")[:PER_VILLAGE])
        for n, toilet in enumerate(toilets):
            problem = n < PROBLEMS_PER_VILLAGE
            inspection = Inspection.objects.create(
                round=survey_round,
                toilet=toilet,
                surveyor=surveyor,
                partner_name="村干部",
                inspected_at=timezone.now() - datetime.timedelta(days=14, hours=n),
                check_method=CheckMethod.ON_SITE,
                usability=rng.choice([Usability.UNUSABLE, Usability.NOT_YEAR_ROUND])
                if problem
                else Usability.NORMAL,
                signed=True,
            )
            if not problem:
                continue
            inspection.categories.set(rng.sample(categories, 2))
            entry = services.sync_from_inspection(actor=surveyor, inspection=inspection)
            target = TARGETS[entries % len(TARGETS)]
            entry = _drive(entry, target, officer=officer, surveyor=surveyor)
            if entry.state == LedgerState.IN_PROGRESS:
                # One that ran past its deadline, for the 已逾期 queue and the trend.
                type(entry).objects.filter(pk=entry.pk).update(
                    deadline=timezone.localdate() - datetime.timedelta(days=5)
                )
            entries += 1
    if entries:
        _file_plan(survey_round, township, officer)
    return entries


DEMO_PLAN = {
    "focus": "粪池渗漏、厕具损坏和冬季防冻问题，重点为各村 2017 年前改造的户厕",
    "tech_route": "三格化粪池式为主，宜水则水、宜旱则旱；防冻问题加深埋管并加保温层",
    "organization": "分管副镇长牵头，镇农业农村办成立整改专班，每村一名技术员跟踪到户",
    "funding": "县级改厕计划资金、镇级配套资金和农户自筹相结合",
    "timeline": "立行立改问题 20 天内完成；技术指导整改年底前完成；重点难点问题按年度计划逐年整改",
}


def _file_plan(survey_round, township, officer):
    """The township's plan for the round, covering its open entries, sent to the county."""
    plan = plans.start_plan(actor=officer, survey_round=survey_round, township=township)
    plan = plans.save_plan(
        actor=officer,
        plan=plan,
        sections=DEMO_PLAN,
        entries=list(plan.entries.values_list("pk", flat=True)),
    )
    plans.submit_plan(actor=officer, plan=plan)


def _drive(entry, target, *, officer, surveyor):
    today = timezone.localdate()
    steps = [
        (
            "plan",
            officer,
            {
                "plan": {
                    "problem_class": services.suggested_class(entry),
                    "cause": "construction",
                    "measures": "更换破损厕具，修补化粪池盖板并做满水试验",
                    "tech_route": entry.toilet.get_tech_type_display(),
                    "funding_source": "township",
                    "deadline": today + datetime.timedelta(days=20),
                    "target_year": today.year + 1,
                    "responsible_person": "陈志明",
                    "responsible_phone": "0777-1234567",
                }
            },
        ),
        ("start", officer, {}),
        ("rectify", surveyor, {"photos": [_jpeg((70, 120, 180))], "note": "已更换便器"}),
        ("accept", officer, {"checklist": {i.code: True for i in checklist_for(entry.toilet.tech_type)}}),
        (
            "close",
            officer,
            {
                "consent": services.ConsentInput(
                    method=ConsentMethod.SCREEN,
                    signer_name=entry.toilet.household.head_name,
                    signed_on=today,
                    image=_signature(),
                )
            },
        ),
    ]  # fmt: skip
    for action, actor, kwargs in steps:
        if entry.state == target:
            return entry
        entry = services.transition(actor=actor, entry=entry, action=action, **kwargs)
    return entry

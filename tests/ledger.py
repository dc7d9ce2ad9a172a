"""Helpers for ledger tests: an entry opened the real way (a problem inspection) and the
evidence each close-out step needs."""

import datetime
import io

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from rectification import services
from rectification.checklists import checklist_for
from rectification.choices import ConsentMethod
from surveys.models import Inspection, ProblemCategory
from surveys.services import save_inspection
from tests.images import jpeg


def open_entry(surveyor, survey_round, toilet, usability="unusable", cats=("tank",)):
    """A ledger entry opened by ``surveyor``'s problem inspection of ``toilet``."""
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
        categories=list(ProblemCategory.objects.filter(code__in=cats)),
    )
    return toilet.ledger_entries.get(opened_by_inspection=inspection)


def plan_data(**overrides):
    data = {
        "problem_class": "guidance",
        "cause": "construction",
        "measures": "更换破损化粪池盖板，重新连接过粪管",
        "tech_route": "三格化粪池式",
        "funding_source": "township",
        "deadline": timezone.localdate() + datetime.timedelta(days=30),
        "target_year": None,
        "responsible_person": "陈志明",
        "responsible_phone": "0777-1234567",
    }
    data.update(overrides)
    return data


def checklist(entry, *, failing=()):
    """Every item of the entry's checklist, passed unless its code is in ``failing``."""
    return {item.code: item.code not in failing for item in checklist_for(entry.toilet.tech_type)}


def signature_png(*, blank=False) -> bytes:
    image = Image.new("RGBA", (300, 120), (255, 255, 255, 0))
    if not blank:
        ImageDraw.Draw(image).line(
            [(20, 80), (120, 30), (200, 90), (280, 40)], fill="black", width=4
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def consent(**overrides):
    data = {
        "method": ConsentMethod.SCREEN,
        "signer_name": "王建国",
        "signed_on": timezone.localdate(),
        "image": ContentFile(signature_png(), name="signature.png"),
    }
    data.update(overrides)
    return services.ConsentInput(**data)


def after_photo(name="after.jpg", gps=None):
    return jpeg(name, color=(40, 90, 200), gps=gps)


def paper_photo() -> SimpleUploadedFile:
    return jpeg("paper.jpg", color=(250, 250, 240))


def move(entry, action, actor, **kwargs):
    return services.transition(actor=actor, entry=entry, action=action, **kwargs)


def drive(entry, *, township, surveyor, to: str):
    """Walk an entry along the main path up to state ``to``."""
    path = [
        ("planned", lambda e: move(e, "plan", township, plan=plan_data())),
        ("in_progress", lambda e: move(e, "start", township)),
        ("rectified", lambda e: move(e, "rectify", surveyor, photos=[after_photo()])),
        ("accepted", lambda e: move(e, "accept", township, checklist=checklist(e))),
        ("closed", lambda e: move(e, "close", township, consent=consent())),
    ]
    for state, step in path:
        if entry.state == to:
            break
        entry = step(entry)
        assert entry.state == state
    return entry

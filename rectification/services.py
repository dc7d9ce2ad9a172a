"""Writes to the problem ledger: keeping each toilet's single open entry in step with its
inspections, and the close-out workflow (``transition``).

Every change is one atomic service call taking ``actor=`` that checks capability, region and
current state against ``workflow.TRANSITIONS``, moves the entry with a conditional UPDATE (two
clicks or two users: exactly one wins), and writes an immutable log row with its evidence.
"""

import base64
import binascii
import datetime
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image

from core.concurrency import check_version, update_if_unchanged
from core.errors import ConflictError
from core.geo import distance_metres
from core.uploads import BadImage, open_image, reencode
from regions.choices import PLAN_ACCEPT
from regions.scoping import has_capability
from surveys.choices import (
    PHOTO_FORMATS,
    PHOTO_MAX_PIXELS,
    PHOTO_STORED_MAX_SIDE,
    PROBLEM_USABILITY,
    RoundStatus,
)
from surveys.models import SurveyRound
from surveys.photos import process_photos
from toilets.models import Toilet

from . import findings
from .checklists import checklist_for
from .choices import (
    ENDED_STATES,
    ConsentMethod,
    LedgerState,
    LocationSource,
    PhotoKind,
    ProblemClass,
)
from .models import AcceptanceCheck, Consent, EvidencePhoto, LedgerEntry, LedgerLog
from .workflow import TRANSITIONS, Transition

logger = logging.getLogger(__name__)

MAX_PHOTOS = 9
NOTE_MAX = 300
HARD_PLAN_MAX_YEARS = 5  # a multi-year plan reaches at most this many years ahead
SIGNATURE_MAX_BYTES = 2 * 1024 * 1024


# Keeping the ledger in step with inspections ------------------------------------------


def _describe(inspection) -> str:
    names = "、".join(c.name for c in inspection.categories.all())
    return f"{inspection.get_usability_display()}：{names}"


def _log(entry, *, actor, to_state, note, from_state="", inspection=None, action=""):
    """The immutable log row every change of an entry writes."""
    return LedgerLog.objects.create(
        entry=entry,
        actor=actor,
        from_state=from_state,
        to_state=to_state,
        action=action,
        note=note[:NOTE_MAX],
        inspection=inspection,
    )


def sync_from_inspection(*, actor, inspection) -> LedgerEntry | None:
    """Open, update or withdraw the toilet's ledger entry after an inspection is saved, as
    ``findings.decide`` says.

    Runs inside the caller's transaction (the inspection save). A problem toilet gets one open
    entry, created by the first inspection that finds it and updated by later ones. When an
    inspection is corrected to 正常使用 before anything was done on the entry it opened, the
    entry was a data-entry mistake and is withdrawn (and comes back if the finding is corrected
    back); an entry opened earlier stays open (a re-check finding the toilet usable does not
    close it: closing needs evidence).
    """
    entries = list(
        findings.entries_concerned([inspection.toilet_id], [inspection.pk]).select_for_update()
    )
    own, current = findings.own_and_open(entries, inspection.pk)
    moved = findings.moved_entries([e.pk for e in entries])
    decision = findings.decide(
        is_problem=inspection.is_problem,
        own=findings.facts(own, moved),
        current=findings.facts(current, moved),
    )
    entry = decision.entry(own, current)
    if decision.act == findings.Act.OPEN:
        entry = LedgerEntry.objects.create(
            toilet=inspection.toilet,
            found_in=inspection.round,
            opened_by_inspection=inspection,
            last_inspection=inspection,
            usability=inspection.usability,
            state=decision.state,
            state_changed_at=timezone.now(),
        )
        entry.categories.set(inspection.categories.all())
        _log(
            entry,
            actor=actor,
            inspection=inspection,
            to_state=decision.state,
            action="register",
            note=f"摸排发现问题（{inspection.round}）：{_describe(inspection)}",
        )
        logger.info("ledger entry %s opened by inspection %s", entry.pk, inspection.pk)
        return entry
    if decision.act == findings.Act.UPDATE:
        from_state = entry.state
        fields = ["usability", "last_inspection", "version", "updated_at"]
        if decision.state is not None:  # an own entry a correction withdrew comes back
            entry.state = decision.state
            entry.state_changed_at = timezone.now()
            entry.closed_at = entry.state_changed_at if entry.state == LedgerState.CLOSED else None
            fields += ["state", "state_changed_at", "closed_at"]
        entry.usability = inspection.usability
        entry.last_inspection = inspection
        entry.version += 1
        entry.save(update_fields=fields)
        entry.categories.set(inspection.categories.all())
        _log(
            entry,
            actor=actor,
            inspection=inspection,
            from_state=from_state,
            to_state=entry.state,
            action="inspect",
            note=f"摸排更新（{inspection.round}）：{_describe(inspection)}",
        )
        return entry
    if decision.act == findings.Act.WITHDRAW:
        # The only finding behind this entry was corrected: the entry never stood. It is kept,
        # withdrawn, with the correction in its log.
        _log(
            entry,
            actor=actor,
            inspection=inspection,
            from_state=entry.state,
            to_state=LedgerState.WITHDRAWN,
            action="withdraw",
            note=f"摸排更正为正常使用（{inspection.round}），撤销该问题登记",
        )
        entry.state = LedgerState.WITHDRAWN
        entry.version += 1
        entry.state_changed_at = timezone.now()
        entry.save(update_fields=["state", "version", "state_changed_at", "updated_at"])
        logger.info("ledger entry %s withdrawn: inspection %s corrected", entry.pk, inspection.pk)
        return None
    if decision.act == findings.Act.RECHECK:
        _log(
            entry,
            actor=actor,
            inspection=inspection,
            from_state=entry.state,
            to_state=entry.state,
            action="inspect",
            note=f"复查（{inspection.round}）：使用正常，待按整改流程核实销号",
        )
        return entry
    return None


# Public reports (群众反映) the township verified ------------------------------------------


def report_round(toilet):
    """The round an entry opened from a public report is found in: the toilet's county's open
    round, else its latest one (None when the county has no round yet)."""
    rounds = SurveyRound.objects.filter(county__code=toilet.village.code[:6] + "000000")
    return (
        rounds.filter(status=RoundStatus.OPEN).order_by("-start_date", "-id").first()
        or rounds.exclude(status=RoundStatus.DRAFT).order_by("-start_date", "-id").first()
    )


def open_from_report(*, actor, toilet, usability: str, categories, note: str) -> LedgerEntry:
    """Open a ledger entry for ``toilet`` from a public report the township has verified.

    The entry has no inspection behind it (an inspection later updates it as any finding
    does) and then follows the normal close-out workflow. Refusals: PermissionDenied (role or
    region), ConflictError (the toilet already has an open entry: merge into it instead),
    ValidationError (usability, categories, note, or no survey round in the county)."""
    if not has_capability(actor, PLAN_ACCEPT):
        raise PermissionDenied("您的角色不能登记问题台账。")
    if not Toilet.objects.visible_to(actor).filter(pk=toilet.pk).exists():
        raise PermissionDenied("该厕所不在您的管辖范围内。")
    errors = {}
    if usability not in PROBLEM_USABILITY:
        errors["usability"] = "请选择“不能使用”或“不能全年使用”（问题厕所的口径）。"
    categories = list(categories)
    if not categories:
        errors["categories"] = "请至少选择一个问题类型。"
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = f"说明不能超过 {NOTE_MAX} 字。"
    survey_round = report_round(toilet)
    if survey_round is None:
        errors["__all__"] = "本县还没有摸排轮次，暂不能登记问题台账。"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        list(Toilet.objects.select_for_update().filter(pk=toilet.pk))
        if LedgerEntry.objects.filter(toilet=toilet).open().exists():
            raise ConflictError("该厕所已有未销号的问题台账，请将反映并入该台账。")
        now = timezone.now()
        entry = LedgerEntry.objects.create(
            toilet=toilet,
            found_in=survey_round,
            usability=usability,
            state=LedgerState.REGISTERED,
            state_changed_at=now,
        )
        entry.categories.set(categories)
        _log(
            entry,
            actor=actor,
            to_state=LedgerState.REGISTERED,
            action="report",
            note=f"群众反映，乡镇核实后登记：{note}" if note else "群众反映，乡镇核实后登记",
        )
    logger.info("ledger entry %s opened from a public report by %s", entry.pk, actor)
    return entry


def note_report(*, actor, entry: LedgerEntry, note: str) -> LedgerEntry:
    """Record on ``entry`` (open) that a public report about its toilet was merged into it: a
    log row, the state unchanged."""
    if not has_capability(actor, PLAN_ACCEPT):
        raise PermissionDenied("您的角色不能处理问题台账。")
    with transaction.atomic():
        try:
            current = LedgerEntry.objects.visible_to(actor).select_for_update().get(pk=entry.pk)
        except LedgerEntry.DoesNotExist as exc:
            raise PermissionDenied("该问题台账不在您的管辖范围内。") from exc
        if current.state in ENDED_STATES:
            raise ConflictError("该问题台账已销号或撤销，不能再并入。")
        note = (note or "").strip()[: NOTE_MAX - 12]
        _log(
            current,
            actor=actor,
            from_state=current.state,
            to_state=current.state,
            action="report",
            note=f"并入群众反映：{note}" if note else "并入群众反映",
        )
    return current


# The close-out workflow -----------------------------------------------------------------


@dataclass
class ConsentInput:
    """What a close-out needs from the household: a signature drawn on the screen (PNG) or a
    photo of the signed paper, with the signer's name and the date."""

    method: str
    signer_name: str
    signed_on: datetime.date | None
    image: object  # an uploaded file, or ContentFile of the drawn signature


PLAN_FIELDS = [
    "problem_class",
    "cause",
    "measures",
    "tech_route",
    "funding_source",
    "deadline",
    "target_year",
    "responsible_person",
    "responsible_phone",
]


def can(actor, entry, action: str) -> bool:
    """Whether ``actor`` may take ``action`` on ``entry`` now (the pages show only these)."""
    move = TRANSITIONS.get(action)
    return (
        move is not None
        and entry.state in move.sources
        and has_capability(actor, move.capability)
        and LedgerEntry.objects.visible_to(actor).filter(pk=entry.pk).exists()
    )


def available_actions(actor, entry) -> list[Transition]:
    if not LedgerEntry.objects.visible_to(actor).filter(pk=entry.pk).exists():
        return []
    return [
        move
        for move in TRANSITIONS.values()
        if entry.state in move.sources and has_capability(actor, move.capability)
    ]


def clean_plan(data: dict, *, today=None) -> dict:
    """Check a rectification plan; the cleaned values or a ValidationError per field."""
    today = today or timezone.localdate()
    plan = {key: data.get(key) for key in PLAN_FIELDS}
    for key in ("measures", "tech_route", "responsible_person", "responsible_phone", "cause"):
        plan[key] = (plan[key] or "").strip()
    errors = {}
    if plan["problem_class"] not in ProblemClass.values:
        errors["problem_class"] = "请选择整改类别。"
    if plan["cause"] and plan["cause"] not in dict(LedgerEntry._meta.get_field("cause").choices):
        errors["cause"] = "问题原因不在可选范围内。"
    if not plan["cause"]:
        errors["cause"] = "请选择问题原因。"
    if not plan["measures"]:
        errors["measures"] = "请填写整改措施。"
    if plan["funding_source"] not in dict(LedgerEntry._meta.get_field("funding_source").choices):
        errors["funding_source"] = "请选择资金来源。"
    if not plan["responsible_person"]:
        errors["responsible_person"] = "请填写责任人，告知单上农户据此联系。"
    phone = plan["responsible_phone"]
    if not phone:
        errors["responsible_phone"] = "请填写责任人联系电话。"
    elif not phone.replace("-", "").isdigit() or not 7 <= len(phone) <= 20:
        errors["responsible_phone"] = "联系电话只能包含数字和“-”，7–20 位。"
    deadline = plan["deadline"]
    if not isinstance(deadline, datetime.date):
        errors["deadline"] = "请填写整改时限。"
    elif deadline < today:
        errors["deadline"] = "整改时限不能早于今天。"
    target_year = plan["target_year"]
    if plan["problem_class"] == ProblemClass.HARD:
        if not isinstance(target_year, int):
            errors["target_year"] = "重点难点问题请填写计划完成年度（分年度逐步整改）。"
        elif not today.year <= target_year <= today.year + HARD_PLAN_MAX_YEARS:
            errors["target_year"] = (
                f"计划完成年度应在 {today.year}–{today.year + HARD_PLAN_MAX_YEARS} 年之间。"
            )
        elif isinstance(deadline, datetime.date) and deadline.year > target_year:
            errors["deadline"] = "整改时限不能晚于计划完成年度。"
    else:
        plan["target_year"] = None
        if isinstance(deadline, datetime.date) and deadline > today + datetime.timedelta(days=366):
            errors["deadline"] = (
                "非重点难点问题的整改时限不超过一年；需分年度整改的请选“重点难点”。"
            )
    if errors:
        raise ValidationError(errors)
    return plan


def suggested_class(entry) -> str:
    """The route a problem usually takes (seed 000): 粪污 and pre-2018 toilets are hard
    problems, maintenance problems are 后期管护, the rest need technical guidance."""
    codes = {c.code for c in entry.categories.all()}
    if "waste" in codes:
        return ProblemClass.HARD
    if codes == {"maintenance"}:
        return ProblemClass.MAINTENANCE
    return ProblemClass.GUIDANCE


def _clean_note(note: str, *, required: bool, what: str) -> str:
    note = (note or "").strip()
    if required and not note:
        raise ValidationError({"note": f"请填写{what}。"})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": f"{what}不能超过 {NOTE_MAX} 字。"})
    return note


def _clean_location(location) -> tuple[Decimal | None, Decimal | None]:
    """A position the browser reported with the upload, when the photo carries none."""
    if not location:
        return None, None
    try:
        lat, lon = (Decimal(str(v)).quantize(Decimal("0.000001")) for v in location)
        if not (lat.is_finite() and lon.is_finite()):  # "NaN" parses; comparing it raises
            raise ValueError(location)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationError({"location": "定位数据格式不正确。"}) from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"location": "定位数据超出范围。"})
    return lat, lon


def _process_evidence(photos) -> list:
    if not photos:
        raise ValidationError({"photos": "请拍摄或上传至少一张整改后照片。"})
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": f"最多上传 {MAX_PHOTOS} 张照片。"})
    return process_photos(photos)


def _clean_checklist(entry, checklist: dict | None) -> list[tuple]:
    items = checklist_for(entry.toilet.tech_type)
    checklist = checklist or {}
    missing = [
        f"第 {n} 项“{item.text}”" for n, item in enumerate(items, 1) if item.code not in checklist
    ]
    failed = [
        f"第 {n} 项“{item.text}”"
        for n, item in enumerate(items, 1)
        if item.code in checklist and not checklist[item.code]
    ]
    # Both refusals at once, so the user sees everything to fix in one go.
    problems = []
    if missing:
        problems.append("请逐项检查后再验收，未检查：" + "；".join(missing))
    if failed:
        problems.append("有不合格项，不能验收，请退回整改：" + "；".join(failed))
    if problems:
        raise ValidationError({"checklist": problems})
    return [(item, True) for item in items]


SIGNATURE_PREFIX = "data:image/png;base64,"
SIGNATURE_MAX_CHARS = len(SIGNATURE_PREFIX) + (SIGNATURE_MAX_BYTES + 2) // 3 * 4


def decode_signature(data_url: str) -> ContentFile:
    """The PNG a signature pad drew, from its ``data:image/png;base64,…`` URL (pages and API)."""
    data_url = "".join(data_url.split())
    if len(data_url) > SIGNATURE_MAX_CHARS:
        raise ValidationError("签字图片过大，请清除后重新签字。")
    if not data_url.startswith(SIGNATURE_PREFIX):
        raise ValidationError("签字应为 PNG 图片（data:image/png;base64,…），请清除后重新签字。")
    try:
        data = base64.b64decode(data_url[len(SIGNATURE_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("签字数据无法解码，请清除后重新签字。") from exc
    return ContentFile(data, name="signature.png")


def _signature_is_blank(image: Image.Image) -> bool:
    canvas = Image.new("RGBA", image.size, "white")
    canvas.alpha_composite(image.convert("RGBA"))
    inverted = Image.eval(canvas.convert("L"), lambda v: 255 if v < 200 else 0)
    return inverted.getbbox() is None


# A drawn signature is a PNG of the signature pad (CSS size × device pixel ratio ≤ 2, about
# 1600×500 on a wide screen); a paper consent form is a phone photo. Both are checked from
# the header before decoding, and what is stored is re-encoded: PNG for a drawn signature,
# JPEG (longest side ≤ 4096) for a photographed form.
SIGNATURE_MAX_PIXELS = 4_000_000
SIGNATURE_MAX_SIDE = 4000


def _clean_consent_image(data: bytes, method: str, name: str) -> tuple[bytes, str]:
    """The bytes to store and "" — or the original bytes and what is wrong with them."""
    screen = method == ConsentMethod.SCREEN
    try:
        if screen:
            image = open_image(
                data, formats=("PNG",), max_pixels=SIGNATURE_MAX_PIXELS, max_side=SIGNATURE_MAX_SIDE
            )
        else:
            image = open_image(data, formats=PHOTO_FORMATS, max_pixels=PHOTO_MAX_PIXELS)
    except BadImage as exc:
        if exc.reason == BadImage.TOO_LARGE:
            return data, exc.message(name, "签字图片" if screen else "签字纸质件照片")
        if exc.reason == BadImage.FORMAT:
            return data, "签字图片格式不对：屏幕签字须为 PNG，纸质件照片须为 JPEG、PNG 或 WebP。"
        return data, "签字图片无法识别。"
    with image:
        if screen and _signature_is_blank(image):
            return data, "签字区为空白，请户主在屏幕上签字。"
        if screen:
            return reencode(image, format="PNG", max_side=SIGNATURE_MAX_SIDE), ""
        return reencode(image, format="JPEG", max_side=PHOTO_STORED_MAX_SIDE), ""


def _clean_consent(consent: ConsentInput | None, entry, *, today) -> tuple[ConsentInput, bytes]:
    if consent is None:
        raise ValidationError(
            {"consent": "销号前须有户主签字：请户主在屏幕上签字，或上传签字纸质件照片。"}
        )
    errors = {}
    if consent.method not in ConsentMethod.values:
        errors["method"] = "请选择签字方式。"
    name = (consent.signer_name or "").strip()
    if not name:
        errors["signer_name"] = "请填写签字人姓名。"
    elif len(name) > 50:
        errors["signer_name"] = "签字人姓名不能超过 50 字。"
    if not isinstance(consent.signed_on, datetime.date):
        errors["signed_on"] = "请填写签字日期。"
    elif consent.signed_on > today:
        errors["signed_on"] = "签字日期不能晚于今天。"
    elif consent.signed_on < timezone.localtime(entry.created_at).date():
        errors["signed_on"] = "签字日期不能早于问题登记日期。"
    data = b""
    if consent.image is None:
        errors["image"] = (
            "请户主在屏幕上签字。"
            if consent.method == ConsentMethod.SCREEN
            else "请上传签字纸质件照片。"
        )
    else:
        data = consent.image.read()
        if len(data) > (
            SIGNATURE_MAX_BYTES if consent.method == ConsentMethod.SCREEN else 10 * 1024 * 1024
        ):
            errors["image"] = "签字图片过大。"
        else:
            file_name = getattr(consent.image, "name", None) or "签字图片"
            data, problem = _clean_consent_image(data, consent.method, file_name)
            if problem:
                errors["image"] = problem
    if errors:
        raise ValidationError(errors)
    consent.signer_name = name
    return consent, data


def _distance(entry, lat, lon) -> int | None:
    toilet = entry.toilet
    if lat is None or toilet.latitude is None or toilet.longitude is None:
        return None
    return round(distance_metres(lat, lon, toilet.latitude, toilet.longitude))


def transition(
    *,
    actor,
    entry: LedgerEntry,
    action: str,
    expected_version: int | None = None,
    note: str = "",
    plan: dict | None = None,
    photos=(),
    location=None,
    checklist: dict | None = None,
    consent: ConsentInput | None = None,
) -> LedgerEntry:
    """Make one move of the close-out workflow, or refuse it with nothing written.

    Refusals: PermissionDenied (role or region), ConflictError (not in a state the move starts
    from, or changed by someone else since ``expected_version``), ValidationError (the move's
    evidence is missing or wrong: plan, photos, checklist, consent, reason).
    """
    move = TRANSITIONS.get(action)
    if move is None:
        raise ValidationError({"action": f"未知操作“{action}”。"})
    if not has_capability(actor, move.capability):
        raise PermissionDenied(f"您的角色不能执行“{move.label}”。")
    try:
        current = LedgerEntry.objects.visible_to(actor).select_related("toilet").get(pk=entry.pk)
    except LedgerEntry.DoesNotExist as exc:
        raise PermissionDenied("该问题台账不在您的管辖范围内。") from exc
    if current.state not in move.sources:
        raise ConflictError(
            f"该问题当前为“{current.get_state_display()}”，不能执行“{move.label}”。"
        )
    check_version(
        current.version, expected_version, "该问题台账刚刚被他人处理过，请刷新后查看最新状态。"
    )

    today = timezone.localdate()
    now = timezone.now()
    fields: dict = {}
    processed, lat, lon, consent_bytes, checks = [], None, None, b"", []
    if move.needs == "plan":
        fields.update(clean_plan(plan or {}, today=today))
        note = _clean_note(note, required=False, what="说明")
    elif move.needs == "photos":
        note = _clean_note(note, required=action == "quick_fix", what="整改情况说明")
        lat, lon = _clean_location(location)
        processed = _process_evidence(list(photos))
        if action == "quick_fix":
            fields.update(problem_class=ProblemClass.MINOR, deadline=today)
    elif move.needs == "checklist":
        checks = _clean_checklist(current, checklist)
        note = _clean_note(note, required=False, what="验收意见")
    elif move.needs == "consent":
        consent, consent_bytes = _clean_consent(consent, current, today=today)
        note = _clean_note(note, required=False, what="说明")
    elif move.needs == "reason":
        note = _clean_note(note, required=True, what=f"{move.label}原因")
    else:
        note = _clean_note(note, required=False, what="说明")

    to_state = move.target or current.state
    if to_state != current.state:
        fields["state_changed_at"] = now
        if to_state == LedgerState.CLOSED:  # not on review, which keeps the close-out time
            fields["closed_at"] = now
    if action == "review":
        fields.update(reviewed_by=actor, reviewed_at=now)
    if action == "reopen":
        fields.update(closed_at=None, reviewed_by=None, reviewed_at=None)

    stored: list = []
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    moved = update_if_unchanged(
                        LedgerEntry.objects.filter(pk=current.pk, state=current.state),
                        version=current.version,
                        state=to_state,
                        updated_at=now,
                        **fields,
                    )
            except IntegrityError as exc:  # reopening while a newer entry is open
                raise ConflictError(
                    "该厕所已有未销号的问题台账，不能重新打开本条；请在那一条中继续处理。"
                ) from exc
            if not moved:
                raise ConflictError("该问题台账刚刚被他人处理过，请刷新后查看最新状态。")
            log = _log(
                current,
                actor=actor,
                from_state=current.state,
                to_state=to_state,
                action=action,
                note=_log_note(move, note, fields, checks=checks, consent=consent),
            )
            for photo in processed:
                plat, plon = photo.latitude, photo.longitude
                source = LocationSource.EXIF if plat is not None else ""
                if plat is None and lat is not None:
                    plat, plon, source = lat, lon, LocationSource.BROWSER
                _store(
                    stored,
                    EvidencePhoto(
                        entry=current,
                        log=log,
                        kind=PhotoKind.AFTER,
                        image=photo.image,
                        thumbnail=photo.thumbnail,
                        sha256=photo.sha256,
                        taken_at=photo.taken_at or now,
                        latitude=plat,
                        longitude=plon,
                        location_source=source,
                        distance_m=_distance(current, plat, plon),
                        village_id=current.toilet.village_id,
                        uploaded_by=actor,
                    ),
                )
            AcceptanceCheck.objects.bulk_create(
                AcceptanceCheck(
                    entry=current,
                    log=log,
                    code=item.code,
                    standard=item.standard,
                    text=item.text,
                    passed=passed,
                )
                for item, passed in checks
            )
            if consent is not None and move.needs == "consent":
                digest = hashlib.sha256(consent_bytes).hexdigest()
                ext = "png" if consent.method == ConsentMethod.SCREEN else "jpg"
                _store(
                    stored,
                    Consent(
                        entry=current,
                        log=log,
                        method=consent.method,
                        signer_name=consent.signer_name,
                        signed_on=consent.signed_on,
                        image=ContentFile(consent_bytes, name=f"consent_{digest[:16]}.{ext}"),
                        sha256=digest,
                    ),
                )
    except Exception:
        for row in stored:  # rows roll back with the transaction; files would not
            for field in (row.image, getattr(row, "thumbnail", None)):
                if field and field._committed:  # written to storage (not still in memory)
                    field.delete(save=False)
        raise
    current.refresh_from_db()
    logger.info(
        "ledger entry %s: %s (%s -> %s) by %s", current.pk, action, log.from_state, to_state, actor
    )
    return current


def _store(stored: list, row):
    """Save an evidence row that carries files, listed first: a failed INSERT would leave
    behind the files its save() already wrote."""
    stored.append(row)
    row.save()
    return row


def _log_note(move: Transition, note: str, fields: dict, *, checks, consent) -> str:
    summary = ""
    if move.needs == "checklist":
        summary = f"验收 {len(checks)} 项全部合格"
    elif move.needs == "consent":
        method = ConsentMethod(consent.method).label
        summary = f"户主 {consent.signer_name} 签字同意销号（{method}，{consent.signed_on}）"
    if summary:
        return f"{summary}。{note}" if note else summary
    if move.needs == "plan":
        deadline = fields["deadline"].isoformat()
        summary = f"{ProblemClass(fields['problem_class']).label}，时限 {deadline}"
        if fields.get("target_year"):
            summary += f"，计划 {fields['target_year']} 年完成"
        summary += f"，责任人 {fields['responsible_person']}"
        return f"{summary}。{note}" if note else summary
    return note


# Bulk acceptance --------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    """One entry of a bulk acceptance: the checklist it was accepted against, the version the
    user looked at, the acceptance note."""

    entry: LedgerEntry
    checklist: dict | None
    expected_version: int | None = None
    note: str = ""


class _RollBack(Exception):
    """Raised inside the bulk transaction so that one failed entry undoes them all."""


def accept_many(*, actor, acceptances: list[Acceptance], dry_run: bool = False) -> dict[int, str]:
    """Accept several rectified entries in one transaction, each against its own checklist
    (``transition(action="accept")``): all of them or none.

    Every acceptance is tried, so each entry that cannot be accepted is reported, not just the
    first: the answer maps such an entry's pk to why, in words the user can act on, and is
    empty when all were accepted. With any refusal nothing is written, no entry and no log row.
    ``dry_run`` tries them all and writes nothing either way, for a caller that already knows
    the batch cannot go through (an entry it could not even offer) but shows every reason.
    """
    refused: dict[int, str] = {}
    try:
        with transaction.atomic():
            for acceptance in acceptances:
                problem = _accept_one(actor, acceptance)
                if problem:
                    refused[acceptance.entry.pk] = problem
            if refused or dry_run:
                raise _RollBack
    except _RollBack:
        pass
    return refused


def _accept_one(actor, acceptance: Acceptance) -> str:
    """Accept one entry; the reason it was refused, or '' on success."""
    try:
        transition(
            actor=actor,
            entry=acceptance.entry,
            action="accept",
            expected_version=acceptance.expected_version,
            note=acceptance.note,
            checklist=acceptance.checklist,
        )
    except ValidationError as error:
        return "；".join(error.messages)
    except ConflictError as exc:
        return exc.message
    except PermissionDenied as exc:
        return str(exc) or "无权验收该问题。"
    return ""

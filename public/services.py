"""Writes of the public side. The public's own filings take no actor; every township step
takes ``actor=``, checks capability and region, moves the lead with a conditional UPDATE (two
clicks or two users: one wins), writes an immutable log row, and is atomic."""

import hashlib
import logging
import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.concurrency import update_if_unchanged
from core.errors import ConflictError
from core.uploads import BadImage, open_image, reencode
from rectification import services as ledger
from rectification.models import LedgerEntry
from regions.choices import MANAGE_SEAL, PLAN_ACCEPT, Level
from regions.models import Region
from regions.scoping import has_capability, scope_of
from surveys.models import ProblemCategory
from toilets.models import Toilet

from .choices import (
    CATEGORIES_OF,
    LOOKUP_CODE_LENGTH,
    PLATE_NUMBER_LENGTH,
    LeadCategory,
    LeadKind,
)
from .choices import LeadState as S
from .models import Lead, LeadLog, Plate, Posting, ServiceContact, new_token, random_code

logger = logging.getLogger(__name__)

DESCRIPTION_MAX = 500
NOTE_MAX = 300
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_STORED_MAX_SIDE = 1600
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_PHONE = re.compile(r"^[0-9][0-9-]{5,18}[0-9]$")
_CODE_TRIES = 5


# Who may do what -------------------------------------------------------------------------


def can_handle_leads(user) -> bool:
    """The township's staff answer leads, make and revoke plates and draw up 公示."""
    return has_capability(user, PLAN_ACCEPT)


def can_edit_contact(user, township) -> bool:
    return (
        has_capability(user, MANAGE_SEAL)
        and Region.objects.visible_to(user).filter(pk=township.pk).exists()
    )


def _require(actor, allowed: bool, message: str):
    if not allowed:
        raise PermissionDenied(message)


def _clean_phone(value: str, field: str, *, required: bool) -> str:
    value = (value or "").strip().replace(" ", "")
    if not value:
        if required:
            raise ValidationError({field: "请填写电话号码。"})
        return ""
    if not _PHONE.match(value):
        raise ValidationError({field: "电话号码只能包含数字和“-”，7–20 位。"})
    return value


def _clean_text(value: str, field: str, what: str, *, limit: int = NOTE_MAX, required=True):
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: f"请填写{what}。"})
    if len(value) > limit:
        raise ValidationError({field: f"{what}不能超过 {limit} 字。"})
    return value


def clean_photo(upload, field: str = "photo") -> ContentFile | None:
    """An uploaded photo checked (size first, then format and pixels through ``open_image``)
    and re-encoded without any metadata (a sender's GPS position is never kept)."""
    if not upload:
        return None
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(
            {field: f"照片超过 {PHOTO_MAX_BYTES // (1024 * 1024)} MB，请压缩后再上传。"}
        )
    data = upload.read(PHOTO_MAX_BYTES + 1)
    try:
        image = open_image(data, formats=PHOTO_FORMATS, max_pixels=PHOTO_MAX_PIXELS, verify=True)
    except BadImage as exc:
        raise ValidationError({field: exc.message("照片", "照片")}) from exc
    with image:
        stored = reencode(image, format="JPEG", max_side=PHOTO_STORED_MAX_SIDE)
    digest = hashlib.sha256(stored).hexdigest()
    return ContentFile(stored, name=f"{digest[:20]}.jpg")


# Service contacts --------------------------------------------------------------------------


def save_contact(*, actor, township, service_phone: str, complaint_phone: str) -> ServiceContact:
    _require(actor, can_edit_contact(actor, township), "您不能修改该乡镇的服务电话。")
    if township.level != Level.TOWNSHIP:
        raise ValidationError({"township": "服务电话按乡镇设置。"})
    values = {
        "service_phone": _clean_phone(service_phone, "service_phone", required=True),
        "complaint_phone": _clean_phone(complaint_phone, "complaint_phone", required=False),
        "updated_by": actor,
    }
    with transaction.atomic():
        contact, _ = ServiceContact.objects.update_or_create(township=township, defaults=values)
    logger.info("service contact of %s set by %s", township.code, actor)
    return contact


def contact_for(village) -> ServiceContact | None:
    return ServiceContact.objects.filter(township__code=village.code[:9] + "000").first()


# Plates ------------------------------------------------------------------------------------


def _visible_toilet(actor, toilet) -> Toilet:
    try:
        return Toilet.objects.visible_to(actor).select_for_update().get(pk=toilet.pk)
    except Toilet.DoesNotExist as exc:
        raise PermissionDenied("该厕所不在您的管辖范围内。") from exc


def _new_plate(actor, toilet) -> Plate:
    for attempt in range(_CODE_TRIES):
        try:
            with transaction.atomic():
                return Plate.objects.create(
                    toilet=toilet,
                    number=random_code(PLATE_NUMBER_LENGTH),
                    token=new_token(),
                    issued_by=actor,
                )
        except IntegrityError:
            if Plate.objects.filter(toilet=toilet, revoked_at__isnull=True).exists():
                raise ConflictError("该厕所已有在用的标识牌。") from None
            if attempt == _CODE_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def issue_plate(*, actor, toilet) -> Plate:
    """The toilet's plate in force, made now if it has none."""
    _require(actor, can_handle_leads(actor), "您的角色不能制作标识牌。")
    with transaction.atomic():
        toilet = _visible_toilet(actor, toilet)
        plate = Plate.objects.active().filter(toilet=toilet).first()
        if plate is None:
            plate = _new_plate(actor, toilet)
            logger.info("plate %s issued for toilet %s by %s", plate.pk, toilet.pk, actor)
    return plate


def issue_village_plates(*, actor, village) -> int:
    """A plate for every toilet in use of ``village`` that has none; how many were made."""
    _require(actor, can_handle_leads(actor), "您的角色不能制作标识牌。")
    toilets = (
        Toilet.objects.visible_to(actor)
        .active()
        .filter(village=village)
        .exclude(Exists(Plate.objects.active().filter(toilet=OuterRef("pk"))))
        .order_by("pk")
    )
    made = 0
    with transaction.atomic():
        for toilet in toilets.select_for_update():
            try:
                _new_plate(actor, toilet)
            except ConflictError:
                continue  # a concurrent request (a double click) made its plate first
            made += 1
    logger.info("%s plates issued in village %s by %s", made, village.code, actor)
    return made


def reissue_plate(*, actor, plate, reason: str) -> Plate:
    """Revoke ``plate`` (its QR code then answers 404) and issue a new one for its toilet."""
    _require(actor, can_handle_leads(actor), "您的角色不能作废标识牌。")
    reason = _clean_text(reason, "reason", "作废原因", limit=100)
    with transaction.atomic():
        toilet = _visible_toilet(actor, plate.toilet)
        revoked = Plate.objects.filter(pk=plate.pk, toilet=toilet, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor, revoke_reason=reason
        )
        if not revoked:
            raise ConflictError("该标识牌已作废，请刷新后查看。")
        fresh = _new_plate(actor, toilet)
    logger.info("plate %s revoked, %s issued, by %s", plate.pk, fresh.pk, actor)
    return fresh


# Filing (the public) ------------------------------------------------------------------------


@dataclass
class Filing:
    kind: str
    category: str
    description: str
    phone: str = ""
    photo: object = None


def _clean_filing(filing: Filing) -> tuple[dict, ContentFile | None]:
    errors = {}
    if filing.kind not in LeadKind.values:
        errors["kind"] = "请选择反映问题或申请维修。"
    elif filing.category not in CATEGORIES_OF[LeadKind(filing.kind)]:
        errors["category"] = "请选择类别。"
    values = {"kind": filing.kind, "category": filing.category}
    for field, run in (
        ("description", lambda: _clean_text(
            filing.description, "description", "情况描述", limit=DESCRIPTION_MAX
        )),
        ("phone", lambda: _clean_phone(filing.phone, "phone", required=False)),
    ):  # fmt: skip
        try:
            values[field] = run()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    photo = None
    try:
        photo = clean_photo(filing.photo)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return values, photo


def _create_lead(values: dict, photo, **where) -> Lead:
    for attempt in range(_CODE_TRIES):
        try:
            with transaction.atomic():
                lead = Lead(code=random_code(LOOKUP_CODE_LENGTH), **values, **where)
                if photo is not None:
                    lead.photo.save(photo.name, photo, save=False)
                lead.save()
                LeadLog.objects.create(lead=lead, action="file", to_state=S.NEW)
                return lead
        except IntegrityError:
            if lead.photo:
                lead.photo.delete(save=False)
            if attempt == _CODE_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def file_lead(*, plate: Plate, filing: Filing) -> Lead:
    """A report or maintenance request sent from ``plate``'s public page."""
    values, photo = _clean_filing(filing)
    if values["category"] == LeadCategory.OBJECTION:
        raise ValidationError({"category": "请选择类别。"})
    if plate.revoked_at is not None:
        raise ConflictError("该标识牌已作废。")
    lead = _create_lead(
        values, photo, plate=plate, toilet=plate.toilet, village_id=plate.toilet.village_id
    )
    logger.info("lead %s filed from plate %s", lead.pk, plate.pk)
    return lead


def file_objection(*, posting: Posting, filing: Filing) -> Lead:
    """An objection to a 受益户公示, while it is posted."""
    filing.kind, filing.category = LeadKind.REPORT, LeadCategory.OBJECTION
    values, photo = _clean_filing(filing)
    if not posting.is_open():
        raise ValidationError({"__all__": "公示期已结束，如有问题请拨打举报电话。"})
    lead = _create_lead(values, photo, posting=posting, village_id=posting.village_id)
    logger.info("objection %s filed on posting %s", lead.pk, posting.pk)
    return lead


# The township's steps ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    action: str
    label: str
    kind: str
    sources: tuple[str, ...]
    target: str


STEPS = {
    s.action: s
    for s in [
        Step("convert", "登记整改台账", LeadKind.REPORT, (S.NEW,), S.CONVERTED),
        Step("merge", "并入在办台账", LeadKind.REPORT, (S.NEW,), S.MERGED),
        Step("close", "答复办结", LeadKind.REPORT, (S.NEW,), S.CLOSED),
        Step("assign", "派单", LeadKind.MAINTENANCE, (S.NEW, S.ASSIGNED), S.ASSIGNED),
        Step("done", "办结", LeadKind.MAINTENANCE, (S.ASSIGNED,), S.DONE),
        Step("refuse", "不予受理", LeadKind.MAINTENANCE, (S.NEW, S.ASSIGNED), S.REFUSED),
    ]
}
ACTION_LABELS = {"file": "群众提交", **{a: s.label for a, s in STEPS.items()}}

DEFAULT_ANSWERS = {
    "convert": "经核实，已列入问题厕所整改台账，将按整改流程处理，整改进度可用本查询码查看。",
    "merge": "该厕所的问题已在整改台账中，您反映的情况已一并处理，整改进度可用本查询码查看。",
}


def available_steps(actor, lead) -> list[Step]:
    if (
        not can_handle_leads(actor)
        or not Lead.objects.visible_to(actor).filter(pk=lead.pk).exists()
    ):
        return []
    steps = [s for s in STEPS.values() if s.kind == lead.kind and lead.state in s.sources]
    if lead.toilet_id is None:  # an objection to a 公示: answered only
        steps = [s for s in steps if s.action not in ("convert", "merge")]
    return steps


def open_entry_of(actor, lead) -> LedgerEntry | None:
    if lead.toilet_id is None:
        return None
    return LedgerEntry.objects.visible_to(actor).filter(toilet_id=lead.toilet_id).open().first()


def act(
    *,
    actor,
    lead: Lead,
    action: str,
    expected_version: int | None = None,
    answer: str = "",
    note: str = "",
    assignee: str = "",
    usability: str = "",
    categories=(),
    photo=None,
) -> Lead:
    """Take one step on ``lead`` or refuse it with nothing written: PermissionDenied (role or
    region), ConflictError (wrong state, or someone else acted first), ValidationError."""
    step = STEPS.get(action)
    if step is None:
        raise ValidationError({"action": f"未知操作“{action}”。"})
    _require(actor, can_handle_leads(actor), "您的角色不能处理线索。")
    try:
        current = Lead.objects.visible_to(actor).select_related("toilet").get(pk=lead.pk)
    except Lead.DoesNotExist as exc:
        raise PermissionDenied("该线索不在您的管辖范围内。") from exc
    if step.kind != current.kind or current.state not in step.sources:
        raise ConflictError(
            f"该线索当前为“{current.get_state_display()}”，不能执行“{step.label}”。"
        )
    if expected_version is not None and expected_version != current.version:
        raise ConflictError("该线索刚刚被他人处理过，请刷新后查看最新状态。")

    now = timezone.now()
    changes: dict = {"state": step.target}
    stored_photo = None
    if action in ("convert", "merge"):
        if current.toilet_id is None:
            raise ValidationError({"__all__": "公示异议只能答复办结。"})
        answer = _clean_text(answer, "answer", "答复", required=False) or DEFAULT_ANSWERS[action]
    elif action == "close":
        answer = _clean_text(answer, "answer", "答复")
    elif action == "assign":
        assignee = _clean_text(assignee, "assignee", "承办人", limit=50)
        answer = _clean_text(answer, "answer", "答复", required=False) or (
            "已安排人员上门服务，请保持电话畅通。"
        )
        changes["assignee"] = assignee
        note = f"承办人：{assignee}"
    elif action == "done":
        note = _clean_text(note, "note", "办理情况")
        stored_photo = clean_photo(photo)
        if stored_photo is None:
            raise ValidationError({"photo": "请上传办结照片。"})
        answer = _clean_text(answer, "answer", "答复", required=False) or "已办结。"
    elif action == "refuse":
        answer = _clean_text(answer, "answer", "不予受理的原因")
    changes["answer"] = answer
    if step.target != S.ASSIGNED:
        changes["answered_at"] = now
    if not note:
        note = answer

    with transaction.atomic():
        if action == "convert":
            entry = ledger.open_from_report(
                actor=actor,
                toilet=current.toilet,
                usability=usability,
                categories=ProblemCategory.objects.filter(pk__in=list(categories)),
                note=f"查询码 {current.code}，{current.get_category_display()}："
                f"{current.description[:200]}",
            )
            changes["ledger_entry"] = entry
        elif action == "merge":
            entry = open_entry_of(actor, current)
            if entry is None:
                raise ConflictError("该厕所没有在办的整改台账，请选择“登记整改台账”。")
            ledger.note_report(
                actor=actor,
                entry=entry,
                note=f"查询码 {current.code}，{current.get_category_display()}："
                f"{current.description[:200]}",
            )
            changes["ledger_entry"] = entry
        moved = update_if_unchanged(
            Lead.objects.filter(pk=current.pk, state=current.state),
            version=current.version,
            **changes,
        )
        if not moved:
            raise ConflictError("该线索刚刚被他人处理过，请刷新后查看最新状态。")
        log = LeadLog(
            lead=current,
            actor=actor,
            action=action,
            from_state=current.state,
            to_state=step.target,
            note=note[:NOTE_MAX],
        )
        if stored_photo is not None:
            log.photo.save(stored_photo.name, stored_photo, save=False)
        try:
            log.save()
        except Exception:
            if log.photo:
                log.photo.delete(save=False)
            raise
    current.refresh_from_db()
    logger.info("lead %s: %s by %s", current.pk, action, actor)
    return current


# 受益户公示 ----------------------------------------------------------------------------------


def draw_up_posting(
    *, actor, village, year: int, starts_on, ends_on, complaint_phone=""
) -> Posting:
    """The village's 公示 for ``year``, its list frozen now (see ``queries.beneficiaries``)."""
    from .queries import beneficiaries

    _require(actor, can_handle_leads(actor), "您的角色不能制作受益户公示。")
    if not Region.objects.visible_to(actor).filter(pk=village.pk, level=Level.VILLAGE).exists():
        raise PermissionDenied("该村不在您的管辖范围内。")
    errors = {}
    this_year = timezone.localdate().year
    if not 2013 <= year <= this_year:
        errors["year"] = f"年度应在 2013–{this_year} 年之间。"
    if starts_on is None or ends_on is None:
        errors["starts_on"] = "请填写公示起止日期。"
    elif ends_on < starts_on:
        errors["ends_on"] = "公示结束日期不能早于开始日期。"
    elif (ends_on - starts_on).days + 1 < 7:
        errors["ends_on"] = "公示期不少于 7 天。"
    try:
        contact = contact_for(village)
        phone = _clean_phone(
            complaint_phone or (contact.complaint_phone if contact else ""),
            "complaint_phone",
            required=True,
        )
    except ValidationError as exc:
        errors.update({"complaint_phone": "请填写举报电话（或在服务电话设置中填写）。"})
        phone = ""
        del exc
    if errors:
        raise ValidationError(errors)
    rows = beneficiaries(actor, village, year)
    with transaction.atomic():
        posting, created = Posting.objects.select_for_update().get_or_create(
            village=village,
            year=year,
            defaults={
                "rows": rows,
                "complaint_phone": phone,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "created_by": actor,
            },
        )
        if not created:
            if posting.posted_on is not None:
                raise ConflictError("该公示已张贴，不能再修改。")
            if Lead.objects.filter(posting=posting).exists():
                # The public has objected to this list: it stays as they saw it.
                raise ConflictError("该公示已收到群众异议，不能再重新生成名单。")
            posting.rows, posting.complaint_phone = rows, phone
            posting.starts_on, posting.ends_on = starts_on, ends_on
            posting.save(update_fields=["rows", "complaint_phone", "starts_on", "ends_on"])
    logger.info("posting %s drawn up by %s", posting.pk, actor)
    return posting


def record_posted(*, actor, posting: Posting, posted_on, photo) -> Posting:
    """The township posted the list: the date and a photo of it on the notice board."""
    _require(actor, can_handle_leads(actor), "您的角色不能登记公示张贴。")
    errors = {}
    if posted_on is None:
        errors["posted_on"] = "请填写张贴日期。"
    elif posted_on > timezone.localdate():
        errors["posted_on"] = "张贴日期不能晚于今天。"
    try:
        stored = clean_photo(photo)
        if stored is None:
            errors["photo"] = "请上传张贴现场照片。"
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            current = Posting.objects.visible_to(actor).select_for_update().get(pk=posting.pk)
        except Posting.DoesNotExist as exc:
            raise PermissionDenied("该公示不在您的管辖范围内。") from exc
        if current.posted_on is not None:
            raise ConflictError("该公示已登记张贴。")
        current.posted_on, current.posted_by = posted_on, actor
        current.posted_photo.save(stored.name, stored, save=False)
        try:
            current.save(update_fields=["posted_on", "posted_by", "posted_photo"])
        except Exception:
            current.posted_photo.delete(save=False)
            raise
    return current


def township_of(user):
    scope = scope_of(user)
    if scope is None or scope.region is None or scope.region.level != Level.TOWNSHIP:
        return None
    return scope.region

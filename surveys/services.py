"""Writes of the survey app: rounds, inspections and their verification.

Each function takes ``actor=``, checks role, region and state, is atomic, and logs. A state
change is a conditional UPDATE (``WHERE status = old``) so that two clicks or two users cannot
both win.
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.concurrency import check_version, lock_version, update_if_unchanged
from core.errors import ConflictError
from core.geo import FAR_METRES, distance_metres
from core.users import display_name
from regions.choices import INSPECT, MANAGE_ROUNDS, VERIFY
from regions.guards import require
from toilets.choices import ToiletStatus
from toilets.models import Toilet

from .choices import PHOTO_MAX_PER_INSPECTION, PROBLEM_USABILITY, InspectionStatus, RoundStatus
from .flags import refresh_flags
from .hooks import inspection_saved
from .models import (
    CorrectionPhoto,
    CorrectionRequest,
    CorrectionStatus,
    FlagKind,
    Inspection,
    InspectionFlag,
    InspectionPhoto,
    SurveyRound,
    SyncOutcome,
    SyncReceipt,
)
from .photos import process_photos

logger = logging.getLogger(__name__)

# Rural toilet surveys began long after this: an earlier date is a typing error (and times
# that old carry the zone's local-mean-time offset, which no client can read back).
EARLIEST_INSPECTION_YEAR = 2000


# Rounds ---------------------------------------------------------------------------------


@transaction.atomic
def create_round(*, actor, survey_round: SurveyRound) -> SurveyRound:
    require(actor, MANAGE_ROUNDS, "只有县级管理员可以组织摸排轮次。")
    if (
        not type(survey_round.county)
        .objects.visible_to(actor)
        .filter(pk=survey_round.county_id)
        .exists()
    ):
        raise PermissionDenied("只能为本县组织摸排轮次。")
    survey_round.created_by = actor
    survey_round.status = RoundStatus.DRAFT
    survey_round.full_clean()
    survey_round.save()
    logger.info("round %s created by %s", survey_round.pk, actor)
    return survey_round


def _move_round(*, actor, survey_round, from_status, to_status, stamp_field):
    require(actor, MANAGE_ROUNDS, "只有县级管理员可以开启或结束摸排轮次。")
    if not SurveyRound.objects.visible_to(actor).filter(pk=survey_round.pk).exists():
        raise PermissionDenied("不是本县的摸排轮次。")
    try:
        with transaction.atomic():
            moved = SurveyRound.objects.filter(pk=survey_round.pk, status=from_status).update(
                status=to_status, **{stamp_field: timezone.now()}
            )
    except IntegrityError as exc:
        raise ConflictError("本县已有进行中的摸排轮次，请先结束它。") from exc
    if not moved:
        current = SurveyRound.objects.get(pk=survey_round.pk)
        raise ConflictError(f"该轮次当前状态为“{current.get_status_display()}”，不能执行此操作。")
    survey_round.refresh_from_db()
    logger.info("round %s %s -> %s by %s", survey_round.pk, from_status, to_status, actor)
    return survey_round


def open_round(*, actor, survey_round):
    return _move_round(
        actor=actor,
        survey_round=survey_round,
        from_status=RoundStatus.DRAFT,
        to_status=RoundStatus.OPEN,
        stamp_field="opened_at",
    )


def close_round(*, actor, survey_round):
    return _move_round(
        actor=actor,
        survey_round=survey_round,
        from_status=RoundStatus.OPEN,
        to_status=RoundStatus.CLOSED,
        stamp_field="closed_at",
    )


# Inspections ----------------------------------------------------------------------------


def lock_inspections_of(*, toilet_ids) -> None:
    """``toilets.hooks.toilets_moving``: the moving toilets' inspections locked (in pk order)
    before the move writes anything, as its trigger rewrites their village: an edit, a photo
    or a verification of one of them then waits for the move instead of deadlocking with it
    on the villages' version rows."""
    list(
        Inspection.objects.filter(toilet_id__in=toilet_ids)
        .order_by("pk")
        .select_for_update(no_key=True, of=("self",))
        .values_list("pk", flat=True)
    )


def _check_inspection(inspection: Inspection, categories) -> None:
    errors = {}
    if not inspection.signed:
        errors["signed"] = "请勾选“本人对摸排结果真实性负责”后再保存。"
    if inspection.usability in PROBLEM_USABILITY and not categories:
        errors["categories"] = "不能使用或不能全年使用的厕所，请至少选择一项问题类型。"
    if inspection.usability not in PROBLEM_USABILITY and categories:
        errors["categories"] = "正常使用的厕所不选问题类型；当场修好的小毛病请填在“立行立改”。"
    if not inspection.partner_name.strip():
        errors["partner_name"] = "入户调查组不少于 2 人，请填写同组摸排人。"
    if inspection.inspected_at and inspection.inspected_at > timezone.now():
        errors["inspected_at"] = "摸排时间不能晚于现在。"
    elif inspection.inspected_at and inspection.inspected_at.year < EARLIEST_INSPECTION_YEAR:
        errors["inspected_at"] = f"摸排时间不能早于 {EARLIEST_INSPECTION_YEAR} 年，请检查日期。"
    if errors:
        raise ValidationError(errors)


def _evidence_problem(inspection: Inspection, processed) -> str | None:
    """Why this save needs the surveyor's confirmed reason (None when it does not): a problem
    toilet with no photo at all, or a new photo taken far from the toilet's position."""
    toilet = inspection.toilet
    if toilet.latitude is not None and toilet.longitude is not None:
        distances = [
            distance_metres(p.latitude, p.longitude, toilet.latitude, toilet.longitude)
            for p in processed
            if p.latitude is not None and p.longitude is not None
        ]
        worst = max(distances, default=0)
        if worst > FAR_METRES:
            return (
                f"照片拍摄位置距厕所约 {round(worst)} 米，超过 {FAR_METRES} 米；"
                "请补拍，或填写原因后再保存。"
            )
    if inspection.usability in PROBLEM_USABILITY:
        existing = inspection.photos.count() if inspection.pk else 0
        if existing + len(processed) == 0:
            return "问题厕所没有现场照片；请补拍，或填写原因后再保存。"
    return None


def _guard_inspection(actor, inspection: Inspection) -> None:
    """Who may record this toilet in this round: a surveyor of its village, the round open and
    the toilet's county's, the toilet in use."""
    require(actor, INSPECT, "只有村级摸排员可以录入摸排结果。")
    toilet = inspection.toilet
    if not Toilet.objects.visible_to(actor).filter(pk=toilet.pk).exists():
        raise PermissionDenied("该厕所不在您负责的村。")
    survey_round = inspection.round
    if survey_round.status != RoundStatus.OPEN:
        raise ValidationError("该摸排轮次未开启或已结束，不能录入。")
    if toilet.village.code[:6] != survey_round.county.code[:6]:
        raise PermissionDenied("该厕所不属于本轮摸排的县（区）。")
    if toilet.status != ToiletStatus.ACTIVE:
        raise ValidationError("该厕所已登记为拆除，不能摸排；如有误请先修改厕所状态。")


def _validate(inspection: Inspection, categories, photos, *, confirm_evidence: bool) -> list:
    """Every check of the record and its photos at once (so the user sees everything to fix),
    before anything is written; the photos processed (EXIF read) on success."""
    errors: dict[str, list] = {}

    def collect(error: ValidationError):
        for key, messages in error.message_dict.items():
            errors.setdefault(key, []).extend(messages)

    try:
        _check_inspection(inspection, categories)
    except ValidationError as error:
        collect(error)
    processed = None
    try:
        processed = _process_photos(photos)
    except ValidationError as error:
        collect(error)
    inspection.evidence_reason = (inspection.evidence_reason or "").strip()
    if confirm_evidence and processed is not None and not inspection.evidence_reason:
        problem = _evidence_problem(inspection, processed)
        if problem:
            errors.setdefault("evidence_reason", []).append(problem)
    if errors:
        raise ValidationError(errors)
    return processed


# Public for the offline sync, which lists these with the form's errors in one answer.
check_inspection = _check_inspection


@transaction.atomic
def save_inspection(
    *,
    actor,
    inspection: Inspection,
    categories,
    photos=(),
    expected_version: int | None = None,
    confirm_evidence: bool = False,
) -> Inspection:
    """Create or correct one inspection, with its photos, and keep the ledger in step.

    1. Guards: the actor inspects (surveyor), the toilet is in the actor's village and in use,
       the round is open and the toilet's county's, and a verified inspection is final.
    2. Validation: sign-off, categories iff a problem toilet, the second team member; with
       ``confirm_evidence`` (the page and the offline sync) a problem toilet without any photo,
       or a new photo further than ``FAR_METRES`` from the toilet, needs ``evidence_reason``.
    3. Save (version-checked for an edit; one per toilet per round for a new one), photos.
    4. The toilet's open ledger entry follows the finding; office-made flags are refreshed.
    """
    _guard_inspection(actor, inspection)
    categories = list(categories)
    # Every photo is checked (and its EXIF read) before anything is written, so a bad one
    # refuses the whole save without leaving files behind.
    processed = _validate(inspection, categories, photos, confirm_evidence=confirm_evidence)

    inspection._history_user = actor  # the edit log names whoever saved, not only the creator
    created = inspection.pk is None
    if created:
        inspection.surveyor = actor
        try:
            with transaction.atomic():
                inspection.save()
        except IntegrityError as exc:
            raise ConflictError(
                "该厕所本轮已有摸排记录（可能同组其他人刚刚录入），请刷新后查看。"
            ) from exc
    else:
        version, status = lock_version(Inspection.objects, inspection.pk, "status")
        if status == InspectionStatus.VERIFIED:
            raise ConflictError("该记录已经乡镇核查，不能再修改。")
        check_version(version, expected_version)
        inspection.version = version + 1
        inspection.status = InspectionStatus.SUBMITTED
        inspection.return_reason = ""
        inspection.save()
    if not created:
        inspection.categories.set(categories)
    elif categories:  # a new record has none to replace: no read of the current ones
        inspection.categories.add(*categories)

    _store_photos(actor=actor, inspection=inspection, processed=processed)
    inspection_saved.send(actor=actor, inspection=inspection)
    refresh_flags(inspection)
    logger.info("inspection %s saved by %s (v%s)", inspection.pk, actor, inspection.version)
    return inspection


def _process_photos(photos) -> list:
    if len(photos) > PHOTO_MAX_PER_INSPECTION:
        raise ValidationError({"photos": f"每条记录最多 {PHOTO_MAX_PER_INSPECTION} 张照片。"})
    return process_photos(photos)


def _store_photos(*, actor, inspection, processed):
    if not processed:
        return  # nothing to add (every write below keeps the count within the limit)
    if inspection.photos.count() + len(processed) > PHOTO_MAX_PER_INSPECTION:
        raise ValidationError({"photos": f"每条记录最多 {PHOTO_MAX_PER_INSPECTION} 张照片。"})
    _create_photo_rows(InspectionPhoto, processed, inspection=inspection, uploaded_by=actor)


def _create_photo_rows(model, processed, **owner):
    """One row per processed photo; on failure the files written so far are removed (the rows
    roll back with the transaction; the files would not)."""
    stored = []
    try:
        for photo in processed:
            stored.append(
                model.objects.create(
                    image=photo.image,
                    thumbnail=photo.thumbnail,
                    sha256=photo.sha256,
                    taken_at=photo.taken_at,
                    latitude=photo.latitude,
                    longitude=photo.longitude,
                    **owner,
                )
            )
    except Exception:
        for row in stored:
            row.image.delete(save=False)
            row.thumbnail.delete(save=False)
        raise
    return stored


@transaction.atomic
def add_photos(*, actor, inspection, photos) -> Inspection:
    """Attach photos to an existing inspection (the API uploads them one request each)."""
    require(actor, INSPECT, "只有村级摸排员可以上传摸排照片。")
    if not Inspection.objects.visible_to(actor).filter(pk=inspection.pk).exists():
        raise PermissionDenied("该记录不在您负责的村。")
    current = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if current.status == InspectionStatus.VERIFIED:
        raise ConflictError("该记录已经乡镇核查，不能再修改。")
    if current.round.status != RoundStatus.OPEN:
        raise ValidationError("该摸排轮次未开启或已结束，不能录入。")
    _store_photos(actor=actor, inspection=current, processed=_process_photos(photos))
    # New evidence is a change of the record: back to the township, with a new version.
    current.status = InspectionStatus.SUBMITTED
    current.return_reason = ""
    current.version += 1
    current._history_user = actor
    current.save(update_fields=["status", "return_reason", "version", "updated_at"])
    refresh_flags(current)
    logger.info("%s photos added to inspection %s by %s", len(photos), current.pk, actor)
    return current


@transaction.atomic
def _move_inspection(*, actor, inspection, to_status, expected_version=None, **fields):
    """Move a submitted inspection on, only if it is still the version the reviewer saw."""
    require(actor, VERIFY, "只有乡镇审核员可以核查摸排记录。")
    if not Inspection.objects.visible_to(actor).filter(pk=inspection.pk).exists():
        raise PermissionDenied("该记录不在您的管辖范围内。")
    submitted = Inspection.objects.filter(pk=inspection.pk, status=InspectionStatus.SUBMITTED)
    with transaction.atomic():
        moved = update_if_unchanged(submitted, version=expected_version, status=to_status, **fields)
    if not moved:
        current = Inspection.objects.get(pk=inspection.pk)
        if current.status != InspectionStatus.SUBMITTED:
            raise ConflictError(f"该记录当前为“{current.get_status_display()}”，不能重复操作。")
        raise ConflictError("摸排员刚刚修改了这条记录，请查看最新内容后再核查。")
    inspection.refresh_from_db()
    inspection._history_user = actor
    inspection.save(
        update_fields=["status"]
    )  # same value: writes the history row naming the reviewer
    logger.info("inspection %s -> %s by %s", inspection.pk, to_status, actor)
    return inspection


def verify_inspection(*, actor, inspection, expected_version=None):
    return _move_inspection(
        actor=actor,
        inspection=inspection,
        to_status=InspectionStatus.VERIFIED,
        expected_version=expected_version,
        verified_by=actor,
        verified_at=timezone.now(),
    )


def return_inspection(*, actor, inspection, reason: str, expected_version=None):
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "请填写退回原因，摸排员据此更正。"})
    if len(reason) > 200:
        raise ValidationError({"reason": "退回原因不能超过 200 字。"})
    if inspection.round.status != RoundStatus.OPEN:
        raise ValidationError("本轮已结束，摸排员无法再更正，不能退回。")
    return _move_inspection(
        actor=actor,
        inspection=inspection,
        to_status=InspectionStatus.RETURNED,
        expected_version=expected_version,
        return_reason=reason,
    )


# Offline sync ------------------------------------------------------------------------------

# What a phone's queued record may say when it was refused with a conflict and sent again.
RESOLUTION_CORRECTION = "correction"
CONFLICT_RECORDED = "recorded"
CONFLICT_VERIFIED = "verified"

# The record fields an offline record carries onto the inspection (the rest are the server's).
RECORD_FIELDS = (
    "household_present", "check_method", "usability", "minor_fixes", "notes", "partner_name",
    "inspected_at", "signed", "evidence_reason", "device_latitude", "device_longitude",
    "device_accuracy",
)  # fmt: skip


@dataclass
class SyncResult:
    """What an offline record did: ``status`` is "stored", "already_stored", "conflict" or
    "correction_filed"; a conflict gives its ``reason`` ("recorded" or "verified") and a
    ``detail`` for the surveyor, with ``inspection`` the current record."""

    status: str
    inspection: Inspection
    reason: str = ""
    detail: str = ""
    correction: CorrectionRequest | None = None


class _Refused(Exception):
    """Leaves the sync's transaction (so its receipt is not kept) with a conflict answer."""

    def __init__(self, result: SyncResult):
        super().__init__(result.detail)
        self.result = result


def _local(when) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M") if when else ""


def last_saver(inspection: Inspection):
    """Whoever saved the inspection last (the edit log), else its surveyor."""
    latest = inspection.history.order_by("-history_date", "-history_id").first()
    if latest is not None and latest.history_user_id is not None:
        return latest.history_user
    return inspection.surveyor


def sync_receipt(*, actor, key) -> SyncResult | None:
    """The answer to a record this user has already sent with this key, if any."""
    receipt = (
        SyncReceipt.objects.filter(user=actor, key=key, inspection__isnull=False)
        .select_related("inspection")
        .first()
    )
    if receipt is None:
        return None
    return SyncResult("already_stored", receipt.inspection, correction=receipt.correction)


def sync_inspection(
    *,
    actor,
    key,
    inspection: Inspection,
    categories,
    photos=(),
    base_version: int | None,
    resolution: str = "",
    record: dict | None = None,
) -> SyncResult:
    """Store one record a phone queued offline, once per (user, key).

    ``inspection`` is a new, unsaved Inspection of the record's round and toilet holding the
    record's values. The key's receipt is written first, in the same transaction as what the
    record does: a concurrent duplicate waits for it and then answers "already_stored", and
    a refused or failed record leaves no receipt (it may be sent again with the same key).

    - No inspection of the toilet in the round yet: stored through ``save_inspection``.
    - One exists at the version the surveyor saw (``base_version``): stored as an edit.
    - One exists at another version (somebody recorded it meanwhile): a "recorded" conflict;
      with ``resolution="correction"`` the record is stored over the current version as an
      edit (back to the township) and, when the replaced record was somebody else's, the
      inspection is flagged OVERWROTE.
    - It is verified: a "verified" conflict; with ``resolution="correction"`` a pending
      correction request (with its photos) is filed for the township instead.
    """
    require(actor, INSPECT, "只有村级摸排员可以录入摸排结果。")
    done = sync_receipt(actor=actor, key=key)
    if done is not None:
        return done
    categories = list(categories)
    try:
        with transaction.atomic():
            receipt = SyncReceipt.objects.create(user=actor, key=key, outcome=SyncOutcome.STORED)
            result = _sync(
                actor=actor,
                inspection=inspection,
                categories=categories,
                photos=photos,
                base_version=base_version,
                resolution=resolution,
                record=record or {},
            )
            receipt.inspection = result.inspection
            receipt.correction = result.correction
            if result.status == "correction_filed":
                receipt.outcome = SyncOutcome.CORRECTION_FILED
            receipt.save(update_fields=["inspection", "correction", "outcome"])
    except _Refused as refused:
        return refused.result
    except IntegrityError:
        # The same key sent twice at once: the other request stored it.
        done = sync_receipt(actor=actor, key=key)
        if done is not None:
            return done
        raise
    logger.info(
        "offline record %s from %s: %s (inspection %s)",
        key,
        actor,
        result.status,
        result.inspection.pk,
    )
    return result


def _conflict(current: Inspection, reason: str) -> _Refused:
    if reason == CONFLICT_VERIFIED:
        detail = (
            "该厕所本轮的记录已经乡镇核查，不能再修改，您的离线记录未保存。"
            "如确需更正，请提交更正申请，由乡镇审核员处理。"
        )
    else:
        detail = (
            f"该厕所本轮已有{display_name(last_saver(current))}于{_local(current.updated_at)}"
            "保存的摸排记录，与您离线录入时看到的不同，您的记录未保存。"
            "请核对后选择放弃，或以您的记录更正（将退回乡镇重新核查）。"
        )
    return _Refused(SyncResult("conflict", current, reason=reason, detail=detail))


def _sync(*, actor, inspection, categories, photos, base_version, resolution, record):
    _guard_inspection(actor, inspection)
    current = (
        # The inspection only: FOR UPDATE with the joins would also lock its toilet (after
        # the inspection, the opposite of a household's move), round, county and surveyor.
        Inspection.objects.select_for_update(of=("self",))
        .select_related("surveyor", "round__county", "toilet__village")
        .filter(round=inspection.round, toilet=inspection.toilet)
        .first()
    )
    correcting = resolution == RESOLUTION_CORRECTION
    if current is None:
        try:
            saved = save_inspection(
                actor=actor, inspection=inspection, categories=categories, photos=photos,
                confirm_evidence=True,
            )  # fmt: skip
        except ConflictError:
            # Recorded by somebody else a moment ago, in a transaction this one cannot see.
            current = Inspection.objects.get(round=inspection.round, toilet=inspection.toilet)
            raise _conflict(current, CONFLICT_RECORDED) from None
        return SyncResult("stored", saved)

    if current.status == InspectionStatus.VERIFIED:
        if not correcting:
            raise _conflict(current, CONFLICT_VERIFIED)
        correction = _file_correction(
            actor=actor, current=current, values=inspection, categories=categories,
            photos=photos, record=record,
        )  # fmt: skip
        return SyncResult("correction_filed", current, correction=correction)

    overwriting = base_version != current.version
    if overwriting and not correcting:
        raise _conflict(current, CONFLICT_RECORDED)
    replaced_by, replaced_at, replaced_version = (
        last_saver(current),
        current.updated_at,
        current.version,
    )
    for field in RECORD_FIELDS:
        setattr(current, field, getattr(inspection, field))
    saved = save_inspection(
        actor=actor, inspection=current, categories=categories, photos=photos,
        expected_version=current.version, confirm_evidence=True,
    )  # fmt: skip
    # A correction resend after a "recorded" conflict replaces somebody else's record (the
    # phone may send the version it was shown, so the versions may match by now).
    if correcting and replaced_by.pk != actor.pk:
        detail = (
            f"离线记录覆盖了{display_name(replaced_by)}于{_local(replaced_at)}"
            f"保存的记录（第 {replaced_version} 版），请核实"
        )
        # refresh_flags manages only the kinds it computes: this one stays until cleared.
        InspectionFlag.objects.update_or_create(
            inspection=saved,
            kind=FlagKind.OVERWROTE,
            defaults={"detail": detail[:200], "cleared_by": None, "cleared_note": ""},
        )
        logger.info("inspection %s: offline record of %s overwrote v%s", saved.pk, actor,
                    replaced_version)  # fmt: skip
    return SyncResult("stored", saved)


def _file_correction(*, actor, current, values, categories, photos, record):
    """A verified inspection is final: the surveyor's record becomes a correction request."""
    _check_inspection(values, categories)
    processed = _process_photos(photos)
    correction = CorrectionRequest.objects.create(
        inspection=current, surveyor=actor, payload=record
    )
    _create_photo_rows(CorrectionPhoto, processed, request=correction)
    logger.info(
        "correction request %s on inspection %s filed by %s", correction.pk, current.pk, actor
    )
    return correction


# Correction requests -----------------------------------------------------------------------

HANDLED_NOTE_MAX = 200


@transaction.atomic
def handle_correction(*, actor, request: CorrectionRequest, note: str) -> CorrectionRequest:
    """The township has looked at a correction request of a verified inspection (and, where
    the surveyor was right, acted on it): marked handled with who, when and a note."""
    require(actor, VERIFY, "只有乡镇审核员可以处理更正申请。")
    if not CorrectionRequest.objects.visible_to(actor).filter(pk=request.pk).exists():
        raise PermissionDenied("该记录不在您的管辖范围内。")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "请填写处理说明（如：已核实，按更正内容重新核查）。"})
    if len(note) > HANDLED_NOTE_MAX:
        raise ValidationError({"note": f"处理说明不能超过 {HANDLED_NOTE_MAX} 字。"})
    handled = CorrectionRequest.objects.filter(
        pk=request.pk, status=CorrectionStatus.PENDING
    ).update(
        status=CorrectionStatus.HANDLED,
        handled_by=actor,
        handled_at=timezone.now(),
        handled_note=note,
    )
    if not handled:
        raise ConflictError("该更正申请已由他人处理，无需重复操作。")
    request.refresh_from_db()
    logger.info("correction request %s handled by %s: %s", request.pk, actor, note)
    return request

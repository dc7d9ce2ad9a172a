"""Writes of the survey app: rounds, inspections and their verification.

Each function takes ``actor=``, checks role, region and state, is atomic, and logs. A state
change is a conditional UPDATE (``WHERE status = old``) so that two clicks or two users cannot
both win.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.concurrency import check_version, lock_version, update_if_unchanged
from core.errors import ConflictError
from regions.choices import INSPECT, MANAGE_ROUNDS, VERIFY
from regions.guards import require
from toilets.choices import ToiletStatus
from toilets.models import Toilet

from .choices import PHOTO_MAX_PER_INSPECTION, PROBLEM_USABILITY, InspectionStatus, RoundStatus
from .flags import refresh_flags
from .hooks import inspection_saved
from .models import Inspection, InspectionPhoto, SurveyRound
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


@transaction.atomic
def save_inspection(
    *,
    actor,
    inspection: Inspection,
    categories,
    photos=(),
    expected_version: int | None = None,
) -> Inspection:
    """Create or correct one inspection, with its photos, and keep the ledger in step.

    1. Guards: the actor inspects (surveyor), the toilet is in the actor's village and in use,
       the round is open and the toilet's county's, and a verified inspection is final.
    2. Validation: sign-off, categories iff a problem toilet, the second team member.
    3. Save (version-checked for an edit; one per toilet per round for a new one), photos.
    4. The toilet's open ledger entry follows the finding; office-made flags are refreshed.
    """
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
    categories = list(categories)
    _check_inspection(inspection, categories)
    # Every photo is checked (and its EXIF read) before anything is written, so a bad one
    # refuses the whole save without leaving files behind.
    processed = _process_photos(photos)

    inspection._history_user = actor  # the edit log names whoever saved, not only the creator
    if inspection.pk is None:
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
    inspection.categories.set(categories)

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
    if inspection.photos.count() + len(processed) > PHOTO_MAX_PER_INSPECTION:
        raise ValidationError({"photos": f"每条记录最多 {PHOTO_MAX_PER_INSPECTION} 张照片。"})
    stored = []
    try:
        for photo in processed:
            stored.append(
                InspectionPhoto.objects.create(
                    inspection=inspection,
                    image=photo.image,
                    thumbnail=photo.thumbnail,
                    sha256=photo.sha256,
                    taken_at=photo.taken_at,
                    latitude=photo.latitude,
                    longitude=photo.longitude,
                    uploaded_by=actor,
                )
            )
    except Exception:
        for row in stored:  # the rows roll back with the transaction; the files would not
            row.image.delete(save=False)
            row.thumbnail.delete(save=False)
        raise


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

"""先培训后上岗: who in a user's region has been trained, and recording a course.

The gate itself is in ``scoping`` (``awaits_training``) and ``guards`` (``training_message``);
this module is what the pages around it read and write. Every read goes through
``RoleAssignment.objects.visible_to``: a township lists its own staff and its villages'
surveyors, a county everybody of the county; a user outside the scope is not found.
"""

import datetime
import logging

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from .choices import MANAGE_TRAINING, NEEDS_TRAINING, ROLE_CAPABILITIES, VERIFY
from .guards import require, training_message
from .models import RoleAssignment, TrainingRecord, display_name
from .scoping import awaits_training, forget_scope, has_capability

logger = logging.getLogger(__name__)

# The roles that may not work before a training record is on file (surveyors, township
# reviewers): their capabilities include one of NEEDS_TRAINING.
FIELD_ROLES = tuple(role for role, caps in ROLE_CAPABILITIES.items() if caps & NEEDS_TRAINING)
TEXT_MAX = 100
EARLIEST = datetime.date(2000, 1, 1)
MAX_AT_ONCE = 200  # users recorded for one course in one go

NOT_ALLOWED = "只有乡镇审核员或县级管理员可以登记岗前培训。"
NOT_FOUND = "所选人员不在您的管辖范围内。"


def can_manage(user) -> bool:
    return has_capability(user, MANAGE_TRAINING)


def _latest(field: str):
    records = TrainingRecord.objects.filter(user=OuterRef("user")).order_by("-trained_on", "-id")
    return Subquery(records.values(field)[:1])


def people(user, *, untrained_only: bool = False):
    """The role assignments in ``user``'s scope (active users), each annotated with its
    latest training (``trained_on``, ``course``, ``trainer``), whether its role needs one
    (``needs_training``) and whether it is ``untrained`` (a field role without any record).
    One query."""
    rows = (
        RoleAssignment.objects.visible_to(user)
        .filter(user__is_active=True)
        .select_related("user", "region__parent")
        .annotate(
            trained_on=_latest("trained_on"),
            course=_latest("course"),
            trainer=_latest("trainer"),
            has_record=Exists(TrainingRecord.objects.filter(user=OuterRef("user"))),
        )
        .order_by("region__code", "role", "user__username")
    )
    if untrained_only:
        rows = rows.filter(role__in=FIELD_ROLES, has_record=False)
    return rows


def untrained_count(user) -> int:
    """Field users (surveyors, township reviewers) in ``user``'s scope with no training
    record on file."""
    return (
        RoleAssignment.objects.visible_to(user)
        .filter(user__is_active=True, role__in=FIELD_ROLES)
        .exclude(Exists(TrainingRecord.objects.filter(user=OuterRef("user"))))
        .count()
    )


def person(actor, pk: int):
    """The user ``pk`` with its role assignment, if inside ``actor``'s scope; else
    ``RoleAssignment.DoesNotExist`` (a 404 on a page)."""
    return (
        RoleAssignment.objects.visible_to(actor)
        .select_related("user", "region__parent")
        .get(user_id=pk)
    )


def records_of(actor, user):
    """``user``'s training records, read through the scoping."""
    return (
        TrainingRecord.objects.visible_to(actor)
        .filter(user=user)
        .select_related("recorded_by")
        .order_by("-trained_on", "-id")
    )


def _clean(trained_on, course, trainer) -> tuple[datetime.date, str, str]:
    errors = {}
    today = timezone.localdate()
    if not isinstance(trained_on, datetime.date):
        errors["trained_on"] = "请填写培训日期。"
    elif trained_on > today:
        errors["trained_on"] = "培训日期不能晚于今天。"
    elif trained_on < EARLIEST:
        errors["trained_on"] = "培训日期不正确。"
    cleaned = []
    for key, value, what in (
        ("course", course, "培训内容"),
        ("trainer", trainer, "培训单位/授课人"),
    ):
        value = (value or "").strip()
        if not value:
            errors[key] = f"请填写{what}。"
        elif len(value) > TEXT_MAX:
            errors[key] = f"{what}不能超过 {TEXT_MAX} 字。"
        cleaned.append(value)
    if errors:
        raise ValidationError(errors)
    return trained_on, cleaned[0], cleaned[1]


def record_trainings(*, actor, users, trained_on, course: str, trainer: str):
    """One course for several users at once, all or nothing: every user must lie inside the
    actor's scope, none may be the actor (nobody certifies their own training), and none may
    already have the same course on the same day."""
    require(actor, MANAGE_TRAINING, NOT_ALLOWED)
    trained_on, course, trainer = _clean(trained_on, course, trainer)
    users = list({u.pk: u for u in users}.values())
    if not users:
        raise ValidationError({"users": "请选择参训人员。"})
    if len(users) > MAX_AT_ONCE:
        raise ValidationError({"users": f"一次最多登记 {MAX_AT_ONCE} 人。"})
    ids = [u.pk for u in users]
    if actor.pk in ids:
        raise PermissionDenied("不能为自己登记培训记录，请由其他管理员登记。")
    # An untrained reviewer cannot certify others (two of them would open each other's gate).
    if awaits_training(actor, VERIFY):
        raise PermissionDenied(
            "您本人尚未登记岗前培训，不能为他人登记培训记录，请先由县级管理员为您登记。"
        )
    with transaction.atomic():
        visible = set(
            RoleAssignment.objects.visible_to(actor)
            .filter(user_id__in=ids, user__is_active=True)
            .values_list("user_id", flat=True)
        )
        if visible != set(ids):
            raise PermissionDenied(NOT_FOUND)
        twice = (
            get_user_model()
            .objects.filter(
                Q(pk__in=ids),
                Exists(
                    TrainingRecord.objects.filter(
                        user=OuterRef("pk"), trained_on=trained_on, course=course
                    )
                ),
            )
            .order_by("username")
        )
        if twice:
            names = "、".join(display_name(u) for u in twice)
            raise ValidationError(
                {"users": f"{names}已有 {trained_on:%Y-%m-%d}“{course}”的培训记录，请勿重复登记。"}
            )
        try:
            with transaction.atomic():
                records = TrainingRecord.objects.bulk_create(
                    TrainingRecord(
                        user=u,
                        trained_on=trained_on,
                        course=course,
                        trainer=trainer,
                        recorded_by=actor,
                    )
                    for u in users
                )
        except IntegrityError as exc:  # the same record written meanwhile by someone else
            raise ValidationError(
                {
                    "users": f"所选人员中有人刚被登记了 {trained_on:%Y-%m-%d}“{course}”的培训记录"
                    "（可能由其他管理员同时登记），请刷新后查看。"
                }
            ) from exc
    for u in users:
        forget_scope(u)
    logger.info(
        "training %s on %s by %s recorded by %s for users %s",
        course,
        trained_on,
        trainer,
        actor,
        sorted(ids),
    )
    return records


def record_training(*, actor, user, trained_on, course: str, trainer: str) -> TrainingRecord:
    """One user's training record (先培训后上岗): guarded by MANAGE_TRAINING, only for a user
    inside the actor's scope, logged. From now on the user may inspect or verify."""
    (record,) = record_trainings(
        actor=actor, users=[user], trained_on=trained_on, course=course, trainer=trainer
    )
    return record


def awaiting(user) -> str | None:
    """What a field user without a training record is told on the home page (the gate's own
    message), or None when nothing waits for training."""
    for capability in sorted(NEEDS_TRAINING):
        if awaits_training(user, capability):
            return training_message(capability)
    return None

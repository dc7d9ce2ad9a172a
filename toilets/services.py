"""Writes to the register. Each takes ``actor=``, checks role and region, and is atomic;
simple-history records who changed what (the edit log shown on the household page)."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from core.concurrency import save_versioned
from regions.choices import EDIT_REGISTER
from regions.models import Region
from regions.scoping import has_capability

from .hooks import toilets_moving
from .models import DUPLICATE_ID_ELSEWHERE, Household, Toilet, duplicate_id_message

logger = logging.getLogger(__name__)


def ensure_can_edit(actor, village: Region) -> None:
    if not has_capability(actor, EDIT_REGISTER):
        raise PermissionDenied("您的角色只能查看户厕台账，不能登记或修改。")
    if not Region.objects.visible_to(actor).filter(pk=village.pk).exists():
        raise PermissionDenied("该行政村不在您的管辖范围内。")


@transaction.atomic
def save_household(*, actor, household: Household, expected_version: int | None = None):
    """Register a new household or save an edited one (moving its toilets with it)."""
    ensure_can_edit(actor, household.village)
    household.editor = actor  # a duplicate ID number is described only as far as actor sees
    household.full_clean()
    created = household.pk is None
    try:
        with transaction.atomic():
            save_versioned(household, actor=actor, expected_version=expected_version)
    except IntegrityError as exc:  # a concurrent registration of the same ID number
        message = duplicate_id_message(household, actor) or DUPLICATE_ID_ELSEWHERE
        raise ValidationError({"id_number": message}) from exc
    if not created:
        # Every toilet of the household locked (and read) before the first is written, and
        # what their move rewrites (toilets_moving): each write takes its villages' version
        # rows (the rollups' triggers) until the commit, so nothing may be waited for after
        # the first write.
        toilets = household.toilets.select_for_update(no_key=True).order_by("pk")
        moving = [t for t in toilets if t.village_id != household.village_id]
        if moving:
            toilets_moving.send(toilet_ids=[t.pk for t in moving])
        for toilet in moving:
            toilet.village = household.village
            toilet.version += 1
            toilet._history_user = actor
            toilet.save()
    logger.info("household %s %s by %s", household.pk, "registered" if created else "edited", actor)
    return household


@transaction.atomic
def save_toilet(*, actor, toilet: Toilet, expected_version: int | None = None):
    """Register a new toilet or save an edited one."""
    toilet.full_clean()
    ensure_can_edit(actor, toilet.village)
    created = toilet.pk is None
    save_versioned(toilet, actor=actor, expected_version=expected_version)
    logger.info("toilet %s %s by %s", toilet.pk, "registered" if created else "edited", actor)
    return toilet

"""Spot-checks across counties (市级抽查、省级抽验): a city or the province draws one sample per
county below it, sends checkers from other counties, and publishes all results at once.

The samples are ordinary ``SpotCheckSample`` rows with ``campaign`` set, so assigning and
recording go through ``surveys/spotchecks.py`` (which knows that the campaign's unit, not the
county, runs them). This module draws and publishes campaigns and counts their rates per
county. Each write takes ``actor=``, is guarded, atomic and logged.
"""

import hashlib
import logging
import secrets
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from regions.choices import MANAGE_SPOTCHECKS, Level, Role
from regions.models import Region
from regions.scoping import has_capability, scope_of

from .models import Inspection, SpotCheckCampaign, SpotCheckItem, SpotCheckSample, SurveyRound
from .queries import current_rounds
from .spotchecks import (
    MAX_SEED,
    RateRow,
    RateTable,
    _check_method,
    _counted,
    choose,
    manages_campaign,
)

logger = logging.getLogger(__name__)

UNIT_LEVELS = (Level.CITY, Level.PROVINCE)
NAME_MAX = 100


# Reads ----------------------------------------------------------------------------------------


def own_unit(user) -> Region | None:
    """The city or province the user works for, if any."""
    scope = scope_of(user)
    if scope is None or scope.region is None or scope.region.level not in UNIT_LEVELS:
        return None
    return scope.region


def can_run_campaigns(user) -> bool:
    """City and province staff draw campaigns of their own unit."""
    return has_capability(user, MANAGE_SPOTCHECKS) and own_unit(user) is not None


def can_use_campaigns(user) -> bool:
    """The campaign pages are for the units above the county (and the operator)."""
    scope = scope_of(user)
    return scope is not None and (scope.is_global or own_unit(user) is not None)


def campaigns_visible_to(user):
    """The user's unit's campaigns and those of the units below it (the province reads the
    cities'); a county never sees a campaign's page, only its own sample."""
    return SpotCheckCampaign.objects.visible_to(user).select_related("region", "created_by")


def counties_below(region: Region):
    return Region.objects.filter(
        level=Level.COUNTY, code__startswith=region.prefix, abolished=False
    ).order_by("code")


def county_seed(seed: int, county_code: str) -> int:
    """A county's own seed, derived from the campaign's: each county's draw can be repeated on
    its own with ``choose`` and the seed recorded on its sample, and counties of the same shape
    do not get the same households."""
    digest = hashlib.sha256(f"{seed}:{county_code}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & MAX_SEED


def rates_by_county(campaign: SpotCheckCampaign, user) -> RateTable:
    """Sampled, assigned, checked and differing items per county, in code order: for the
    campaign's unit at any time, for the others once published (inside their subtree)."""
    if not (manages_campaign(user, campaign) or campaign.is_published):
        return RateTable([])
    county = "sample__round__county__"
    items = SpotCheckItem.objects.visible_to(user).filter(sample__campaign=campaign)
    rows = _counted(items, f"{county}code", f"{county}name", "sample_id", "sample__round__name")
    return RateTable(
        [
            RateRow(
                key=row[f"{county}code"],
                name=row[f"{county}name"],
                detail=row["sample__round__name"],
                sampled=row["sampled"],
                assigned=row["assigned"],
                checked=row["checked"],
                differing=row["differing"],
            )
            for row in rows
        ]
    )


# Drawing --------------------------------------------------------------------------------------


def check_draw(*, actor, name, per_village=None, percent=None, seed=None) -> tuple:
    """What a draw checks before reading anything (the form's errors): the actor is city or
    province staff, the name is given and not yet used by the unit, exactly one method.
    Returns ``(unit, name, seed)``, the seed drawn at random when not given."""
    unit = own_unit(actor)
    if unit is None or not has_capability(actor, MANAGE_SPOTCHECKS):
        raise PermissionDenied("市级抽查、省级抽验由市级或省级管理员组织。")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "请填写抽查名称，如“2026年市级抽查复核”。"})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"名称不超过 {NAME_MAX} 字。"})
    if SpotCheckCampaign.objects.filter(region=unit, name=name).exists():
        raise ValidationError({"name": "本单位已有同名的抽查，请换一个名称。"})
    _check_method(per_village, percent, seed)
    if seed is None:
        seed = 100000 + secrets.randbelow(900000)
    return unit, name, seed


def draw_campaign(
    *, actor, name, per_village=None, percent=None, seed=None, progress=None
) -> SpotCheckCampaign:
    """Draw a campaign of the actor's city or province: one sample per county below it.

    1. Guards: the actor is city or province staff; a name not yet used by the unit; exactly
       one method (N per village or P percent).
    2. For each county below the unit, in code order: its current round (the open one, else
       the latest opened); a county without one is skipped, with the reason kept on the
       campaign. So is a county whose round has no inspections yet.
    3. Each county is drawn as a county draws its own sample (``choose``), with the county's
       seed derived from the campaign's (``county_seed``) and recorded on its sample.
    4. Nothing is stored when no county can be drawn; otherwise all of it, or nothing.

    ``progress(done, total)`` is called after each county (a job's bar, ``campaign_jobs``).
    Only the writes are one transaction, so that the progress is seen while the counties are
    read.
    """
    unit, name, seed = check_draw(
        actor=actor, name=name, per_village=per_village, percent=percent, seed=seed
    )
    counties = list(counties_below(unit))
    rounds = current_rounds(counties)
    skipped: list[dict] = []
    drawn: list[tuple[SurveyRound, int, list[int]]] = []
    for done, county in enumerate(counties, start=1):
        if progress is not None and done > 1:
            progress(done - 1, len(counties))
        survey_round = rounds.get(county.pk)
        if survey_round is None:
            skipped.append(
                {"code": county.code, "name": county.name, "reason": "没有已开始的摸排轮次"}
            )
            continue
        candidates: dict[str, list[int]] = defaultdict(list)
        rows = (
            Inspection.objects.visible_to(actor)
            .filter(round=survey_round)
            .values_list("id", "toilet__village__code")
            .order_by()
        )
        for inspection_id, village_code in rows:
            candidates[village_code].append(inspection_id)
        if not candidates:
            skipped.append(
                {
                    "code": county.code,
                    "name": county.name,
                    "reason": f"{survey_round.name}还没有摸排记录",
                }
            )
            continue
        own_seed = county_seed(seed, county.code)
        chosen = choose(candidates, seed=own_seed, per_village=per_village, percent=percent)
        drawn.append((survey_round, own_seed, chosen))
    if not drawn:
        raise ValidationError(
            f"{unit.name}下辖各县（区）都没有可抽查的摸排记录（没有已开始的轮次或没有摸排记录），"
            "无法抽取。"
        )

    try:
        # All or nothing: the campaign with every county's sample and items, or none of it.
        with transaction.atomic():
            campaign = SpotCheckCampaign.objects.create(
                region=unit,
                name=name,
                per_village=per_village,
                percent=percent,
                seed=seed,
                skipped=skipped,
                created_by=actor,
            )
            for survey_round, own_seed, chosen in drawn:
                sample = SpotCheckSample.objects.create(
                    round=survey_round,
                    campaign=campaign,
                    per_village=per_village,
                    percent=percent,
                    seed=own_seed,
                    created_by=actor,
                )
                SpotCheckItem.objects.bulk_create(
                    SpotCheckItem(sample=sample, original_id=pk) for pk in chosen
                )
    except IntegrityError as exc:
        if not SpotCheckCampaign.objects.filter(region=unit, name=name).exists():
            raise
        # A same-named draw committed meanwhile.
        raise ValidationError({"name": "本单位已有同名的抽查，请换一个名称。"}) from exc
    logger.info(
        "spot-check campaign %s of %s drawn by %s: %s counties (%s items), %s skipped, seed %s",
        campaign.pk,
        unit.code,
        actor,
        len(drawn),
        sum(len(chosen) for _, _, chosen in drawn),
        len(skipped),
        seed,
    )
    return campaign


# Publishing -----------------------------------------------------------------------------------


@transaction.atomic
def publish_campaign(*, actor, campaign: SpotCheckCampaign) -> SpotCheckCampaign:
    """Publish every county's results at once; they are final from then on.

    The campaign and its samples are locked first (in that order, the samples by id), so a
    checker's result being saved (which locks its sample) is either in or refused.
    """
    locked = (
        SpotCheckCampaign.objects.select_for_update(of=("self",))
        .select_related("region")
        .get(pk=campaign.pk)
    )
    if not manages_campaign(actor, locked):
        raise PermissionDenied(f"只有{locked.region.name}可以公布本次{locked.kind_label}的结果。")
    if locked.is_published:
        raise ValidationError(
            f"该抽查已于 {timezone.localtime(locked.published_at):%Y-%m-%d %H:%M} 公布。"
        )
    sample_ids = list(
        SpotCheckSample.objects.select_for_update()
        .filter(campaign=locked)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    pending = SpotCheckItem.objects.filter(
        sample_id__in=sample_ids, checked_at__isnull=True
    ).count()
    if pending:
        raise ValidationError(f"还有 {pending} 户未录入抽查结果，全部录入后才能公布。")
    now = timezone.now()
    SpotCheckSample.objects.filter(pk__in=sample_ids, published_at__isnull=True).update(
        published_at=now
    )
    SpotCheckCampaign.objects.filter(pk=locked.pk, published_at__isnull=True).update(
        published_at=now
    )
    campaign.published_at = now
    logger.info(
        "spot-check campaign %s published by %s (%s samples)", campaign.pk, actor, len(sample_ids)
    )
    return campaign


def campaign_checks_waiting(user) -> int:
    """How many campaign items county staff were sent to re-check and have not recorded yet
    (their home page links their worklist; other checkers already have the link)."""
    scope = scope_of(user)
    if scope is None or scope.role != Role.COUNTY:
        return 0
    return SpotCheckItem.objects.filter(
        inspector=user,
        sample__campaign__isnull=False,
        sample__published_at__isnull=True,
        checked_at__isnull=True,
    ).count()

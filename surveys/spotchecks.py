"""County spot-checks (抽查) of a survey round, and their discrepancy rates (多方比对).

The county draws a reproducible random sample of a round's inspections, assigns each sampled
inspection to a checker (an inspector, or township staff of *another* township of the county),
the checker records what they found, and the county publishes the sample. Each write takes
``actor=``, checks role, region and state, is atomic and logs.

Who may read what:

- The county that owns the round sees the whole sample, its results and rates at any time.
- A checker sees the items assigned to them, through ``items_for_checker(user)``. This is the one
  grant beyond ``visible_to``: a township user checking another township cannot see that
  township's inspections, and the assignment opens exactly the assigned items and nothing else.
- Everybody else in the county (townships, inspectors) sees that a sample exists; once it is
  published, they see the items and rates inside their own subtree (``visible_to``).

A city's or the province's campaign (``SpotCheckCampaign``, drawn in ``surveys/campaigns.py``)
holds one sample per county. There the county is the one being checked: the campaign's unit,
not the county, is who "manages" the sample (``manages_sample``), its checkers come from other
counties (``campaign_refusal``), and the county sees the items and rates inside its subtree
only once the campaign's unit has published them, like a township for a county sample.
"""

import logging
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.users import display_name
from regions.choices import MANAGE_ROUNDS, MANAGE_SPOTCHECKS, Role
from regions.models import RoleAssignment
from regions.scoping import has_capability, scope_of

from .choices import PROBLEM_USABILITY, Usability
from .models import (
    Inspection,
    SpotCheckCampaign,
    SpotCheckItem,
    SpotCheckSample,
    SurveyRound,
)

logger = logging.getLogger(__name__)

# Roles whose people may be sent to re-inspect: the county's inspectors and township staff.
CHECKER_ROLES = (Role.INSPECTOR, Role.TOWNSHIP)
# Roles a city or the province may send to another county: inspectors and county staff. Not
# township staff: a campaign checks the counties' work, and is carried out at county level.
CAMPAIGN_CHECKER_ROLES = (Role.INSPECTOR, Role.COUNTY)
# Roles that have anything to do with spot-checks; a surveyor is checked, never checks.
SPOTCHECK_ROLES = (Role.COUNTY, Role.TOWNSHIP, Role.INSPECTOR, Role.CITY, Role.PROVINCE)

MAX_SEED = 2**63 - 1  # the seed is stored in a BigIntegerField
MAX_NOTES = 200


# Access -----------------------------------------------------------------------------------


def can_use_spotchecks(user) -> bool:
    """The spot-check pages are for the county, townships and inspectors (and the operator)."""
    scope = scope_of(user)
    return scope is not None and (scope.role is None or scope.role in SPOTCHECK_ROLES)


def can_check(user) -> bool:
    """Whether the user's role lets them be assigned spot-check items at all (county staff
    only by a city's or the province's campaign)."""
    scope = scope_of(user)
    return scope is not None and (
        scope.role is None or scope.role in CHECKER_ROLES or scope.role in CAMPAIGN_CHECKER_ROLES
    )


def manages_round(user, survey_round: SurveyRound) -> bool:
    """The county that owns the round (or the operator): draws, assigns and publishes."""
    return (
        has_capability(user, MANAGE_ROUNDS)
        and SurveyRound.objects.visible_to(user).filter(pk=survey_round.pk).exists()
    )


def manages_campaign(user, campaign: SpotCheckCampaign) -> bool:
    """The campaign's own unit (or the operator): assigns and publishes. A unit above it reads
    the campaign but does not run it."""
    scope = scope_of(user)
    if scope is None or not has_capability(user, MANAGE_SPOTCHECKS):
        return False
    return scope.is_global or scope.region.pk == campaign.region_id


def manages_sample(user, sample: SpotCheckSample) -> bool:
    """Who runs this sample and sees its results at once: the county for its own sample, the
    campaign's unit for a campaign's (the county is then the one checked)."""
    if sample.campaign_id is not None:
        return manages_campaign(user, sample.campaign)
    return manages_round(user, sample.round)


def managed_campaigns(user):
    """The campaigns the user runs (their own unit's)."""
    scope = scope_of(user)
    if scope is None or not has_capability(user, MANAGE_SPOTCHECKS):
        return SpotCheckCampaign.objects.none()
    if scope.is_global:
        return SpotCheckCampaign.objects.all()
    return SpotCheckCampaign.objects.filter(region=scope.region)


def results_open(user, prefix: str = "") -> Q:
    """A filter on samples (``prefix`` "sample__" for items) whose results the user may read
    inside their subtree: the published ones, the county's own samples for the county, and
    a campaign's samples for its unit. The API reads through it; pages ask ``manages_sample``."""
    condition = Q(**{f"{prefix}published_at__isnull": False})
    if has_capability(user, MANAGE_ROUNDS):
        condition |= Q(
            **{
                f"{prefix}campaign__isnull": True,
                f"{prefix}round__in": SurveyRound.objects.visible_to(user),
            }
        )
    if has_capability(user, MANAGE_SPOTCHECKS):
        condition |= Q(**{f"{prefix}campaign__in": managed_campaigns(user)})
    return condition


def samples_visible_to(user):
    """Samples of the rounds the user can see (a round is visible county-wide)."""
    return SpotCheckSample.objects.filter(round__in=SurveyRound.objects.visible_to(user))


def items_for_checker(user):
    """Spot-check items assigned to ``user``, wherever they are.

    Use it *alongside* ``SpotCheckItem.objects.visible_to(user)``, never instead of it: the
    assignment is what lets a township user from another township (or an inspector placed at a
    township) open an item outside their own subtree, and it opens only that item. It is a plain
    function rather than a queryset method because the model's queryset is shared by others.
    """
    scope = scope_of(user)
    if scope is None:
        return SpotCheckItem.objects.none()
    return SpotCheckItem.objects.filter(inspector=user)


def items_shown(sample: SpotCheckSample, user, *, manages: bool | None = None):
    """The items of ``sample`` the user may see on the sample page.

    The county sees every item. Before publication everybody else sees only what they were
    assigned, so that the households to be re-checked are not known in advance in the township;
    after publication they also see the items inside their own subtree.
    """
    if manages is None:
        manages = manages_sample(user, sample)
    own = SpotCheckItem.objects.visible_to(user).filter(sample=sample)
    if manages:
        return own
    assigned = items_for_checker(user).filter(sample=sample)
    if sample.is_published:
        return own | assigned
    return assigned


def result_items(sample: SpotCheckSample, user, *, manages: bool | None = None):
    """The items whose results count in the rates the user may see.

    The county: the whole sample, always. Others: nothing before publication, then the part of
    the sample inside their own subtree (a township sees its own township's rates).
    """
    if manages is None:
        manages = manages_sample(user, sample)
    items = SpotCheckItem.objects.visible_to(user).filter(sample=sample)
    if manages or sample.is_published:
        return items
    return items.none()


def checker_candidates(actor, survey_round: SurveyRound):
    """Role assignments of the people the county may send: active inspectors and township
    staff placed inside the round's county. Who may check which item is ``checker_refusal``."""
    return (
        RoleAssignment.objects.visible_to(actor)
        .filter(
            role__in=CHECKER_ROLES,
            user__is_active=True,
            region__code__startswith=survey_round.county.prefix,
        )
        .select_related("user", "region")
        .order_by("role", "region__code", "user__username")
    )


def checker_refusal(assignment: RoleAssignment | None, item: SpotCheckItem) -> str | None:
    """Why this person may not re-check this item (a Chinese message), or None if they may.

    ``item.original`` with its toilet's village must be loaded (the sample page asks this for
    every row and every candidate, so it must not query).
    """
    if assignment is None or assignment.role not in CHECKER_ROLES:
        who = display_name(assignment.user) if assignment else "该用户"
        return f"{who}不是督导或乡镇审核员，不能承担抽查。"
    user = assignment.user
    name = display_name(user)
    if not user.is_active:
        return f"{name}的账号已停用。"
    village_code = item.original.toilet.village.code
    if not village_code.startswith(assignment.region.code[:6]):
        return f"{name}不在本县（区），不能承担本县抽查。"
    if item.original.surveyor_id == user.pk:
        return f"{name}是该户的原摸排人，不能抽查自己摸排的户。"
    if township_conflict(assignment, village_code):
        return f"{name}是{assignment.region.name}的乡镇审核员，不能抽查本乡镇的摸排记录。"
    return None


def township_conflict(assignment: RoleAssignment, village_code: str) -> bool:
    """Township staff never check their own township's villages (no marking one's own work)."""
    return assignment.role == Role.TOWNSHIP and village_code.startswith(assignment.region.prefix)


def county_conflict(assignment: RoleAssignment, village_code: str) -> bool:
    """In a campaign nobody checks their own county: staff placed at or below the checked
    county. An inspector placed at the city or province belongs to no county."""
    prefix = assignment.region.prefix
    return len(prefix) >= 6 and village_code.startswith(prefix[:6])


def campaign_candidates(actor, sample: SpotCheckSample):
    """Role assignments of the people a campaign's unit may send to ``sample``'s county:
    active inspectors and county staff inside the campaign's region, not of that county."""
    campaign = sample.campaign
    return (
        RoleAssignment.objects.visible_to(actor)
        .filter(
            role__in=CAMPAIGN_CHECKER_ROLES,
            user__is_active=True,
            region__code__startswith=campaign.region.prefix,
        )
        .exclude(region__code__startswith=sample.round.county.prefix)
        .select_related("user", "region")
        .order_by("role", "region__code", "user__username")
    )


def campaign_refusal(
    assignment: RoleAssignment | None, item: SpotCheckItem, campaign: SpotCheckCampaign
) -> str | None:
    """Why this person may not re-check this campaign item (Chinese), or None if they may.
    Like ``checker_refusal``, it must not query (``campaign.region`` loaded)."""
    label = campaign.kind_label
    if assignment is None or assignment.role not in CAMPAIGN_CHECKER_ROLES:
        who = display_name(assignment.user) if assignment else "该用户"
        return f"{who}不是督导或县级管理员，不能承担{label}。"
    user = assignment.user
    name = display_name(user)
    if not user.is_active:
        return f"{name}的账号已停用。"
    if not assignment.region.code.startswith(campaign.region.prefix):
        return f"该人员不在{campaign.region.name}，不能承担本次{label}。"
    village_code = item.original.toilet.village.code
    if county_conflict(assignment, village_code):
        return f"{name}来自被抽查的县（区），{label}须由其他县（区）的人员承担。"
    if item.original.surveyor_id == user.pk:
        return f"{name}是该户的原摸排人，不能抽查自己摸排的户。"
    return None


def candidates_for(actor, sample: SpotCheckSample):
    """Who the sample's manager may pick as a checker (per item, ``refusal_for`` decides)."""
    if sample.campaign_id is not None:
        return campaign_candidates(actor, sample)
    return checker_candidates(actor, sample.round)


def refusal_for(
    assignment: RoleAssignment | None, item: SpotCheckItem, sample: SpotCheckSample
) -> str | None:
    if sample.campaign_id is not None:
        return campaign_refusal(assignment, item, sample.campaign)
    return checker_refusal(assignment, item)


def village_conflict(sample: SpotCheckSample, assignment: RoleAssignment, village_code) -> bool:
    """Whether the person may not take a whole village of the sample (their own unit's)."""
    if sample.campaign_id is not None:
        return county_conflict(assignment, village_code)
    return township_conflict(assignment, village_code)


def _ensure_manages(actor, survey_round: SurveyRound, message: str) -> None:
    if not has_capability(actor, MANAGE_ROUNDS):
        raise PermissionDenied(message)
    if not SurveyRound.objects.visible_to(actor).filter(pk=survey_round.pk).exists():
        raise PermissionDenied("不是本县的摸排轮次。")


def _ensure_manages_sample(actor, sample: SpotCheckSample, what: str) -> None:
    """The county runs its own samples; a campaign's unit runs the campaign's."""
    if sample.campaign_id is None:
        _ensure_manages(actor, sample.round, f"只有县级管理员可以{what}。")
    elif not manages_campaign(actor, sample.campaign):
        campaign = sample.campaign
        raise PermissionDenied(
            f"该样本属于{campaign.region.name}组织的{campaign.kind_label}，"
            f"只有{campaign.region.name}可以{what}。"
        )


def _lock_sample(sample: SpotCheckSample) -> SpotCheckSample:
    """Writes to one sample queue up behind each other, so publishing can't race a result."""
    return (
        SpotCheckSample.objects.select_for_update(of=("self",))
        .select_related("round__county", "campaign__region")
        .get(pk=sample.pk)
    )


# Drawing ----------------------------------------------------------------------------------


def sample_size(available: int, *, per_village: int | None, percent: int | None) -> int:
    """How many of a village's ``available`` inspections are drawn.

    N per village: N, or all of them when the village has fewer. P percent: P % rounded up,
    so a village with any inspection gives at least one.
    """
    if per_village is not None:
        return min(per_village, available)
    return min(available, -(-available * percent // 100))  # integer ceiling


def choose(candidates: dict[str, list[int]], *, seed: int, per_village, percent) -> list[int]:
    """The reproducible draw: villages in code order, each village's inspection ids in id
    order, one ``random.Random(seed)`` for the whole round. Same inputs, same sample."""
    rng = random.Random(seed)
    chosen: list[int] = []
    for village_code in sorted(candidates):
        ids = sorted(candidates[village_code])
        size = sample_size(len(ids), per_village=per_village, percent=percent)
        chosen.extend(sorted(rng.sample(ids, size)))
    return chosen


def _check_method(per_village, percent, seed) -> None:
    errors = {}
    if (per_village is None) == (percent is None):
        errors["method"] = "请在“每村抽取户数”和“抽取比例”中选择一种方式。"
    elif per_village is not None and per_village < 1:
        errors["amount"] = "每村抽取户数至少为 1。"
    elif percent is not None and not 1 <= percent <= 100:
        errors["amount"] = "抽取比例应在 1% 至 100% 之间。"
    if seed is not None and not 0 <= seed <= MAX_SEED:
        errors["seed"] = "随机种子应为不小于 0 的整数（不超过 19 位）。"
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def draw_sample(
    *, actor, round: SurveyRound, per_village=None, percent=None, seed=None
) -> SpotCheckSample:
    """Draw a sample of ``round``'s inspections: N per village or P percent of each village.

    1. Guards: the actor is the round's county; exactly one method; the round has inspections.
    2. Candidates: every inspection of the round, whatever its verification status, grouped by
       the toilet's village.
    3. Draw with ``seed`` (generated and recorded when not given), see ``choose``.
    4. Store the sample and one unassigned item per drawn inspection.
    """
    survey_round = round
    _ensure_manages(actor, survey_round, "只有县级管理员可以抽取抽查样本。")
    _check_method(per_village, percent, seed)
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
        raise ValidationError("本轮次还没有摸排记录，无法抽查。请在各村录入摸排结果后再抽取。")
    if seed is None:
        # Six digits: easy to copy into the written record of the draw.
        seed = 100000 + secrets.randbelow(900000)
    chosen = choose(candidates, seed=seed, per_village=per_village, percent=percent)
    sample = SpotCheckSample.objects.create(
        round=survey_round, per_village=per_village, percent=percent, seed=seed, created_by=actor
    )
    SpotCheckItem.objects.bulk_create(
        SpotCheckItem(sample=sample, original_id=inspection_id) for inspection_id in chosen
    )
    logger.info(
        "spot-check sample %s of round %s drawn by %s: %s items from %s villages, seed %s",
        sample.pk,
        survey_round.pk,
        actor,
        len(chosen),
        len(candidates),
        seed,
    )
    return sample


# Assigning --------------------------------------------------------------------------------


def _names(items, limit=5) -> str:
    labels = [str(item.original.toilet) for item in items[:limit]]
    more = f"等 {len(items)} 户" if len(items) > limit else ""
    return "、".join(labels) + more


@transaction.atomic
def assign_items(*, actor, items, checker) -> int:
    """Send ``checker`` to re-inspect ``items`` (all of one sample); returns how many.

    All or nothing: if the checker may not take one of the items (their own township, their
    own inspection, a result already recorded), nothing is assigned and the message says why.
    """
    if not has_capability(actor, MANAGE_ROUNDS) and not has_capability(actor, MANAGE_SPOTCHECKS):
        raise PermissionDenied("只有县级管理员可以分配抽查任务。")
    items = list(items)
    ids = [item.pk for item in items]
    if not ids:
        raise ValidationError("没有可分配的抽查户。")
    locked = list(
        SpotCheckItem.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("original__toilet__village", "original__toilet__household")
        .order_by("pk")
    )
    sample_ids = {item.sample_id for item in locked}
    if len(sample_ids) != 1 or len(locked) != len(set(ids)):
        raise ValidationError("一次只能分配同一个抽查样本中的户。")
    sample = _lock_sample(locked[0].sample)
    _ensure_manages_sample(actor, sample, "分配抽查任务")
    if sample.is_published:
        raise ValidationError("该抽查样本已公布，不能再分配。")
    done = [item for item in locked if item.checked_at and item.inspector_id != checker.pk]
    if done:
        raise ValidationError(f"已录入抽查结果的户不能改派：{_names(done)}。")
    assignment = (
        RoleAssignment.objects.select_related("user", "region").filter(user=checker).first()
    )
    refusals = []
    for item in locked:
        reason = refusal_for(assignment, item, sample)
        if reason and reason not in refusals:
            refusals.append(reason)
    if refusals:
        raise ValidationError(refusals)
    SpotCheckItem.objects.filter(pk__in=ids).update(inspector=checker)
    for item in items:
        item.inspector = checker
    logger.info(
        "spot-check sample %s: %s items assigned to %s by %s", sample.pk, len(ids), checker, actor
    )
    return len(ids)


# Recording --------------------------------------------------------------------------------


@transaction.atomic
def record_result(*, actor, item: SpotCheckItem, usability, categories, notes="") -> SpotCheckItem:
    """The assigned checker records what they found on site; may be corrected until the
    county (or the campaign's unit) publishes. ``differs`` is whether the usability or the set of problem categories
    differs from the original inspection as it stands now."""
    sample = _lock_sample(item.sample)
    current = (
        SpotCheckItem.objects.select_for_update(of=("self",))
        .select_related("original__toilet__village")
        .get(pk=item.pk)
    )
    if actor is None or current.inspector_id != actor.pk:
        raise PermissionDenied("只有被分配的抽查人可以录入该户的抽查结果。")
    assignment = RoleAssignment.objects.select_related("user", "region").filter(user=actor).first()
    if reason := refusal_for(assignment, current, sample):
        # e.g. the checker has since been moved to the checked township.
        raise PermissionDenied(reason)
    if sample.is_published:
        raise ValidationError("该抽查样本已公布，不能再录入或修改结果。")

    categories = list(categories)
    notes = (notes or "").strip()
    errors = {}
    if usability not in Usability.values:
        errors["usability"] = "请选择抽查时的使用情况。"
    elif usability in PROBLEM_USABILITY and not categories:
        errors["categories"] = "不能使用或不能全年使用的厕所，请至少选择一项问题类型。"
    elif usability not in PROBLEM_USABILITY and categories:
        errors["categories"] = "正常使用的厕所不选问题类型；小毛病请写在说明中。"
    if len(notes) > MAX_NOTES:
        errors["notes"] = f"说明不超过 {MAX_NOTES} 字。"
    if errors:
        raise ValidationError(errors)

    found = {category.pk for category in categories}
    original = current.original
    recorded = set(original.categories.values_list("pk", flat=True))
    current.usability = usability
    current.notes = notes
    current.checked_at = timezone.now()
    current.differs = usability != original.usability or found != recorded
    current.save(update_fields=["usability", "notes", "checked_at", "differs"])
    current.categories.set(categories)
    logger.info(
        "spot-check item %s recorded by %s (differs: %s)", current.pk, actor, current.differs
    )
    return current


# Publishing -------------------------------------------------------------------------------


@transaction.atomic
def publish_sample(*, actor, sample: SpotCheckSample) -> SpotCheckSample:
    """Make the results visible to the checked townships; results are final from then on."""
    locked = _lock_sample(sample)
    _ensure_manages_sample(actor, locked, "公布抽查结果")
    if locked.campaign_id is not None:
        raise ValidationError(
            f"该样本属于{locked.campaign.kind_label}“{locked.campaign.name}”，"
            "请在该抽查的页面统一公布各县（区）的结果。"
        )
    if locked.is_published:
        raise ValidationError(
            f"该抽查样本已于 {timezone.localtime(locked.published_at):%Y-%m-%d %H:%M} 公布。"
        )
    pending = locked.items.filter(checked_at__isnull=True).count()
    if pending:
        raise ValidationError(f"还有 {pending} 户未录入抽查结果，全部录入后才能公布。")
    now = timezone.now()
    SpotCheckSample.objects.filter(pk=locked.pk, published_at__isnull=True).update(published_at=now)
    sample.published_at = now
    logger.info("spot-check sample %s published by %s", sample.pk, actor)
    return sample


# Discrepancy rates ------------------------------------------------------------------------


@dataclass
class RateRow:
    key: str  # village code or surveyor id
    name: str
    detail: str
    sampled: int
    assigned: int
    checked: int
    differing: int

    @property
    def rate(self) -> float | None:
        """Differing items as a percentage of checked items, one decimal; None if none checked."""
        if not self.checked:
            return None
        return round(self.differing * 100 / self.checked, 1)


@dataclass
class RateTable:
    rows: list[RateRow]

    @property
    def total(self) -> RateRow:
        return RateRow(
            key="",
            name="合计",
            detail="",
            sampled=sum(r.sampled for r in self.rows),
            assigned=sum(r.assigned for r in self.rows),
            checked=sum(r.checked for r in self.rows),
            differing=sum(r.differing for r in self.rows),
        )


def _counted(items, *fields):
    """One GROUP BY query: sampled, checked and differing items per value of ``fields``."""
    return (
        items.values(*fields)
        .annotate(
            sampled=Count("id"),
            assigned=Count("id", filter=Q(inspector__isnull=False)),
            checked=Count("id", filter=Q(checked_at__isnull=False)),
            differing=Count("id", filter=Q(differs=True)),
        )
        .order_by(*fields)
    )


def discrepancy_by_village(sample: SpotCheckSample, user, *, manages=None) -> RateTable:
    """Rates per village, in code order, over the items the user may see results of."""
    village = "original__toilet__village__"
    rows = _counted(
        result_items(sample, user, manages=manages),
        f"{village}code",
        f"{village}name",
        f"{village}parent__name",
    )
    return RateTable(
        [
            RateRow(
                key=row[f"{village}code"],
                name=row[f"{village}name"],
                detail=row[f"{village}parent__name"] or "",
                sampled=row["sampled"],
                assigned=row["assigned"],
                checked=row["checked"],
                differing=row["differing"],
            )
            for row in rows
        ]
    )


def discrepancy_by_surveyor(sample: SpotCheckSample, user, *, manages=None) -> RateTable:
    """Rates per original surveyor, worst first, over the items the user may see results of."""
    surveyor = "original__surveyor__"
    rows = _counted(
        result_items(sample, user, manages=manages),
        f"{surveyor}id",
        f"{surveyor}username",
        f"{surveyor}first_name",
        f"{surveyor}last_name",
    )
    table = [
        RateRow(
            key=str(row[f"{surveyor}id"]),
            name=f"{row[f'{surveyor}first_name']} {row[f'{surveyor}last_name']}".strip()
            or row[f"{surveyor}username"],
            detail=row[f"{surveyor}username"],
            sampled=row["sampled"],
            assigned=row["assigned"],
            checked=row["checked"],
            differing=row["differing"],
        )
        for row in rows
    ]
    table.sort(key=lambda r: (-(r.rate or 0), r.detail))
    return RateTable(table)

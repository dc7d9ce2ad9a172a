"""The chain above the county: collections (汇总任务) of a city or the province, the stamped
tables delivered to them from one level down, their review, and the unit's own table built
from the accepted ones, stamped, and delivered further up.

County → city works as township → county does: the city sees each county as 未上报 / 已上报 /
已接收 / 已退回, opens the county's frozen table and stamped file, accepts it or returns it
with a reason. The city's table is one row per county (each the 合计 of the accepted county
version) plus 合计, checked with the same rules, stamped with the city's seal and a fresh
verification code, and delivered to the province's collection the same way.

Every write takes ``actor=``, is atomic, guarded and logged; reads go through the scoping.
"""

import datetime
import hashlib
import logging
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.concurrency import check_version
from core.errors import ConflictError
from regions.choices import (
    MANAGE_COLLECTIONS,
    REVIEW_LOWER_TABLES,
    SUBMIT_COUNTY,
    SUBMIT_UPWARD,
    Level,
)
from regions.guards import require
from regions.models import Region
from regions.scoping import scope_of

from .build import Row
from .columns import COLUMNS
from .models import (
    Collection,
    Delivery,
    DeliveryStatus,
    Seal,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from .queries import values_of
from .rules import Violation, check_table
from .services import (
    REASON_MAX,
    Refused,
    _read,
    _remove,
    clean_filler,
    new_code,
    stored_values,
)
from .sheet import TITLE_SUFFIX, row_label
from .stamp import stamped_workbook

logger = logging.getLogger(__name__)

# The level a collection's unit collects from, and the kind of table each level sends.
BELOW = {Level.CITY: Level.COUNTY, Level.PROVINCE: Level.CITY}
KIND_OF = {
    Level.COUNTY: SubmissionKind.COUNTY,
    Level.CITY: SubmissionKind.CITY,
    Level.PROVINCE: SubmissionKind.PROVINCE,
}
NOT_DELIVERED = "未上报"
NAME_MAX = 100


# Reads ----------------------------------------------------------------------------------------


def own_unit(user) -> Region | None:
    scope = scope_of(user)
    return scope.region if scope is not None else None


def units_below(collection: Collection) -> list[Region]:
    """The units a collection collects from: the city's counties, the province's cities."""
    below = BELOW[Level(collection.region.level)]
    return list(
        Region.objects.filter(parent=collection.region, level=below, abolished=False).order_by(
            "code"
        )
    )


@dataclass
class UnitState:
    """One unit below a collection, as the collecting unit sees it."""

    region: Region
    delivery: Delivery | None  # its latest delivery
    late: bool

    @property
    def status_label(self) -> str:
        return self.delivery.get_status_display() if self.delivery else NOT_DELIVERED

    @property
    def accepted(self) -> bool:
        return self.delivery is not None and self.delivery.status == DeliveryStatus.ACCEPTED


@dataclass
class UnitTable:
    """A collection's table as the accepted deliveries make it, and what is missing."""

    collection: Collection
    units: list[UnitState]
    rows: list[Row] = field(default_factory=list)
    total: dict[int, int] = field(default_factory=dict)

    @property
    def waiting(self) -> list[UnitState]:
        return [u for u in self.units if not u.accepted]

    @property
    def violations(self) -> list[Violation]:
        if self.waiting:
            return []
        return check_table([(r.name, r.values) for r in self.rows], ("合计", self.total))

    @property
    def used(self) -> list[Delivery]:
        return [u.delivery for u in self.units if u.accepted]


def latest_deliveries(user, collection: Collection) -> dict[int, Delivery]:
    """Each unit's latest delivery to the collection, read through the scoping."""
    latest: dict[int, Delivery] = {}
    for delivery in (
        Delivery.objects.visible_to(user)
        .filter(collection=collection)
        .select_related("submission", "delivered_by", "reviewed_by", "region")
        .order_by("region_id", "-delivered_at", "-id")
    ):
        latest.setdefault(delivery.region_id, delivery)
    return latest


def unit_table(user, collection: Collection, *, today: datetime.date | None = None) -> UnitTable:
    today = today or timezone.localdate()
    latest = latest_deliveries(user, collection)
    units = []
    for region in units_below(collection):
        delivery = latest.get(region.pk)
        pending = delivery is None or delivery.status == DeliveryStatus.RETURNED
        units.append(UnitState(region, delivery, late=pending and today > collection.deadline))
    table = UnitTable(collection, units)
    for unit in units:
        if unit.accepted:
            table.rows.append(
                Row(unit.region.code, unit.region.name, values_of(unit.delivery.submission.total))
            )
    table.total = {c: sum(row.values[c] for row in table.rows) for c in COLUMNS}
    return table


def sendable_tables(user, collection: Collection):
    """The user's unit's stamped tables it could deliver to the collection, newest first (a
    unit has a few versions per round)."""
    unit = own_unit(user)
    if unit is None or BELOW.get(Level(collection.region.level)) != unit.level:
        return Submission.objects.none()
    return (
        Submission.objects.visible_to(user)
        .filter(region=unit, kind=KIND_OF[Level(unit.level)], status=SubmissionStatus.FINAL)
        .select_related("survey_round", "collection")
        .order_by("-submitted_at")
    )


def collections_for(user):
    return Collection.objects.visible_to(user).select_related("region", "template", "parent")


def note_for(user, delivery: Delivery) -> str:
    """The review note as this user may read it: the sender only once the decision is sent."""
    unit = own_unit(user)
    if unit is not None and unit.pk == delivery.region_id and not delivery.decided:
        return ""
    return delivery.review_note


# Guards ---------------------------------------------------------------------------------------


def _collector(actor, collection: Collection, what: str):
    """The actor belongs to the collecting unit itself (not above it, not below it)."""
    unit = own_unit(actor)
    if unit is None or unit.pk != collection.region_id:
        raise PermissionDenied(f"只有{collection.region.name}可以{what}。")


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "请填写汇总任务名称。"})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"名称不能超过 {NAME_MAX} 字。"})
    return name


# Collections ----------------------------------------------------------------------------------


def create_collection(
    *, actor, name: str, template, deadline: datetime.date, parent: Collection | None = None
) -> Collection:
    """Open a collection of the own unit (city or province) with the deadline for the units
    below; a city's names the province's collection its own table goes to."""
    require(actor, MANAGE_COLLECTIONS, "只有市级、省级管理员可以发布汇总任务。")
    unit = own_unit(actor)
    if unit is None or unit.level not in BELOW:
        raise PermissionDenied("汇总任务须由市级或省级发布。")
    name = _clean_name(name)
    if not isinstance(deadline, datetime.date):
        raise ValidationError({"deadline": "请填写报送截止日期。"})
    if parent is not None:
        if unit.parent_id != parent.region_id:
            raise ValidationError({"parent": "只能报送到本单位的上级汇总任务。"})
        if parent.template_id != template.pk:
            raise ValidationError({"parent": "上级汇总任务使用的报表模板与本任务不同。"})
    try:
        with transaction.atomic():
            collection = Collection.objects.create(
                region=unit,
                name=name,
                template=template,
                deadline=deadline,
                parent=parent,
                created_by=actor,
            )
    except IntegrityError as exc:
        raise ValidationError({"name": "本单位已有同名的汇总任务。"}) from exc
    logger.info("collection %s (%s) opened by %s", collection.pk, unit.code, actor)
    return collection


# Deliveries -----------------------------------------------------------------------------------


def deliver(*, actor, submission: Submission, collection: Collection) -> Delivery:
    """Send the own unit's stamped table to the collection above it.

    The table must be the unit's latest version, on the collection's template; a pending
    delivery is superseded by the new one; an accepted one stays until the receiver returns it.
    """
    unit = own_unit(actor)
    if unit is None or unit.pk != submission.region_id:
        raise PermissionDenied("只能报送本单位的汇总表。")
    capability = SUBMIT_COUNTY if unit.level == Level.COUNTY else SUBMIT_UPWARD
    require(actor, capability, "只有县级、市级管理员可以向上级报送汇总表。")
    if collection.region_id != unit.parent_id or BELOW.get(collection.region.level) != unit.level:
        raise PermissionDenied("只能报送到本单位的上一级汇总任务。")
    if submission.status != SubmissionStatus.FINAL or submission.kind != KIND_OF[unit.level]:
        raise ConflictError("只有盖章的汇总表可以向上级报送。")
    template_id = (
        submission.survey_round.template_id
        if submission.survey_round_id
        else submission.collection.template_id
    )
    if template_id != collection.template_id:
        raise ConflictError(
            f"该汇总表使用的报表模板与“{collection.name}”要求的“{collection.template.name}”不同，"
            "请按要求的模板重新生成后报送。"
        )
    with transaction.atomic():
        # Two senders of the unit queue on the collection's row (the unit may have no
        # delivery yet to lock), then read its deliveries.
        Collection.objects.select_for_update().filter(pk=collection.pk).first()
        live = list(
            Delivery.objects.select_for_update()
            .filter(collection=collection, region=unit)
            .order_by("-delivered_at", "-id")
        )
        newest = (
            Submission.objects.filter(
                region=unit,
                survey_round=submission.survey_round_id,
                collection=submission.collection_id,
            ).aggregate(v=Max("version"))["v"]
            or 0
        )
        if submission.version != newest:
            raise ConflictError(f"该汇总表已有更新的第{newest}版，请报送最新版本。")
        for delivery in live:
            if delivery.status == DeliveryStatus.ACCEPTED:
                raise ConflictError(
                    f"{collection.region.name}已接收本单位的汇总表；如需更正，请联系上级退回后再报送。"
                )
            if delivery.status == DeliveryStatus.SUBMITTED:
                if delivery.submission_id == submission.pk:
                    raise ConflictError("该版本已经报送，正在等待上级审核。")
                delivery.status = DeliveryStatus.SUPERSEDED
                delivery.version += 1
                delivery.save(update_fields=["status", "version"])
        delivery = Delivery.objects.create(
            collection=collection, region=unit, submission=submission, delivered_by=actor
        )
    logger.info(
        "%s delivered submission %s (v%s) to collection %s by %s",
        unit.code,
        submission.pk,
        submission.version,
        collection.pk,
        actor,
    )
    return delivery


def _review(actor, delivery: Delivery, expected_version, what: str) -> Delivery:
    require(actor, REVIEW_LOWER_TABLES, f"只有市级、省级管理员可以{what}。")
    _collector(actor, delivery.collection, what)
    locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
    check_version(locked.version, expected_version, "该报送刚刚被其他人处理过，请刷新后查看。")
    return locked


def save_review_note(*, actor, delivery: Delivery, note: str, expected_version=None) -> Delivery:
    """The receiver's working note; the sender reads it only with the decision."""
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationError({"review_note": "审核意见不能超过 2000 字。"})
    with transaction.atomic():
        locked = _review(actor, delivery, expected_version, "填写审核意见")
        if locked.status != DeliveryStatus.SUBMITTED:
            raise ConflictError("该报送已审核完毕，审核意见随审核结果一并发送，不能再修改。")
        locked.review_note = note
        locked.version += 1
        locked.save(update_fields=["review_note", "version"])
    logger.info("review note on delivery %s saved by %s", delivery.pk, actor)
    return locked


def accept_delivery(*, actor, delivery: Delivery, expected_version=None) -> Delivery:
    with transaction.atomic():
        locked = _review(actor, delivery, expected_version, "接收下级汇总表")
        if locked.status != DeliveryStatus.SUBMITTED:
            raise ConflictError(f"该报送{locked.get_status_display()}，不能接收。")
        locked.status = DeliveryStatus.ACCEPTED
        locked.reviewed_by, locked.reviewed_at = actor, timezone.now()
        locked.version += 1
        locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "version"])
    logger.info("delivery %s accepted by %s", delivery.pk, actor)
    return locked


def return_delivery(*, actor, delivery: Delivery, reason: str, expected_version=None) -> Delivery:
    """Return a pending or accepted table with a reason. A table of the collecting unit
    stamped before keeps its numbers; the next version waits for the resubmitted one."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写退回原因。"})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"退回原因不能超过 {REASON_MAX} 字。"})
    with transaction.atomic():
        locked = _review(actor, delivery, expected_version, "退回下级汇总表")
        if locked.status not in (DeliveryStatus.SUBMITTED, DeliveryStatus.ACCEPTED):
            raise ConflictError(f"该报送{locked.get_status_display()}，不能退回。")
        locked.status = DeliveryStatus.RETURNED
        locked.return_reason = reason
        locked.reviewed_by, locked.reviewed_at = actor, timezone.now()
        locked.version += 1
        locked.save(
            update_fields=["status", "return_reason", "reviewed_by", "reviewed_at", "version"]
        )
    logger.info("delivery %s returned by %s: %s", delivery.pk, actor, reason)
    return locked


# The unit's own table -------------------------------------------------------------------------


def submit_unit_table(*, actor, collection: Collection, filler_name, filler_phone, filled_on):
    """Build the collecting unit's table from the accepted deliveries, check it, stamp it.

    Every unit below must be accepted; any broken rule refuses. The rows are the accepted
    versions' frozen 合计 rows (never a fresh build), so the table equals their sum.
    """
    require(actor, SUBMIT_UPWARD, "只有市级管理员可以生成并报送本级汇总表。")
    _collector(actor, collection, "生成本级汇总表")
    unit = collection.region
    name, phone = clean_filler(filler_name, filler_phone, filled_on)
    stored_file = None
    try:
        with transaction.atomic():
            list(
                Delivery.objects.select_for_update()
                .filter(collection=collection)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            table = unit_table(actor, collection)
            if table.waiting:
                raise Refused(
                    f"还有 {len(table.waiting)} 个单位的汇总表未接收，不能生成本级汇总表。",
                    [f"{u.region.name}（{u.status_label}）" for u in table.waiting],
                )
            if table.violations:
                raise Refused(
                    f"汇总表有 {len(table.violations)} 处违反约束规则，不能报送。",
                    [f"违反规则 {v.rule}：{v.message}" for v in table.violations],
                )
            version = (
                Submission.objects.filter(collection=collection, region=unit).aggregate(
                    v=Max("version")
                )["v"]
                or 0
            ) + 1
            now = timezone.now()
            seal = Seal.objects.filter(region=unit).first()
            seal_bytes = _read(seal.image) if seal else None
            code = new_code()
            labels = [bucket["label"] for bucket in collection.template.year_buckets]
            workbook = stamped_workbook(
                title=f"{unit.name}{TITLE_SUFFIX}（{collection.name}）",
                unit=unit.name,
                row_label=row_label(unit.level),
                rows=[(row.name, row.values) for row in table.rows],
                total=table.total,
                filler=name,
                phone=phone,
                filled_on=filled_on,
                bucket_labels=labels,
                code=code,
                version=version,
                round_name=collection.name,
                submitted_at=timezone.localtime(now),
                seal=seal_bytes,
            )
            submission = Submission(
                collection=collection,
                region=unit,
                kind=KIND_OF[unit.level],
                version=version,
                status=SubmissionStatus.FINAL,
                cutoff=max(d.submission.cutoff for d in table.used) if table.used else now,
                rows=[
                    {"code": row.code, "name": row.name, "values": stored_values(row.values)}
                    for row in table.rows
                ],
                total=stored_values(table.total),
                sources={
                    "units": [
                        {
                            "region": d.region.code,
                            "name": d.region.name,
                            "delivery": d.pk,
                            "submission": d.submission_id,
                            "version": d.submission.version,
                            "code": d.submission.code,
                        }
                        for d in table.used
                    ],
                    "seal": bool(seal_bytes),
                },
                submitted_by=actor,
                filler_name=name,
                filler_phone=phone,
                filled_on=filled_on,
                code=code,
                sha256=hashlib.sha256(workbook).hexdigest(),
            )
            submission.file.save(
                f"{unit.code[:4]}_c{collection.pk}_v{version}_{code}.xlsx",
                ContentFile(workbook),
                save=False,
            )
            stored_file = submission.file
            submission.save()
    except IntegrityError as exc:
        _remove(stored_file)
        raise ConflictError("本单位刚刚有人生成了新版本，请刷新后查看。") from exc
    except Exception:
        _remove(stored_file)
        raise
    logger.info(
        "%s stamped v%s of collection %s (submission %s, code %s) by %s",
        unit.code,
        version,
        collection.pk,
        submission.pk,
        submission.code,
        actor,
    )
    return submission


# The home page ----------------------------------------------------------------------------


HOME_SHOWN = 3


def home_collections(user) -> list[dict]:
    """The latest collections the user's unit answers or collects, with where they stand: for
    a collecting unit how many units are accepted and late, for a sender its latest state."""
    unit = own_unit(user)
    if unit is None or unit.level not in (Level.COUNTY, Level.CITY, Level.PROVINCE):
        return []
    today = timezone.localdate()
    found = []
    own_and_above = [pk for pk in (unit.pk, unit.parent_id) if pk]
    for collection in collections_for(user).filter(region_id__in=own_and_above)[:HOME_SHOWN]:
        if collection.region_id == unit.pk:
            table = unit_table(user, collection, today=today)
            found.append(
                {
                    "collection": collection,
                    "collector": True,
                    "accepted": sum(1 for u in table.units if u.accepted),
                    "units": len(table.units),
                    "late": sum(1 for u in table.units if u.late),
                    "pending": sum(
                        1
                        for u in table.units
                        if u.delivery and u.delivery.status == DeliveryStatus.SUBMITTED
                    ),
                }
            )
        else:
            latest = latest_deliveries(user, collection).get(unit.pk)
            found.append(
                {
                    "collection": collection,
                    "collector": False,
                    "delivery": latest,
                    "status": latest.get_status_display() if latest else NOT_DELIVERED,
                    "late": (latest is None or latest.status == DeliveryStatus.RETURNED)
                    and today > collection.deadline,
                }
            )
    return found

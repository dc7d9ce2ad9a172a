"""Writes to the problem ledger. The close-out transitions arrive with the rectification
issue; here: keeping each toilet's single open entry in step with its inspections."""

import logging

from .choices import LedgerState
from .models import LedgerEntry, LedgerLog

logger = logging.getLogger(__name__)


def _describe(inspection) -> str:
    names = "、".join(c.name for c in inspection.categories.all())
    return f"{inspection.get_usability_display()}：{names}"


def _log(entry, *, actor, inspection, to_state, note, from_state=""):
    """The immutable log row every change of an entry writes."""
    return LedgerLog.objects.create(
        entry=entry,
        actor=actor,
        from_state=from_state,
        to_state=to_state,
        note=note,
        inspection=inspection,
    )


def sync_from_inspection(*, actor, inspection) -> LedgerEntry | None:
    """Open, update or withdraw the toilet's open ledger entry after an inspection is saved.

    Runs inside the caller's transaction (the inspection save). A problem toilet gets one open
    entry, created by the first inspection that finds it and updated by later ones. When an
    inspection is corrected to 正常使用 before anything was done on the entry it opened, the
    entry was a data-entry mistake and is withdrawn; an entry opened earlier stays open (a
    re-check finding the toilet usable does not close it: closing needs evidence).
    """
    entry = LedgerEntry.objects.select_for_update().filter(toilet=inspection.toilet).open().first()
    if inspection.is_problem:
        if entry is None:
            entry = LedgerEntry.objects.create(
                toilet=inspection.toilet,
                found_in=inspection.round,
                opened_by_inspection=inspection,
                last_inspection=inspection,
                usability=inspection.usability,
            )
            entry.categories.set(inspection.categories.all())
            _log(
                entry,
                actor=actor,
                inspection=inspection,
                to_state=LedgerState.REGISTERED,
                note=f"摸排发现问题（{inspection.round}）：{_describe(inspection)}",
            )
            logger.info("ledger entry %s opened by inspection %s", entry.pk, inspection.pk)
            return entry
        entry.usability = inspection.usability
        entry.last_inspection = inspection
        entry.save(update_fields=["usability", "last_inspection", "updated_at"])
        entry.categories.set(inspection.categories.all())
        _log(
            entry,
            actor=actor,
            inspection=inspection,
            from_state=entry.state,
            to_state=entry.state,
            note=f"摸排更新（{inspection.round}）：{_describe(inspection)}",
        )
        return entry

    if entry is None:
        return None
    if entry.opened_by_inspection_id == inspection.pk and entry.state == LedgerState.REGISTERED:
        # The only finding behind this entry was corrected: the entry never stood. It is kept,
        # withdrawn, with the correction in its log.
        _log(
            entry,
            actor=actor,
            inspection=inspection,
            from_state=entry.state,
            to_state=LedgerState.WITHDRAWN,
            note=f"摸排更正为正常使用（{inspection.round}），撤销该问题登记",
        )
        entry.state = LedgerState.WITHDRAWN
        entry.save(update_fields=["state", "updated_at"])
        logger.info("ledger entry %s withdrawn: inspection %s corrected", entry.pk, inspection.pk)
        return None
    _log(
        entry,
        actor=actor,
        inspection=inspection,
        from_state=entry.state,
        to_state=entry.state,
        note=f"复查（{inspection.round}）：使用正常，待按整改流程核实销号",
    )
    return entry

"""Where higher apps act on surveys without surveys importing them (connected in their
``AppConfig.ready()``)."""

from core.hooks import Hook

inspection_saved = Hook(
    "inspection_saved",
    """Sent by ``surveys.services.save_inspection`` with ``actor`` and ``inspection`` after the
    inspection, its categories and photos are written, inside the same transaction (the
    problem ledger opens, updates or withdraws the toilet's entry).""",
)

worklist_annotations = Hook(
    "worklist_annotations",
    """Sent by the worklist with ``survey_round``; each receiver returns a dict of name →
    boolean expression over the round's toilets (e.g. ``recheck``: still open from an earlier
    round), added to the worklist's rows.""",
)

"""What a survey finding does to the problem ledger: one rule for the inspection pages and API
(``services.sync_from_inspection``) and for the Excel ledger import (``imports.engine``).

``decide`` is the rule, a pure function of a few facts; each caller gathers the facts with
``entries_concerned``, ``own_and_open`` and ``moved_entries`` and applies the decision its own
way (the pages with one ORM write and a log row, the import in bulk).

A finding concerns at most two entries of its toilet: its *own* entry, the one its inspection
opened (kept even when it has ended, so that a correction can bring it back), and the toilet's
*open* entry (at most one: a database constraint). Usually they are the same entry.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q

from .choices import ENDED_STATES, LedgerState
from .models import LedgerEntry, LedgerLog
from .workflow import SYNC_ACTIONS

# Log actions that only mirror survey findings (register, inspect, withdraw, import). Any other
# action is a move of the close-out workflow, after which a finding no longer changes the
# entry's state: closing needs evidence, and the workflow's work is not undone by a survey.
# A public report the township verified ("report": opened from it, or merged into the entry)
# is the township's act, not a survey's mirror: a later 正常使用 finding does not withdraw it.
FINDING_ACTIONS = frozenset(SYNC_ACTIONS) - {"report"}

OWN = "own"
CURRENT = "current"


class Act(StrEnum):
    OPEN = "open"  # a new entry, in ``Decision.state``
    UPDATE = "update"  # refresh the entry's finding; move it to ``Decision.state`` if set
    WITHDRAW = "withdraw"  # the finding behind the entry was corrected: it never stood
    RECHECK = "recheck"  # found usable, the entry stays open: a log note only
    NOTHING = "nothing"


@dataclass(frozen=True)
class EntryFacts:
    """What the rule needs of an entry."""

    pk: int
    state: str
    moved: bool  # the close-out workflow has acted on it (its log has a non-finding action)

    @property
    def ended(self) -> bool:
        return self.state in ENDED_STATES


@dataclass(frozen=True)
class Decision:
    act: Act
    on: str | None = None  # OWN or CURRENT: the entry acted on (None for OPEN and NOTHING)
    state: str | None = None  # OPEN: the new entry's state; UPDATE: the target (None: stays)

    def entry(self, own, current):
        """The entry, of the two given to ``decide``, that this decision acts on."""
        return {OWN: own, CURRENT: current}.get(self.on)


NOTHING = Decision(Act.NOTHING)


def decide(
    *,
    is_problem: bool,
    closed: bool = False,
    changed: bool = True,
    own: EntryFacts | None,
    current: EntryFacts | None,
) -> Decision:
    """What one finding does to the ledger.

    ``is_problem``: the toilet was found not (fully) usable. ``closed``: the ledger row says
    已销号 (only the import has it). ``changed``: the finding is new or differs from what was
    last applied (False when a re-import reads the same row again). ``own``: the entry this
    finding's inspection opened; ``current``: the toilet's open entry.
    """
    if not is_problem:
        if not changed:
            return NOTHING
        if own is not None and not own.ended and not own.moved:
            # The only finding behind this entry was corrected: the entry never stood.
            return Decision(Act.WITHDRAW, OWN)
        if current is not None:
            # A re-check found it usable: closing needs evidence, so the entry stays open.
            return Decision(Act.RECHECK, CURRENT)
        return NOTHING

    wanted = LedgerState.CLOSED if closed else LedgerState.REGISTERED
    # An own entry the workflow closed out was dealt with: a corrected finding of a problem
    # is the toilet found broken again, for the open entry or a new one.
    broken_again = own is not None and own.ended and own.moved and changed and not closed
    if own is not None and not broken_again:
        blocked = current is not None and current.pk != own.pk  # another entry is open
        movable = not own.moved and (wanted == LedgerState.CLOSED or not blocked)
        return Decision(Act.UPDATE, OWN, wanted if movable and own.state != wanted else None)
    if current is not None:
        movable = not current.moved
        return Decision(
            Act.UPDATE, CURRENT, wanted if movable and current.state != wanted else None
        )
    return Decision(Act.OPEN, state=wanted)


def entries_concerned(toilet_ids, inspection_ids):
    """The entries findings of these inspections of these toilets can concern: the toilets'
    open entries and the entries the inspections opened (whatever their state)."""
    return LedgerEntry.objects.filter(toilet_id__in=toilet_ids).filter(
        ~Q(state__in=ENDED_STATES) | Q(opened_by_inspection_id__in=inspection_ids)
    )


def own_and_open(entries, inspection_id):
    """``(own, current)`` among one toilet's ``entries`` (from ``entries_concerned``): the entry
    ``inspection_id`` opened — the open one if it is open, else the latest — and the open one."""
    entries = list(entries)
    current = next((e for e in entries if e.state not in ENDED_STATES), None)
    own = [e for e in entries if e.opened_by_inspection_id == inspection_id]
    if current is not None and current in own:
        return current, current
    return max(own, key=lambda e: e.pk, default=None), current


def moved_entries(entry_ids) -> set[int]:
    """Those of ``entry_ids`` the close-out workflow has acted on (one query)."""
    entry_ids = list(entry_ids)
    if not entry_ids:
        return set()
    return set(
        LedgerLog.objects.filter(entry_id__in=entry_ids)
        .exclude(action__in=FINDING_ACTIONS)
        .values_list("entry_id", flat=True)
        .distinct()
    )


def facts(entry, moved: set[int]) -> EntryFacts | None:
    """The rule's view of ``entry`` (None stays None); ``moved`` from ``moved_entries``."""
    if entry is None:
        return None
    return EntryFacts(pk=entry.pk, state=entry.state, moved=entry.pk in moved)

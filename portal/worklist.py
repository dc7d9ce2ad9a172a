"""What the surveyor's worklist (a surveys page) learns from the problem ledger."""

from django.db.models import Exists, OuterRef

from rectification.models import LedgerEntry


def recheck_annotation(*, survey_round) -> dict:
    """上轮问题待复查: the toilet still has a ledger entry open from before this round."""
    earlier_open = LedgerEntry.objects.open().filter(
        toilet=OuterRef("pk"), created_at__lt=survey_round.opened_at or survey_round.created_at
    )
    return {"recheck": Exists(earlier_open)}

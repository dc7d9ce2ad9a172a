"""The township's pending correction requests of a round, for pages whose view does not
list them (the review queue): read through the scoping like everything else."""

from django import template

from surveys.models import CorrectionRequest, CorrectionStatus

register = template.Library()

SHOWN = 20


@register.simple_tag
def pending_corrections(user, survey_round) -> dict:
    """``{"total": n, "items": [the oldest SHOWN]}`` of the round's pending requests in scope."""
    pending = CorrectionRequest.objects.visible_to(user).filter(
        inspection__round=survey_round, status=CorrectionStatus.PENDING
    )
    items = list(
        pending.select_related(
            "inspection__toilet__household", "inspection__toilet__village", "surveyor"
        ).order_by("created_at", "id")[:SHOWN]
    )
    total = len(items) if len(items) < SHOWN else pending.count()
    return {"total": total, "items": items}

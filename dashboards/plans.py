"""The dashboard's 整改方案 panel: how many townships of the round's county have not submitted
their rectification plan, have it waiting for review, on record, or returned."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.http import urlencode

from rectification.plans import STATE_COLUMNS, state_counts
from regions.choices import Level


@dataclass
class PlanPanel:
    columns: list[tuple[str, str, int]]  # (state, label, townships)
    total: int
    url: str


def plan_panel(frame) -> PlanPanel | None:
    """The panel for a county's (or a township's, a city's) dashboard; none for a village."""
    if frame.region.level == Level.VILLAGE:
        return None
    counts = state_counts(frame.user, frame.survey_round, frame.region)
    url = reverse("rectification:plans") + "?" + urlencode({"round": frame.survey_round.pk})
    return PlanPanel(
        columns=[(key, label, counts[key]) for key, label in STATE_COLUMNS],
        total=sum(counts.values()),
        url=url,
    )

"""What the completeness gate (全覆盖、不漏一户) needs before a test submits: every toilet in
use of the round's county inspected and verified, and the round closed. Tests that add a
finding afterwards re-open the round with ``reopen_for_test`` (setup, not the service)."""

from surveys.choices import InspectionStatus, RoundStatus
from surveys.models import Inspection, SurveyRound
from tests.factories import InspectionFactory
from toilets.models import Toilet


def complete_round(survey_round):
    """Verify every inspection of the round, inspect (normal, verified) every toilet in use
    nobody inspected, close the round."""
    Inspection.objects.filter(round=survey_round).update(status=InspectionStatus.VERIFIED)
    for toilet in (
        Toilet.objects.active()
        .filter(village__code__startswith=survey_round.county.prefix)
        .exclude(inspections__round=survey_round)
    ):
        InspectionFactory(round=survey_round, toilet=toilet, status=InspectionStatus.VERIFIED)
    close(survey_round)


def close(survey_round):
    SurveyRound.objects.filter(pk=survey_round.pk).update(status=RoundStatus.CLOSED)
    survey_round.refresh_from_db()


def reopen_for_test(survey_round):
    SurveyRound.objects.filter(pk=survey_round.pk).update(status=RoundStatus.OPEN)
    survey_round.refresh_from_db()

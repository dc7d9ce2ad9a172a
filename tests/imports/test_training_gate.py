"""An import writes verified inspections, so a township reviewer imports only once trained
(先培训后上岗), as for verifying on the pages and the API."""

import io

import pytest
from django.core.exceptions import PermissionDenied

from imports.engine import import_ledger
from regions.choices import Role
from regions.models import TrainingRecord
from surveys.models import Inspection
from tests.factories import UserFactory
from tests.ledger_files import ledger_row, ledger_xlsx
from toilets.models import Toilet

pytestmark = pytest.mark.django_db


def test_an_untrained_reviewer_imports_nothing_until_trained(tree):
    reviewer = UserFactory(username="new_t1", role=(Role.TOWNSHIP, tree.t1), trained=False)
    data = ledger_xlsx([ledger_row()])
    with pytest.raises(PermissionDenied, match="先培训后上岗"):
        import_ledger(io.BytesIO(data), round_name="2022年摸排", actor=reviewer)
    assert not Toilet.objects.exists() and not Inspection.objects.exists()

    TrainingRecord.objects.create(
        user=reviewer, trained_on="2026-03-02", course="核查业务培训", trainer="县农业农村局"
    )
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)  # a fresh scope
    result = import_ledger(io.BytesIO(data), round_name="2022年摸排", actor=reviewer)
    assert result.saved, result.errors
    assert Inspection.objects.filter(status="verified").count() == 1

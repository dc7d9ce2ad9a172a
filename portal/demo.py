"""The demo county, seeded app by app: the register (toilets), an open round (surveys),
ledger entries at every close-out step (rectification), and the public side (public: service
phones, plates, leads). Deterministic and idempotent, so ``seed_demo`` can run on every
``make run``."""

from django.db import transaction

from public.demo import demo_pages, seed_public
from rectification.demo import seed_ledger
from reports.demo import seed_chain
from surveys.choices import RoundStatus
from surveys.demo import open_round
from toilets.demo import SeedResult, seed_register


@transaction.atomic
def seed_demo(households: int = 600) -> SeedResult:
    """Create what is missing of the demo county; running it again changes nothing."""
    result, county, townships, villages = seed_register(households)
    survey_round = open_round(county)
    if survey_round.status == RoundStatus.OPEN:
        first = townships[0]
        seed_ledger(survey_round, first, [v for v in villages if v.parent_id == first.pk])
    seed_public(county, townships, villages)
    seed_chain(county, result)
    first_village = next(v for v in villages if v.parent_id == townships[0].pk)
    result.pages.extend(demo_pages(first_village))
    return result

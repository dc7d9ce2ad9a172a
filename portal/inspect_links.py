"""The 摸排 link of a toilet on the register's pages (一户一档, the toilet page): to the open
round's inspection of it, for a user who may inspect."""

from django.urls import reverse

from regions.choices import INSPECT
from regions.scoping import has_capability
from surveys.choices import InspectionStatus
from surveys.models import Inspection
from surveys.queries import current_round
from toilets.choices import ToiletStatus


def covers(survey_round, toilet, village) -> bool:
    """The open round takes an inspection of the toilet (in ``village``): it is in use, in the
    round's county."""
    return (
        survey_round is not None
        and survey_round.is_open
        and toilet.status == ToiletStatus.ACTIVE
        and village.code.startswith(survey_round.county.prefix)
    )


def inspect_link(survey_round, toilet, inspection, village) -> dict | None:
    """The link for ``toilet`` given its ``inspection`` in the open round (or None): 摸排 (or
    现在摸排) when not yet surveyed, 修改 while the township has not verified it, else 查看."""
    if not covers(survey_round, toilet, village):
        return None
    inspect = reverse("surveys:inspect", args=[survey_round.pk, toilet.pk])
    if inspection is None:
        return {"label": "摸排", "url": inspect, "primary": True, "status": ""}
    if inspection.status == InspectionStatus.VERIFIED:
        url = reverse("surveys:inspection-detail", args=[inspection.pk])
        return {"label": "查看摸排", "url": url, "primary": False, "status": inspection.status}
    returned = inspection.status == InspectionStatus.RETURNED
    return {
        "label": "修改摸排（被退回）" if returned else "修改摸排",
        "url": inspect,
        "primary": returned,
        "status": inspection.status,
    }


def household_inspect_links(user, household) -> dict:
    """For the household page: the open round and, per toilet (by id), its 摸排 link, read
    from the household's prefetched toilets and inspections (one query for the round)."""
    if not has_capability(user, INSPECT):
        return {"round": None, "links": {}}
    survey_round = current_round(user)
    links = {}
    for toilet in household.toilets.all():
        inspection = next(
            (i for i in toilet.inspections.all() if survey_round and i.round_id == survey_round.pk),
            None,
        )
        # A household's toilets are in its village (moving a household moves them).
        link = inspect_link(survey_round, toilet, inspection, household.village)
        if link is not None:
            links[toilet.pk] = link
    return {"round": survey_round, "links": links}


def toilet_page_links(*, user, toilet) -> list[dict]:
    """The toilet page's 摸排 link (receiver of ``toilets.hooks.toilet_links``): 现在摸排 for a
    toilet not yet surveyed in the open round."""
    if not has_capability(user, INSPECT):
        return []
    survey_round = current_round(user)
    if not covers(survey_round, toilet, toilet.village):
        return []
    inspection = Inspection.objects.filter(round=survey_round, toilet=toilet).first()
    link = inspect_link(survey_round, toilet, inspection, toilet.village)
    if inspection is None:
        link["label"] = "现在摸排"
    return [link]

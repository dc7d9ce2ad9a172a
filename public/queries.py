"""Reads of the public side shared by pages and tests: what the public page may show, the
township's queue and its counts, the 公示 list."""

from django.db.models import Q
from django.urls import reverse

from rectification.choices import LedgerState
from rectification.models import LedgerEntry
from toilets.choices import Funding, ToiletKind
from toilets.identity import mask_id_number
from toilets.models import Toilet

from .choices import LeadState
from .models import Lead, Plate

PUBLIC_LEADS_SHOWN = 10


def active_plate(token: str) -> Plate | None:
    """The plate in force with ``token`` (a revoked or unknown token: None, a 404)."""
    return (
        Plate.objects.active().select_related("toilet__village__parent").filter(token=token).first()
    )


def public_facts(plate: Plate, contact) -> dict:
    """Everything the public page of a plate shows — and nothing else of the toilet or its
    household: village, type, build year, the township's service phone, and the state of the
    public's reports about the toilet (category, date, state; never their text)."""
    toilet = plate.toilet
    village = toilet.village
    township = village.parent
    leads = [
        {
            "kind": lead.get_kind_display(),
            "category": lead.get_category_display(),
            "created_at": lead.created_at,
            "state": lead.get_state_display(),
        }
        for lead in Lead.objects.filter(toilet=toilet).order_by("-created_at", "-id")[
            :PUBLIC_LEADS_SHOWN
        ]
    ]
    return {
        "plate_number": plate.display_number,
        "village": f"{township.name if township else ''}{village.name}",
        "kind": toilet.get_kind_display(),
        "tech_type": toilet.get_tech_type_display(),
        "build_year": toilet.build_year,
        "service_phone": contact.service_phone if contact else "",
        "leads": leads,
    }


def public_progress(lead: Lead) -> str:
    """For a report turned into (or merged with) a ledger entry: the entry's state, in the
    words the lookup page shows."""
    if lead.ledger_entry_id is None:
        return ""
    state = LedgerEntry.objects.filter(pk=lead.ledger_entry_id).values_list("state", flat=True)
    state = state.first()
    return LedgerState(state).label if state else ""


def queue(user):
    """The leads ``user`` may see, with what the queue names them by."""
    return Lead.objects.visible_to(user).select_related("village__parent", "toilet__household")


def overdue_callout(user) -> dict | None:
    """逾期未答复的群众反映 N 条, for the township's and the county's home pages."""
    from .services import can_handle_leads

    scope_leads = Lead.objects.visible_to(user)
    if not (can_handle_leads(user) or _is_county(user)):
        return None
    count = scope_leads.overdue().count()
    waiting = scope_leads.waiting().count()
    if not count and not waiting:
        return None
    url = reverse("public:queue")
    return {"count": count, "waiting": waiting, "url": url, "overdue_url": f"{url}?show=overdue"}


def _is_county(user) -> bool:
    from regions.choices import Level
    from regions.scoping import scope_of

    scope = scope_of(user)
    return scope is not None and scope.region is not None and scope.region.level == Level.COUNTY


def beneficiaries(user, village, year: int) -> list[dict]:
    """The households of ``village`` whose toilet was built or renovated in ``year``, or whose
    problem toilet was accepted (验收) or closed out (销号) in ``year``: one row per household,
    with the head's name and the masked ID number only."""
    rows: dict[int, dict] = {}
    toilets = (
        Toilet.objects.visible_to(user)
        .active()
        .filter(village=village, kind=ToiletKind.HOUSEHOLD, build_year=year)
        .select_related("household")
        .order_by("household__group_name", "household__head_name", "pk")
    )
    for toilet in toilets:
        basis = "改造（财政支持）" if toilet.funding == Funding.GOVERNMENT else "新建"
        rows.setdefault(toilet.household_id, _row(toilet.household, basis))
    entries = (
        LedgerEntry.objects.visible_to(user)
        .filter(toilet__village=village, toilet__kind=ToiletKind.HOUSEHOLD)
        .filter(
            Q(state=LedgerState.CLOSED, closed_at__year=year)
            | Q(state=LedgerState.ACCEPTED, state_changed_at__year=year)
        )
        .select_related("toilet__household")
        .order_by("toilet__household__group_name", "toilet__household__head_name", "pk")
    )
    for entry in entries:
        household = entry.toilet.household
        if household.pk in rows:
            rows[household.pk]["basis"] += "、问题整改验收"
        else:
            rows[household.pk] = _row(household, "问题整改验收")
    return sorted(rows.values(), key=lambda r: (r["group"], r["name"]))


def _row(household, basis: str) -> dict:
    return {
        "group": household.group_name,
        "name": household.head_name,
        "id_number": mask_id_number(household.id_number),
        "basis": basis,
    }


STATE_FILTERS = {
    "waiting": ("待办", Q(state__in=[LeadState.NEW, LeadState.ASSIGNED])),
    "ended": ("已办结", ~Q(state__in=[LeadState.NEW, LeadState.ASSIGNED])),
    "all": ("全部", Q()),
}

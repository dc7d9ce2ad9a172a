"""受益户公示: the list (masked ID numbers), printing, recording the posting, objections as
leads."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import ConflictError
from public import services
from public.models import Lead, Posting
from rectification.choices import LedgerState
from rectification.models import LedgerEntry
from tests.factories import HouseholdFactory, InspectionFactory, ToiletFactory
from tests.images import gif, jpeg

from .conftest import oversized_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def village_year(tree, survey_round):
    """In V1 this year: a toilet built this year, one rectified and accepted this year, one
    old toilet with nothing done (not listed)."""
    year = timezone.localdate().year
    built = ToiletFactory(
        household=HouseholdFactory(village=tree.v1, head_name="新建户"), build_year=year
    )
    fixed = ToiletFactory(
        household=HouseholdFactory(village=tree.v1, head_name="整改户"), build_year=2016
    )
    ToiletFactory(household=HouseholdFactory(village=tree.v1, head_name="未列户"), build_year=2016)
    inspection = InspectionFactory(toilet=fixed, round=survey_round, usability="unusable")
    LedgerEntry.objects.create(
        toilet=fixed,
        found_in=survey_round,
        opened_by_inspection=inspection,
        last_inspection=inspection,
        usability="unusable",
        state=LedgerState.CLOSED,
        closed_at=timezone.now(),
    )
    return year, built, fixed


def draw(users, tree, year, **kw):
    today = timezone.localdate()
    return services.draw_up_posting(
        actor=users.township,
        village=tree.v1,
        year=year,
        starts_on=kw.get("starts_on", today),
        ends_on=kw.get("ends_on", today + datetime.timedelta(days=6)),
        complaint_phone=kw.get("complaint_phone", ""),
    )


def test_the_list_names_the_beneficiaries_with_masked_ids(users, tree, village_year, contact):
    year, built, fixed = village_year
    posting = draw(users, tree, year)
    names = {r["name"]: r for r in posting.rows}
    assert set(names) == {"新建户", "整改户"}
    assert names["整改户"]["basis"] == "问题整改验收"
    for toilet in (built, fixed):
        full = toilet.household.id_number
        row = names[toilet.household.head_name]
        assert row["id_number"] != full and full not in str(posting.rows)
        assert row["id_number"].startswith(full[:6]) and row["id_number"].endswith(full[-4:])
    assert posting.complaint_phone == "0777-3219999"


def test_the_printed_list_is_large_type_a4_with_the_complaint_phone(
    as_user, users, tree, village_year, contact
):
    posting = draw(users, tree, village_year[0])
    html = (
        as_user(users.township)
        .get(reverse("public:posting-print", args=[posting.pk]))
        .content.decode()
    )
    assert "受益户信息公示" in html and "0777-3219999" in html and "新建户" in html
    assert village_year[1].household.id_number not in html
    assert f"/p/g/{posting.token}/" in html and "<svg" in html


def test_the_period_and_phone_are_checked(users, tree, village_year):
    today = timezone.localdate()
    with pytest.raises(services.ValidationError) as refused:
        draw(users, tree, village_year[0], ends_on=today + datetime.timedelta(days=2))
    assert "ends_on" in refused.value.message_dict
    assert "complaint_phone" in refused.value.message_dict  # no township phone set either


def test_the_township_records_the_posting_with_a_photo(as_user, users, tree, village_year, contact):
    posting = draw(users, tree, village_year[0])
    client = as_user(users.township)
    url = reverse("public:posting", args=[posting.pk])
    today = timezone.localdate().isoformat()
    assert client.post(url, {"posted_on": today, "photo": oversized_photo()}).status_code == 400
    assert client.post(url, {"posted_on": today, "photo": gif()}).status_code == 400
    assert client.post(url, {"posted_on": today, "photo": jpeg()}).status_code == 302
    posting.refresh_from_db()
    assert posting.posted_on and posting.posted_photo and posting.posted_by == users.township
    assert client.get(reverse("public:posting-photo", args=[posting.pk])).status_code == 200
    assert as_user(users.township_t2).get(url).status_code == 404
    with pytest.raises(services.ConflictError):  # the posted list is not redrawn
        draw(users, tree, village_year[0])


def test_an_objection_is_a_lead(client, users, tree, village_year, contact):
    posting = draw(users, tree, village_year[0])
    url = reverse("public:objection", args=[posting.token])
    page = client.get(url).content.decode()
    assert "新建户" not in page  # the form page does not repeat the list
    response = client.post(url, {"description": "整改户的厕所根本没修", "phone": ""})
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.posting == posting and lead.category == "objection" and lead.village == tree.v1
    assert lead.code in response.content.decode()
    # The list the public objected to stays as they saw it.
    with pytest.raises(ConflictError):
        draw(users, tree, village_year[0])
    assert [s.action for s in services.available_steps(users.township, lead)] == ["close"]
    lead = services.act(
        actor=users.township, lead=lead, action="close", answer="经核实已整改，附照片存档"
    )
    assert lead.state == "closed"


def test_objections_close_with_the_period(client, users, tree, village_year, contact):
    today = timezone.localdate()
    posting = draw(users, tree, village_year[0])
    Posting.objects.filter(pk=posting.pk).update(
        starts_on=today - datetime.timedelta(days=20), ends_on=today - datetime.timedelta(days=10)
    )
    response = client.post(reverse("public:objection", args=[posting.token]), {"description": "x"})
    assert response.status_code == 400
    assert not Lead.objects.exists()

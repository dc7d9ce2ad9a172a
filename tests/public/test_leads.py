"""The township's queue: scoping, the steps of reports and maintenance requests, the log,
the ledger entry a report becomes, overdue leads on the home pages."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from core.errors import ConflictError
from public import services
from public.models import Lead
from rectification.choices import LedgerState
from rectification.models import LedgerEntry, LedgerLog
from rectification.services import transition
from surveys.models import Inspection, ProblemCategory
from surveys.services import save_inspection
from tests.factories import InspectionFactory
from tests.images import jpeg

from .conftest import file_report

pytestmark = pytest.mark.django_db


def test_the_queue_lists_the_township_leads_only(as_user, users, plate, register, contact):
    lead = file_report(plate)
    other_plate = services.Plate.objects.create(
        toilet=register.t3, number="ACDEFGHJ", token="t" * 24, issued_by=users.township_t2
    )
    other = file_report(other_plate)
    client = as_user(users.township)
    html = client.get(reverse("public:queue")).content.decode()
    assert lead.code in html and other.code not in html
    assert client.get(reverse("public:lead", args=[other.pk])).status_code == 404
    response = client.post(
        reverse("public:lead", args=[other.pk]), {"action": "close", "close-answer": "x"}
    )
    assert response.status_code == 404
    assert Lead.objects.get(pk=other.pk).state == "new"


def test_the_queue_does_not_name_the_other_township(as_user, users, plate, register):
    other_plate = services.Plate.objects.create(
        toilet=register.t3, number="ACDEFGHK", token="u" * 24, issued_by=users.township_t2
    )
    file_report(other_plate)
    html = as_user(users.township).get(reverse("public:queue")).content.decode()
    assert "康熙岭镇" not in html and "坪山村" not in html


def test_a_surveyor_cannot_act(as_user, users, plate):
    lead = file_report(plate)
    client = as_user(users.surveyor)
    page = client.get(reverse("public:lead", args=[lead.pk]))
    assert page.status_code == 200
    assert 'name="action"' not in page.content.decode()
    response = client.post(
        reverse("public:lead", args=[lead.pk]), {"action": "close", "close-answer": "已处理"}
    )
    assert response.status_code == 404
    assert Lead.objects.get(pk=lead.pk).state == "new"
    with pytest.raises(PermissionDenied):
        services.act(actor=users.surveyor, lead=lead, action="close", answer="已处理")


def test_the_nav_link_is_for_township_and_county_only(as_user, users):
    assert "群众反映" in as_user(users.township).get("/").content.decode()
    assert "群众反映" in as_user(users.county).get("/").content.decode()
    assert "群众反映</a>" not in as_user(users.surveyor).get("/").content.decode()


def test_converting_a_report_opens_a_linked_ledger_entry(
    as_user, users, plate, survey_round, client
):
    lead = file_report(plate)
    staff = as_user(users.township)
    response = staff.post(
        reverse("public:lead", args=[lead.pk]),
        {
            "action": "convert",
            "version": lead.version,
            "convert-usability": "unusable",
            "convert-categories": ["tank"],
            "convert-answer": "",
        },
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.state == "converted"
    entry = lead.ledger_entry
    assert entry.toilet_id == plate.toilet_id and entry.state == LedgerState.REGISTERED
    assert entry.found_in == survey_round and entry.opened_by_inspection is None
    assert [c.code for c in entry.categories.all()] == ["tank"]
    log = LedgerLog.objects.get(entry=entry)
    assert log.action == "report" and lead.code in log.note
    assert [r.action for r in lead.log.all()] == ["file", "convert"]
    # The entry page renders without an inspection and the workflow goes on.
    assert staff.get(reverse("rectification:entry", args=[entry.pk])).status_code == 200
    plan = {
        "problem_class": "guidance",
        "cause": "construction",
        "measures": "清掏并修补",
        "funding_source": "township",
        "deadline": timezone.localdate() + datetime.timedelta(days=30),
        "responsible_person": "张三",
        "responsible_phone": "13800000000",
    }
    transition(actor=users.township, entry=entry, action="plan", plan=plan)
    # The public sees the answer and the progress.
    staff.logout()
    html = client.get(reverse("public:lookup"), {"code": lead.code}).content.decode()
    assert services.DEFAULT_ANSWERS["convert"] in html
    assert "已制定方案" in html


def test_a_report_is_merged_into_the_open_entry(users, plate, register, survey_round):
    inspection = InspectionFactory(toilet=register.t1, round=survey_round, usability="unusable")
    entry = LedgerEntry.objects.create(
        toilet=register.t1,
        found_in=survey_round,
        opened_by_inspection=inspection,
        last_inspection=inspection,
        usability="unusable",
    )
    lead = file_report(plate)
    with pytest.raises(ConflictError):  # one open entry per toilet: convert is refused
        services.act(
            actor=users.township,
            lead=lead,
            action="convert",
            usability="unusable",
            categories=["tank"],
        )
    assert LedgerEntry.objects.count() == 1
    lead = services.act(actor=users.township, lead=lead, action="merge")
    assert lead.state == "merged" and lead.ledger_entry == entry
    assert LedgerLog.objects.filter(entry=entry, action="report").count() == 1


def test_a_merged_report_is_not_withdrawn_by_a_later_normal_finding(
    users, plate, register, survey_round
):
    """The township verified the villager's report and merged it: a surveyor's later
    correction to 正常使用 does not withdraw the entry (it goes through the close-out)."""
    inspection = save_inspection(
        actor=users.surveyor,
        inspection=Inspection(
            round=survey_round, toilet=register.t1, usability="unusable",
            check_method="on_site", partner_name="李四", inspected_at=timezone.now(), signed=True,
        ),
        categories=list(ProblemCategory.objects.filter(code="tank")),
    )  # fmt: skip
    entry = LedgerEntry.objects.get(toilet=register.t1)
    services.act(actor=users.township, lead=file_report(plate), action="merge")
    inspection.usability = "normal"
    save_inspection(
        actor=users.surveyor, inspection=inspection, categories=[],
        expected_version=inspection.version,
    )  # fmt: skip
    entry.refresh_from_db()
    assert entry.state == LedgerState.REGISTERED


def test_convert_needs_a_problem_usability_and_categories(users, plate, survey_round):
    lead = file_report(plate)
    with pytest.raises(ValidationError) as refused:
        services.act(actor=users.township, lead=lead, action="convert", usability="normal")
    assert set(refused.value.message_dict) == {"usability", "categories"}
    assert Lead.objects.get(pk=lead.pk).state == "new"
    assert not LedgerEntry.objects.exists()


def test_a_report_is_closed_with_an_answer(users, plate):
    lead = file_report(plate)
    with pytest.raises(ValidationError):
        services.act(actor=users.township, lead=lead, action="close", answer="")
    lead = services.act(actor=users.township, lead=lead, action="close", answer="经核实厕所正常")
    assert lead.state == "closed" and lead.answered_at is not None
    with pytest.raises(ConflictError):  # two clicks: the second finds it closed
        services.act(actor=users.township, lead=lead, action="close", answer="再次")


def test_a_maintenance_request_is_assigned_then_done_with_note_and_photo(users, plate):
    lead = file_report(plate, kind="maintenance", category="pumping")
    with pytest.raises(ConflictError):
        services.act(actor=users.township, lead=lead, action="convert")
    lead = services.act(actor=users.township, lead=lead, action="assign", assignee="吸粪车 李师傅")
    assert lead.state == "assigned" and lead.answer
    with pytest.raises(ValidationError) as refused:
        services.act(actor=users.township, lead=lead, action="done", note="已抽粪")
    assert "photo" in refused.value.message_dict
    lead = services.act(
        actor=users.township, lead=lead, action="done", note="已抽粪 2 m³", photo=jpeg()
    )
    assert lead.state == "done"
    done = lead.log.get(action="done")
    assert done.photo and done.actor == users.township


def test_a_maintenance_request_is_refused_with_a_reason(users, plate):
    lead = file_report(plate, kind="maintenance", category="repair")
    with pytest.raises(ValidationError):
        services.act(actor=users.township, lead=lead, action="refuse", answer="")
    lead = services.act(actor=users.township, lead=lead, action="refuse", answer="属农户自有设施")
    assert lead.state == "refused"


def test_a_stale_version_is_refused(users, plate):
    lead = file_report(plate)
    with pytest.raises(ConflictError):
        services.act(
            actor=users.township, lead=lead, action="close", answer="x", expected_version=99
        )


def test_log_rows_are_immutable(plate):
    row = file_report(plate).log.get()
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises(ValueError):
        row.delete()


def test_overdue_leads_show_on_the_township_and_county_home(as_user, users, plate, settings):
    settings.LEAD_ANSWER_DAYS = 3
    lead = file_report(plate)
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - datetime.timedelta(days=4))
    file_report(plate)  # fresh: waiting, not overdue
    for user in (users.township, users.county):
        html = as_user(user).get("/").content.decode()
        assert "逾期未办结 1 条" in html and "待办 2 条" in html
    assert "逾期未办结" not in as_user(users.township_t2).get("/").content.decode()
    queue = as_user(users.township).get(reverse("public:queue"), {"show": "overdue"})
    assert lead.code in queue.content.decode()


def test_the_county_sees_but_cannot_act(as_user, users, plate):
    lead = file_report(plate)
    client = as_user(users.county)
    assert client.get(reverse("public:lead", args=[lead.pk])).status_code == 200
    with pytest.raises(PermissionDenied):
        services.act(actor=users.county, lead=lead, action="close", answer="x")

"""``manage.py seed_demo``: a usable demo county, the same on every run."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from public.models import Lead, LeadLog, Plate, ServiceContact
from regions.choices import Level, Role
from regions.models import Region, RoleAssignment
from surveys.models import SurveyRound
from toilets.demo import DEMO_PASSWORD
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db


def seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_builds_a_county_with_households_toilets_and_every_role(client):
    out = seed()
    county = Region.objects.get(level=Level.COUNTY)
    assert Region.objects.filter(level=Level.TOWNSHIP, parent=county).count() >= 3
    assert Region.objects.filter(level=Level.VILLAGE).count() >= 12
    assert Household.objects.count() == 600
    assert not Household.objects.filter(toilets__isnull=True).exists()
    assert Toilet.objects.filter(kind="public").count() >= 12
    for role in Role:
        assert RoleAssignment.objects.filter(role=role).exists()
    assert SurveyRound.objects.get(county=county).status == "open"
    assert DEMO_PASSWORD in out
    for username in ["county", "inspector", "township1", "surveyor1", "admin"]:
        assert username in out
        assert client.login(username=username, password=DEMO_PASSWORD)


def test_the_public_side_has_phones_plates_and_leads_to_try(client):
    out = seed("--households", "64")
    county = Region.objects.get(level=Level.COUNTY)
    townships = Region.objects.filter(level=Level.TOWNSHIP, parent=county)
    contacts = ServiceContact.objects.filter(township__in=townships)
    assert contacts.count() == townships.count()
    assert all(c.service_phone and c.complaint_phone for c in contacts)
    first = townships.order_by("code").first()
    village = Region.objects.filter(parent=first).order_by("code").first()
    in_use = Toilet.objects.active().filter(village=village)
    assert Plate.objects.active().filter(toilet__in=in_use).count() == in_use.count() > 0
    assert not Plate.objects.exclude(toilet__village=village).exists()
    leads = Lead.objects.filter(village=village)
    assert sorted(leads.values_list("state", flat=True)) == ["assigned", "closed", "new"]
    assert [lead.code for lead in leads if lead.is_overdue()] == [leads.get(state="new").code]
    # The output names the demo plate's public page and the answered lead's lookup page.
    plate = Plate.objects.active().filter(toilet__village=village).order_by("toilet_id").first()
    url = f"http://127.0.0.1:8000{reverse('public:plate', args=[plate.token])}"
    assert url in out
    page = client.get(url).content.decode()
    assert "0777-3211000" in page and "已答复" in page and "已派单" in page
    answered = leads.get(state="closed")
    assert f"/p/lookup/?code={answered.code}" in out
    assert "冲水阀已更换" in client.get(f"/p/lookup/?code={answered.code}").content.decode()
    # The township's home page shows the overdue lead.
    client.login(username="township1", password=DEMO_PASSWORD)
    assert "逾期未办结 1 条" in client.get("/").content.decode()


def test_the_plate_url_is_on_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://wc.example.gov.cn"
    assert "https://wc.example.gov.cn/p/" in seed("--households", "20")


def test_every_demo_household_is_valid():
    seed("--households", "60")
    for household in Household.objects.all():
        household.full_clean()
    for toilet in Toilet.objects.select_related("household", "village"):
        toilet.full_clean()


def public_side():
    return (
        sorted(ServiceContact.objects.values_list("township_id", "service_phone", "updated_at")),
        sorted(Plate.objects.values_list("pk", "token", "revoked_at")),
        sorted(Lead.objects.values_list("pk", "code", "state", "created_at", "answered_at")),
        LeadLog.objects.count(),
    )


def test_it_is_idempotent_and_scales():
    seed("--households", "50")
    counts = (Region.objects.count(), Household.objects.count(), Toilet.objects.count())
    public = public_side()
    out = seed("--households", "50")
    assert "新增农户 0 户" in out
    assert (Region.objects.count(), Household.objects.count(), Toilet.objects.count()) == counts
    assert public_side() == public
    seed("--households", "80")
    assert Household.objects.count() == 80


def test_the_demo_surveyor_sees_only_the_own_village(client):
    seed("--households", "64")
    client.login(username="surveyor1", password=DEMO_PASSWORD)
    village = RoleAssignment.objects.get(user__username="surveyor1").region
    response = client.get("/households/")
    shown = response.context["paginator"].count
    assert shown == Household.objects.filter(village=village).count() == 4


def test_it_is_quiet_by_default(caplog):
    caplog.set_level("INFO")
    seed("--households", "20")
    assert not [r for r in caplog.records if r.levelname == "INFO"]


def test_it_tells_each_ledger_step_with_verbosity_2(caplog):
    caplog.set_level("INFO")
    call_command("seed_demo", "--households", "20", verbosity=2, stdout=StringIO())
    assert any(r.name == "rectification.services" for r in caplog.records)


def test_a_command_does_not_open_with_the_axes_banner(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "AXES" not in done.stdout + done.stderr

"""Upgrading a database that holds data from before a rule: the migration that adds the rule
puts the old rows right first, so that ``migrate`` does not stop halfway on a live county."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("rectification", "0005_entries_from_public_reports")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="migrating SQLite backwards rebuilds tables under the rollup triggers, which then "
    "name a table that is gone; CI runs this on PostgreSQL",
)
def test_long_term_entries_without_a_year_get_one_when_the_rule_arrives():
    old = migrate(BEFORE)
    Region = old.get_model("regions", "Region")
    county = Region.objects.create(code="450702000000", name="钦南区", level="county")
    township = Region.objects.create(
        code="450702101000", name="沙埠镇", level="township", parent=county
    )
    village = Region.objects.create(
        code="450702101201", name="沙埠村", level="village", parent=township
    )
    template = old.get_model("surveys", "ReportTemplate").objects.create(
        name="迁移测试模板", year_buckets=[2015, 2020]
    )
    survey = old.get_model("surveys", "SurveyRound").objects.create(
        county=county,
        template=template,
        name="2023年摸排",
        start_date=datetime.date(2023, 3, 1),
        end_date=datetime.date(2023, 6, 30),
    )
    Toilet = old.get_model("toilets", "Toilet")
    LedgerEntry = old.get_model("rectification", "LedgerEntry")

    def entry(**fields):
        toilet = Toilet.objects.create(
            village=village,
            kind="public",
            name="公厕",
            tech_type="three_compartment",
            flush_kind="flush",
            lead_department="agriculture",
            funding="government",
            build_year=2019,
        )
        return LedgerEntry.objects.create(
            toilet=toilet, found_in=survey, usability="unusable", **fields
        ).pk

    with_deadline = entry(problem_class="hard", deadline=datetime.date(2026, 6, 30))
    without = entry(problem_class="hard")
    planned = entry(problem_class="hard", target_year=2027)
    short = entry(problem_class="guidance")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from rectification.models import LedgerEntry as Current

    years = dict(Current.objects.values_list("pk", "target_year"))
    opened = Current.objects.get(pk=without).created_at.year
    assert years == {with_deadline: 2026, without: opened + 1, planned: 2027, short: None}

"""Inspection.village: the toilet's village kept on the inspection (issue 14, dashboard speed).

Added nullable, filled from the toilets, then made required. A trigger on the toilets table
follows a toilet that moves to another village (the household page's move, the ledger
import's bulk update, the admin: whatever writes the row), so the copy can't drift.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL_TRIGGER = """
CREATE OR REPLACE FUNCTION surveys_inspection_follow_toilet() RETURNS trigger AS $$
BEGIN
    UPDATE surveys_inspection SET village_id = NEW.village_id WHERE toilet_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER surveys_inspection_follow_toilet
    AFTER UPDATE OF village_id ON toilets_toilet
    FOR EACH ROW WHEN (OLD.village_id IS DISTINCT FROM NEW.village_id)
    EXECUTE FUNCTION surveys_inspection_follow_toilet();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS surveys_inspection_follow_toilet ON toilets_toilet;
DROP FUNCTION IF EXISTS surveys_inspection_follow_toilet();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER surveys_inspection_follow_toilet
    AFTER UPDATE OF village_id ON toilets_toilet
    FOR EACH ROW WHEN OLD.village_id IS NOT NEW.village_id
BEGIN
    UPDATE surveys_inspection SET village_id = NEW.village_id WHERE toilet_id = NEW.id;
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS surveys_inspection_follow_toilet;"

BACKFILL = """
UPDATE surveys_inspection SET village_id = (
    SELECT village_id FROM toilets_toilet WHERE toilets_toilet.id = surveys_inspection.toilet_id
)
"""


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        sql = statements.get(vendor)
        if sql is None:
            raise RuntimeError(f"no trigger for {vendor}: Inspection.village would drift")
        schema_editor.execute(sql)

    return run


def backfill(apps, schema_editor):
    schema_editor.execute(BACKFILL)


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0001_initial"),
        ("surveys", "0004_round_submission_deadline"),
        ("toilets", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="inspection",
            name="village",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="regions.region",
                verbose_name="行政村",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="inspection",
            name="village",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="regions.region",
                verbose_name="行政村",
            ),
        ),
        migrations.AddIndex(
            model_name="inspection",
            index=models.Index(fields=["round", "village"], name="surveys_insp_round_village"),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_TRIGGER, "sqlite": SQLITE_TRIGGER}),
            _run({"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}),
        ),
    ]

"""Inspection.village is always its toilet's village as the database has it at the write.

``Inspection.save()`` copies the village from the toilet object it holds, which may have been
loaded before somebody moved the toilet (a household moved to another village): saving an
edit with that stale object would write the old village back over what the move's trigger
(0005) set. These triggers take the village from the toilets table on every insert and on
every change of the inspection's toilet or village, whatever wrote it (the form, the sync
API, the import's COPY).
"""

from django.db import migrations

POSTGRESQL = """
CREATE OR REPLACE FUNCTION surveys_inspection_village() RETURNS trigger AS $$
BEGIN
    NEW.village_id := (SELECT village_id FROM toilets_toilet WHERE id = NEW.toilet_id);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER surveys_inspection_village
    BEFORE INSERT OR UPDATE OF village_id, toilet_id ON surveys_inspection
    FOR EACH ROW EXECUTE FUNCTION surveys_inspection_village();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS surveys_inspection_village ON surveys_inspection;
DROP FUNCTION IF EXISTS surveys_inspection_village();
"""
# SQLite cannot change NEW in a trigger: the row is corrected right after it is written.
SQLITE_TOILETS_VILLAGE = "(SELECT village_id FROM toilets_toilet WHERE id = NEW.toilet_id)"
SQLITE = [
    f"""
CREATE TRIGGER surveys_inspection_village_insert
    AFTER INSERT ON surveys_inspection FOR EACH ROW
    WHEN NEW.village_id IS NOT {SQLITE_TOILETS_VILLAGE}
BEGIN
    UPDATE surveys_inspection SET village_id = {SQLITE_TOILETS_VILLAGE} WHERE id = NEW.id;
END;
""",
    f"""
CREATE TRIGGER surveys_inspection_village_update
    AFTER UPDATE OF village_id, toilet_id ON surveys_inspection FOR EACH ROW
    WHEN NEW.village_id IS NOT {SQLITE_TOILETS_VILLAGE}
BEGIN
    UPDATE surveys_inspection SET village_id = {SQLITE_TOILETS_VILLAGE} WHERE id = NEW.id;
END;
""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS surveys_inspection_village_insert;",
    "DROP TRIGGER IF EXISTS surveys_inspection_village_update;",
]


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"no trigger for {vendor}: Inspection.village could drift")
        sql = statements[vendor]
        for statement in [sql] if isinstance(sql, str) else sql:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("surveys", "0005_inspection_village")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}),
        ),
    ]

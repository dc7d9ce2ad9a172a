"""An inspection written while its toilet moves still ends in the toilet's new village.

0006's trigger reads the toilet's village when the inspection is written; 0005's trigger
moves the inspections of a toilet that moves. A move that committed while an inspection's
insert was still uncommitted missed that inspection (it could not see it yet), which then
kept the old village. The inspection trigger now reads the toilet ``FOR SHARE``: a move
(which updates the toilet row) waits for the inspection's transaction, and then moves it
too; an inspection written after a move began waits for the move and reads the new village.
Inspections of one toilet don't wait for each other (shared locks). SQLite has one writer
at a time, so the race cannot happen there.
"""

from django.db import migrations

POSTGRESQL = """
CREATE OR REPLACE FUNCTION surveys_inspection_village() RETURNS trigger AS $$
BEGIN
    NEW.village_id := (SELECT village_id FROM toilets_toilet WHERE id = NEW.toilet_id FOR SHARE);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
POSTGRESQL_BACK = """
CREATE OR REPLACE FUNCTION surveys_inspection_village() RETURNS trigger AS $$
BEGIN
    NEW.village_id := (SELECT village_id FROM toilets_toilet WHERE id = NEW.toilet_id);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("surveys", "0007_spotcheck_campaigns")]

    operations = [migrations.RunPython(_run(POSTGRESQL), _run(POSTGRESQL_BACK))]

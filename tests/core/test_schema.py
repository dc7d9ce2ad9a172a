"""Migrations that drop an index or a foreign-key check (``core.schema.lean_columns``) put
them back when a release is rolled back, so that the older code runs on the checks it
was written for."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

LEAN = [("surveys", "0009_lean_indexes"), ("toilets", "0003_lean_indexes")]
BEFORE = [("surveys", "0007_spotcheck_campaigns"), ("toilets", "0002_toilet_cutoff_indexes")]
# What those two migrations stop checking with a foreign key: (table, column, refers to).
FOREIGN_KEYS = [
    ("surveys_historicalinspection", "history_user_id", "auth_user"),
    ("surveys_inspection", "village_id", "regions_region"),
    ("toilets_historicalhousehold", "history_user_id", "auth_user"),
    ("toilets_historicaltoilet", "history_user_id", "auth_user"),
]
INDEXED = [("surveys_inspection", "surveyor_id"), ("toilets_toilet", "village_id")]


def constraints(table):
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table).values()


def refers_to(table, column):
    """The table ``table.column``'s foreign-key constraint refers to (None: no constraint)."""
    for info in constraints(table):
        if info["foreign_key"] and info["columns"] == [column]:
            return info["foreign_key"][0]
    return None


def indexed(table, column):
    return any(info["index"] and info["columns"] == [column] for info in constraints(table))


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="migrating SQLite backwards rebuilds tables under the rollup triggers, and its "
    "foreign keys are never dropped; CI runs this on PostgreSQL",
)
def test_rolling_back_the_lean_migrations_brings_their_checks_back():
    assert all(refers_to(table, column) is None for table, column, _ in FOREIGN_KEYS)
    try:
        migrate(BEFORE)
        for table, column, target in FOREIGN_KEYS:
            assert refers_to(table, column) == target, (table, column)
        assert all(indexed(table, column) for table, column in INDEXED)
        # And forward again: the checks go, the data model is the current one.
        migrate(LEAN)
        assert all(refers_to(table, column) is None for table, column, _ in FOREIGN_KEYS)
        assert not any(indexed(table, column) for table, column in INDEXED)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

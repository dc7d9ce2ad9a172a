"""Schema changes that must not rebuild a table: for migrations.

On SQLite, Django applies most ``AlterField`` operations by rebuilding the table (create a
copy, move the rows, drop the original), which silently drops the table's triggers — and
several of ours keep copies and counters right (surveys 0005/0006, reports 0005). A
migration that only drops an index or a foreign-key check therefore changes the state with
``AlterField`` and the database with ``lean_columns`` (in ``SeparateDatabaseAndState``):
indexes are dropped on every database; the foreign keys only where they are constraints of
their own (PostgreSQL; on SQLite they are part of the table and stay, a stricter check of
the development database).
"""

from django.db import migrations


def _constraints(schema_editor, table):
    with schema_editor.connection.cursor() as cursor:
        return schema_editor.connection.introspection.get_constraints(cursor, table)


def _drop(schema_editor, table, column, *, kind):
    quote = schema_editor.quote_name
    for name, info in _constraints(schema_editor, table).items():
        if info["columns"] != [column]:
            continue
        if kind == "index" and info["index"] and not info["unique"] and not info["primary_key"]:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
        elif kind == "fk" and info["foreign_key"]:
            schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")


def lean_columns(*, indexes=(), foreign_keys=()):
    """A ``RunPython`` operation dropping the single-column indexes of ``indexes`` and (on
    PostgreSQL) the foreign-key constraints of ``foreign_keys``, each a (table, column)
    pair. Backwards it creates the indexes again (the foreign keys are not re-added)."""

    def forward(apps, schema_editor):
        for table, column in indexes:
            _drop(schema_editor, table, column, kind="index")
        if schema_editor.connection.vendor == "postgresql":
            for table, column in foreign_keys:
                _drop(schema_editor, table, column, kind="fk")

    def backward(apps, schema_editor):
        quote = schema_editor.quote_name
        for table, column in indexes:
            name = quote(f"{table}_{column}_lean"[:63])
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table)} ({quote(column)})"
            )

    return migrations.RunPython(forward, backward)

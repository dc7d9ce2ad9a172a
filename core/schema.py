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


def _target(apps, table, column) -> tuple[str, str]:
    """The table and column the foreign key ``table.column`` refers to, in the models of
    ``apps`` (the migration's state)."""
    for model in apps.get_models():
        if model._meta.db_table != table:
            continue
        for field in model._meta.concrete_fields:
            if field.column == column and field.remote_field is not None:
                target = field.target_field
                return target.model._meta.db_table, target.column
    raise LookupError(f"no foreign key {table}.{column} in the migration's models")


def _add_foreign_key(schema_editor, apps, table, column):
    if any(
        info["foreign_key"] and info["columns"] == [column]
        for info in _constraints(schema_editor, table).values()
    ):
        return
    quote = schema_editor.quote_name
    to_table, to_column = _target(apps, table, column)
    name = quote(f"{table}_{column}_fk_lean"[:63])
    # As Django makes its own: checked at the commit.
    schema_editor.execute(
        f"ALTER TABLE {quote(table)} ADD CONSTRAINT {name} FOREIGN KEY ({quote(column)}) "
        f"REFERENCES {quote(to_table)} ({quote(to_column)}) DEFERRABLE INITIALLY DEFERRED"
    )


def lean_columns(*, indexes=(), foreign_keys=()):
    """A ``RunPython`` operation dropping the single-column indexes of ``indexes`` and (on
    PostgreSQL) the foreign-key constraints of ``foreign_keys``, each a (table, column)
    pair. Backwards it creates them again (a rollback of the release keeps the checks)."""

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
        if schema_editor.connection.vendor == "postgresql":
            for table, column in foreign_keys:
                _add_foreign_key(schema_editor, apps, table, column)

    return migrations.RunPython(forward, backward)

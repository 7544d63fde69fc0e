"""Database triggers that make the audit table append-only.

Installed by a migration; tests that must tamper with the log on purpose suspend
them the same way an attacker with the table owner's rights could, which is why the
hash chain and signed checkpoints exist as well.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"
CHECKPOINT_TABLE = "audit_checkpoint"
# Every append-only table, in the order their migrations create them.
GUARDED_TABLES = (TABLE, CHECKPOINT_TABLE)
_PG_FUNCTION = "audit_reject_change"


def _pg_row_trigger(table: str) -> str:
    return f"{table}_no_update_delete"


def _pg_truncate_trigger(table: str) -> str:
    return f"{table}_no_truncate"


def _sqlite_triggers(table: str) -> dict[str, str]:
    return {f"{table}_no_update": "UPDATE", f"{table}_no_delete": "DELETE"}


_PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def _pg_install(table: str) -> str:
    row, truncate = _pg_row_trigger(table), _pg_truncate_trigger(table)
    return f"""
DROP TRIGGER IF EXISTS {row} ON {table};
CREATE TRIGGER {row} BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}();
DROP TRIGGER IF EXISTS {truncate} ON {table};
CREATE TRIGGER {truncate} BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}();
ALTER TABLE {table} ENABLE ALWAYS TRIGGER {row};
ALTER TABLE {table} ENABLE ALWAYS TRIGGER {truncate};
"""


def install_guards(
    connection: BaseDatabaseWrapper, tables: tuple[str, ...] = (TABLE,)
) -> None:
    """Make `tables` append-only (a migration names the tables it has created)."""
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                cursor.execute(_PG_FUNCTION_SQL + _pg_install(table))
            elif connection.vendor == "sqlite":
                for name, operation in _sqlite_triggers(table).items():
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                    cursor.execute(
                        f"CREATE TRIGGER {name} BEFORE {operation} ON {table} BEGIN "
                        f"SELECT RAISE(ABORT, '{table} is append-only: "
                        f"{operation} is not allowed'); END"
                    )
            else:
                raise NotImplementedError(f"no audit guards for {connection.vendor}")


def suspend_guards(
    connection: BaseDatabaseWrapper, tables: tuple[str, ...] = GUARDED_TABLES
) -> None:
    """Switch the guards off until `install_guards` runs again."""
    _each_trigger(
        connection,
        tables,
        postgresql="ALTER TABLE {table} DISABLE TRIGGER {trigger}",
        sqlite="DROP TRIGGER IF EXISTS {trigger}",
    )


def remove_guards(
    connection: BaseDatabaseWrapper, tables: tuple[str, ...] = (TABLE,)
) -> None:
    _each_trigger(
        connection,
        tables,
        postgresql="DROP TRIGGER IF EXISTS {trigger} ON {table}",
        sqlite="DROP TRIGGER IF EXISTS {trigger}",
    )
    if connection.vendor == "postgresql" and TABLE in tables:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()")


def _each_trigger(
    connection: BaseDatabaseWrapper,
    tables: tuple[str, ...],
    *,
    postgresql: str,
    sqlite: str,
) -> None:
    """Run the vendor's statement once for each guard trigger of each table."""
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                template = postgresql
                triggers = [_pg_row_trigger(table), _pg_truncate_trigger(table)]
            else:
                template, triggers = sqlite, list(_sqlite_triggers(table))
            for trigger in triggers:
                cursor.execute(template.format(table=table, trigger=trigger))

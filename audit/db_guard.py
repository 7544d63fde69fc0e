"""Database triggers that make the audit table append-only.

Installed by a migration; tests that must tamper with the log on purpose suspend
them the same way an attacker with the table owner's rights could, which is why the
hash chain and signed checkpoints exist as well.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"
_PG_FUNCTION = "audit_reject_change"
_PG_ROW_TRIGGER = "audit_auditevent_no_update_delete"
_PG_TRUNCATE_TRIGGER = "audit_auditevent_no_truncate"
_SQLITE_TRIGGERS = {
    "audit_auditevent_no_update": "UPDATE",
    "audit_auditevent_no_delete": "DELETE",
}

_PG_INSTALL = f"""
CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{TABLE} is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS {_PG_ROW_TRIGGER} ON {TABLE};
CREATE TRIGGER {_PG_ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}();
DROP TRIGGER IF EXISTS {_PG_TRUNCATE_TRIGGER} ON {TABLE};
CREATE TRIGGER {_PG_TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}();
ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {_PG_ROW_TRIGGER};
ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {_PG_TRUNCATE_TRIGGER};
"""


def install_guards(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_INSTALL)
        elif connection.vendor == "sqlite":
            for name, operation in _SQLITE_TRIGGERS.items():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                cursor.execute(
                    f"CREATE TRIGGER {name} BEFORE {operation} ON {TABLE} BEGIN "
                    f"SELECT RAISE(ABORT, '{TABLE} is append-only: "
                    f"{operation} is not allowed'); END"
                )
        else:
            raise NotImplementedError(f"no audit guards for {connection.vendor}")


def suspend_guards(connection: BaseDatabaseWrapper) -> None:
    """Switch the guards off until `install_guards` runs again."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {_PG_ROW_TRIGGER}")
            cursor.execute(
                f"ALTER TABLE {TABLE} DISABLE TRIGGER {_PG_TRUNCATE_TRIGGER}"
            )
        else:
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def remove_guards(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {_PG_ROW_TRIGGER} ON {TABLE}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {_PG_TRUNCATE_TRIGGER} ON {TABLE}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()")
        else:
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")

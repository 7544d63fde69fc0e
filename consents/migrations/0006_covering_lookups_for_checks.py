"""On PostgreSQL, the two lookups every check makes read indexes only.

The check's query finds the person by the caller's reference and names them in
its audit event by pseudonym. Carrying `subject_id` in the reference's unique
index, and the pseudonym in an index on the subject's id, lets PostgreSQL answer
both from the indexes without visiting the rows: two random page reads fewer per
check, which is what grows with the number of people.

SQLite has no covering indexes (Django would drop the unique constraint there
rather than create it without its included column), so this runs on PostgreSQL
only and leaves the models' state as it is: the constraint keeps its name and
its key columns everywhere.
"""

from django.db import migrations

COVER = [
    # Same name and key columns: only the included column is new.
    "ALTER TABLE consents_subjectreference DROP CONSTRAINT subjectref_unique_ref",
    "ALTER TABLE consents_subjectreference ADD CONSTRAINT subjectref_unique_ref"
    " UNIQUE (organization_id, reference) INCLUDE (subject_id)",
    "CREATE UNIQUE INDEX subject_pseudonym_cover"
    " ON consents_datasubject (id) INCLUDE (pseudonym)",
]
UNCOVER = [
    "DROP INDEX subject_pseudonym_cover",
    "ALTER TABLE consents_subjectreference DROP CONSTRAINT subjectref_unique_ref",
    "ALTER TABLE consents_subjectreference ADD CONSTRAINT subjectref_unique_ref"
    " UNIQUE (organization_id, reference)",
]


def _on_postgresql(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("consents", "0005_datasubject_time_zone")]

    operations = [
        migrations.RunPython(_on_postgresql(COVER), _on_postgresql(UNCOVER)),
    ]

from django.db import migrations


def install(apps, schema_editor):
    from audit.db_guard import install_guards

    install_guards(schema_editor.connection)


def remove(apps, schema_editor):
    from audit.db_guard import remove_guards

    remove_guards(schema_editor.connection)


class Migration(migrations.Migration):
    """The database itself rejects UPDATE, DELETE and TRUNCATE on the audit table."""

    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]

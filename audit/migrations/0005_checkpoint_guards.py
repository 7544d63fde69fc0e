from django.db import migrations


def install(apps, schema_editor):
    from audit.db_guard import CHECKPOINT_TABLE, install_guards

    install_guards(schema_editor.connection, (CHECKPOINT_TABLE,))


def remove(apps, schema_editor):
    from audit.db_guard import CHECKPOINT_TABLE, remove_guards

    remove_guards(schema_editor.connection, (CHECKPOINT_TABLE,))


class Migration(migrations.Migration):
    """Checkpoints are evidence too: the database refuses to change or remove them."""

    dependencies = [("audit", "0004_checkpoint")]

    operations = [migrations.RunPython(install, remove)]

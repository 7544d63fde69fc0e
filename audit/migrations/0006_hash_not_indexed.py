from django.db import migrations, models


def install(apps, schema_editor):
    from audit.db_guard import install_guards

    install_guards(schema_editor.connection)


class Migration(migrations.Migration):
    """The hash loses its unique and pattern indexes: nothing looks events up by
    hash, and they were the costliest part of sealing. SQLite rebuilds the table
    to alter it, dropping its triggers, so the guards are installed again after
    (and, going back, after the reverse rebuild)."""

    dependencies = [("audit", "0005_checkpoint_guards")]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, install),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(max_length=64),
        ),
        migrations.RunPython(install, migrations.RunPython.noop),
    ]

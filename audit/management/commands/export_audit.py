import getpass
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations

from audit.actors import Actor
from audit.export import start_export, stream_export
from audit.export_format import FORMATS
from audit.forms import ExportForm
from cmp_common.commands.progress import progress


class Command(BaseCommand):
    help = (
        "Export the audit trail (or a slice of it) as a file with a signed "
        "manifest; check it anywhere with `python -m audit.verify_export`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", type=Path, required=True)
        parser.add_argument(
            "--manifest", type=Path, help="default: OUTPUT.manifest.json"
        )
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument("--since", help="date or ISO date-time (inclusive)")
        parser.add_argument("--until", help="date (inclusive) or date-time (exclusive)")
        for name in ("subject", "recipient", "purpose", "action"):
            parser.add_argument(f"--{name}", default="")

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, **options):
        form = ExportForm(
            {name: options[name] or "" for name in ExportForm.base_fields}
        )
        if not form.is_valid():
            problems = "; ".join(
                f"--{name}: {' '.join(map(str, messages))}"
                if name != "__all__"
                else " ".join(map(str, messages))
                for name, messages in form.errors.items()
            )
            raise CommandError(f"Nothing exported: {problems}")
        output: Path = options["output"]
        manifest_path = options["manifest"] or output.with_name(
            output.name + ".manifest.json"
        )
        export = start_export(
            filters=form.filters(),
            fmt=form.cleaned_data["format"],
            actor=Actor("staff", f"cli:{getpass.getuser()}"),
        )
        with output.open("wb") as file, progress(None, "exporting", unit="B") as step:
            for chunk in stream_export(export):
                file.write(chunk)
                step(len(chunk))
        manifest_path.write_text(
            json.dumps(export.manifest, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        self.stdout.write(
            # The manifest is set once the last chunk is out.
            f"exported {export.manifest['count']} events to {output} "  # type: ignore[index]
            f"({export.manifest['kind']} export {export.export_id}); "  # type: ignore[index]
            f"manifest {manifest_path}"
        )

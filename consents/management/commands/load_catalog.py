import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations

from audit.actors import Actor
from consents.errors import ConsentError
from consents.services import load_catalog

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "catalog" / "demo_catalog.json"


class Command(BaseCommand):
    help = "Load purposes and scopes from a JSON catalog (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEMO_CATALOG))

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, file: str, **options):
        try:
            catalog = json.loads(Path(file).read_text(encoding="utf-8"))
            changes = load_catalog(
                catalog=catalog, actor=Actor("staff", "load_catalog")
            )
        except (OSError, ValueError, ConsentError) as exc:
            raise CommandError(f"cannot load {file}: {exc}") from exc
        self.stdout.write(json.dumps(changes.__dict__))

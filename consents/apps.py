from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = "Consents"

    def ready(self) -> None:
        from cmp_common.db import lookups  # noqa: F401  (registers `__any`)
        from consents.portal import signals  # noqa: F401

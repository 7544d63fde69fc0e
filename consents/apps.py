from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = "Consents"

    def ready(self) -> None:
        from consents.portal import signals  # noqa: F401

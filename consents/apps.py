from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = "Consents"

    def ready(self) -> None:
        # Sign-in signal receivers (a login is an event Django owns).
        from consents.portal import security  # noqa: F401

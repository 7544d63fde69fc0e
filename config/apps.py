from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Project wiring: makes the Celery app current in every Django process."""

    name = "config"
    verbose_name = "Consent Management Platform"

    def ready(self) -> None:
        from config import logs

        logs.configure()
        # Without this, `shared_task`s sent from manage.py commands or tests would
        # bind to Celery's default app and its default broker.
        from config.celery import app

        app.set_current()
        app.set_default()
        # Import every app's tasks now, not when a worker starts: web processes
        # queue tasks by name from the registry (`consents.webhooks.relay`).
        app.autodiscover_tasks(force=True)

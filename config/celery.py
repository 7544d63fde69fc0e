"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.production")

app = Celery("cmp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _structured_logs_in_workers() -> None:
    """Workers log like the web processes, with the request id of the request
    that queued the task (django-structlog)."""
    from django_structlog.celery.steps import DjangoStructLogInitStep

    app.steps["worker"].add(DjangoStructLogInitStep)


_structured_logs_in_workers()

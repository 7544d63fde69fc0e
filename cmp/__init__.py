"""Project wiring for the Consent Management Platform."""

from cmp.celery import app as celery_app

__all__ = ["celery_app"]

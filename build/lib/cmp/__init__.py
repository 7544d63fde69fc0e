"""Project wiring for the Consent Management Platform.

Nothing is imported here, so `cmp.client` (the SDK for organizations) can be
used without Django or Celery installed. `celery -A cmp` finds `cmp.celery.app`
on its own, and the `cmp` app config makes it current in Django processes.
"""

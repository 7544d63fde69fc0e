"""Project wiring: URLs, WSGI/ASGI entry points, the Celery app, `make run`'s launcher.

Nothing is imported here; `celery -A config` finds `config.celery.app` on its
own, and the `config` app config makes it current in Django processes.
"""

"""Notices to organizations: the transactional outbox, the relay and delivery.

A change writes its deliveries in its own transaction (`outbox`); the relay hands
due ones to Celery workers (`relay`); a worker signs and posts each one, with
retries (`delivery`), to an address the guard vetted (`addresses`). Endpoints,
replays, acknowledgements and reminders are writes: `consents.services`.
"""

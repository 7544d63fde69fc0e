"""Logs as one JSON object per line (structlog, django-structlog): time, level,
logger, event, and the request id that django-structlog gives each request and
carries into the Celery tasks it queues.

Nothing about a person goes in: client addresses and user ids are not bound
(settings), and a request is logged as its method and path, never its query
string (`scrub`). Payloads, bodies and headers are never logged anywhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

# django-structlog writes a request as "METHOD /path?query".
_REQUEST = re.compile(r"^(\w+) ([^?\s]*)")

PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def scrub(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The request as `METHOD /path`: a query string may name anything."""
    request = event.get("request")
    if request is not None:
        match = _REQUEST.match(str(request))
        event["request"] = f"{match[1]} {match[2]}" if match else "(request)"
    for name in ("ip", "user_id", "user_agent"):
        event.pop(name, None)
    return event


def configure() -> None:
    """structlog's loggers hand their events to the standard library's, whose
    handler (settings.LOGGING) renders them with `formatter`."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *PRE_CHAIN,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            scrub,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def formatter(plain: bool = False) -> logging.Formatter:
    """JSON lines; `plain` for a terminal (`make run`)."""
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if plain
        else structlog.processors.JSONRenderer()
    )
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub,
            renderer,
        ],
        foreign_pre_chain=PRE_CHAIN,
    )

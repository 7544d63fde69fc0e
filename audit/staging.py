"""Check events, held in memory for a moment and staged in batches.

A check is the hot path: writing its event with its own statement and commit would
cost more than the decision. Instead each process keeps the events of the checks
it answered in a buffer that a background thread writes to `PendingEvent` every
`CMP_AUDIT_CHECK_FLUSH_MS` (one COPY, one commit that waits for the WAL flush),
and the sealer chains them as before. A write's cost hardly depends on its size
(three round trips and a commit: about 250 us of this process's CPU and as much
of PostgreSQL's), so the interval is what amortizes it: 100 ms by default.

The trade-off, and what keeps it honest:
- An event is in memory only, for at most the flush interval plus one write,
  after its answer was sent. Killing the process with SIGKILL (or the machine
  losing power) in that window loses it; nothing else does.
- While the process lives, no event is dropped: a failed write is retried, oldest
  first, with backoff, until it succeeds. A graceful exit (SIGTERM, SIGQUIT,
  gunicorn's max-requests restart, the interpreter ending) writes the rest first;
  what still cannot be written at exit is logged at ERROR, event by event.
- When the buffer reaches `CMP_AUDIT_CHECK_MAX_PENDING` (the database has been
  unreachable for a while) checks stop being answered (`AuditBacklogError`, a
  503) rather than answered without a record.
- Grants, revocations and transfers never come here: they are chained in their
  own transaction before the answer.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
)

from audit.chain import CONTENT_FIELDS

log = logging.getLogger(__name__)

_COPY_SQL = f"COPY audit_pendingevent ({', '.join(CONTENT_FIELDS)}) FROM STDIN"
_BACKOFF_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
_EXIT_SECONDS = 10.0


class AuditBacklogError(OperationalError):
    """Too many check events wait to be written: answer no more checks for now."""


def copy_rows(statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """Write `rows` with one `COPY ... FROM STDIN` (PostgreSQL)."""
    # Django does not wrap COPY: its errors would come out as psycopg's own.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def write_events(events: list[Mapping[str, Any]]) -> None:
    """Stage `events` with one COPY, a statement of its own (PostgreSQL)."""
    copy_rows(_COPY_SQL, (_staged_row(event) for event in events))


def _staged_row(event: Mapping[str, Any]) -> list[Any]:
    row = [event[name] for name in CONTENT_FIELDS]
    row[-1] = orjson.dumps(row[-1]).decode()  # the payload, as jsonb text
    return row


class CheckEventBuffer:
    """A process's check events on their way to the staging table."""

    def __init__(self, *, interval: float, max_pending: int) -> None:
        self.interval = interval
        self.max_pending = max_pending
        self._events: deque[Mapping[str, Any]] = deque()
        self._cond = threading.Condition()
        self._added = 0  # events ever added
        self._written = 0  # of those, written
        self._closing = False
        self._flushing = 0  # callers of flush() waiting: write without delay
        self._thread: threading.Thread | None = None

    def add(self, event: Mapping[str, Any]) -> None:
        with self._cond:
            if len(self._events) >= self.max_pending:
                raise AuditBacklogError("the audit trail cannot keep up")
            self._events.append(event)
            self._added += 1
            if self._thread is None:
                self._start()

    def pending(self) -> int:
        with self._cond:
            return len(self._events)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event added so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._added
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(
                    lambda: self._written >= target, deadline - time.monotonic()
                )
            finally:
                self._flushing -= 1

    def close(self) -> None:
        """Write what is left (at exit); log what cannot be written."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(_EXIT_SECONDS)
        with self._cond:
            # Whatever is left: the thread gave up, or is still stuck in a write.
            lost = list(self._events)
            self._events.clear()
        for event in lost:
            log.error("check audit event not written at exit: %s", _describe(event))

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="audit-check-events", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        try:
            while True:
                with self._cond:
                    if failures == 0:
                        self._cond.wait_for(
                            lambda: self._closing or self._flushing, self.interval
                        )
                    batch = list(self._events)
                    if not batch and self._closing:
                        return
                done = self._write(batch)
                with self._cond:
                    for _ in range(done):
                        self._events.popleft()
                    self._written += done
                    self._cond.notify_all()
                if done == len(batch):
                    failures = 0
                    continue
                failures += 1
                if self._closing and failures > len(_BACKOFF_SECONDS):
                    return  # close() logs what is left
                time.sleep(_BACKOFF_SECONDS[min(failures, len(_BACKOFF_SECONDS)) - 1])
        finally:
            connection.close()

    def _write(self, batch: list[Mapping[str, Any]]) -> int:
        """How many events, from the front of `batch`, are now settled."""
        try:
            write_events(batch)
            return len(batch)
        except (OperationalError, InterfaceError):
            log.warning("staging %d check audit events failed; retrying", len(batch))
            connection.close()  # reconnect on the next try
            return 0
        except DatabaseError:
            log.warning("a batch of check audit events was refused; one by one")
        except Exception:  # the thread must outlive anything; keep the events
            log.exception("staging check audit events failed; retrying")
            connection.close()
            return 0
        for done, event in enumerate(batch):
            try:
                write_events([event])
            except IntegrityError:
                # Its event id is taken: an earlier write committed although its
                # answer was lost with the connection.
                pass
            except DatabaseError as error:
                if isinstance(error, OperationalError | InterfaceError):
                    connection.close()
                    return done
                log.error("check audit event refused: %s", _describe(event))
        return len(batch)


def _describe(event: Mapping[str, Any]) -> str:
    return json.dumps({name: event[name] for name in CONTENT_FIELDS}, default=str)


_buffer: CheckEventBuffer | None = None
_buffer_lock = threading.Lock()


def check_event_buffer() -> CheckEventBuffer | None:
    """This process's buffer; None when check events are written one by one."""
    global _buffer
    interval_ms = settings.CMP_AUDIT_CHECK_FLUSH_MS
    if not interval_ms or connection.vendor != "postgresql":
        return None
    if _buffer is None:
        with _buffer_lock:
            if _buffer is None:
                _buffer = CheckEventBuffer(
                    interval=interval_ms / 1000,
                    max_pending=settings.CMP_AUDIT_CHECK_MAX_PENDING,
                )
    return _buffer


def flush_check_events(timeout: float = 5.0) -> bool:
    buffer = _buffer
    return buffer.flush(timeout) if buffer is not None else True


def _close_at_exit() -> None:
    if _buffer is not None:
        _buffer.close()


def _forget_after_fork() -> None:
    # The parent still owns (and writes) what its buffer holds.
    global _buffer, _buffer_lock
    _buffer, _buffer_lock = None, threading.Lock()


atexit.register(_close_at_exit)
os.register_at_fork(after_in_child=_forget_after_fork)

"""The last write a store refused as an outage, so that `/readyz` can say so.

A store can answer reads while refusing every write: an SQLite file made read-only or
its disk full, a PostgreSQL standby after a failover (`default_transaction_read_only`).
`/readyz`'s check is a read, so it said ready while every score and decision was
answered 503. Each process remembers the last write its store refused as an outage
(`api.store.db.is_outage`) and is not ready for a while after it: a load balancer then
sends its requests elsewhere. It is ready again by itself once that while has passed
with no write refused; while the store still refuses, the next write it is sent is
refused (503 with Retry-After, nothing acknowledged) and holds it back again.

Why not try a write, rolled back, on every `/readyz`: cheap enough (measured 68 against
53 us a call on SQLite, 284 against 238 us on PostgreSQL), but on SQLite it takes the
write lock that the audit chain's appends hold, so a poll would wait behind them (up to
the 30 s busy timeout) or hold them up; and a write that is rolled back never meets a
full disk (SQLite writes its pages to the log at commit). A refusal that real writes
met covers every cause and costs the requests that succeed nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

# The statements that write; a failed commit (no statement) counts as a refused write too.
_WRITES = ("INSERT", "UPDATE", "DELETE")


class RefusedWrites:
    """The last write an engine's store refused as an outage, for ``window`` seconds
    after it (0: never held against readiness)."""

    def __init__(self, engine: Engine, *, window: float,
                 is_outage: Callable[[BaseException], bool]) -> None:
        self.window = window
        self._is_outage = is_outage
        self._lock = threading.Lock()
        self._last: tuple[float, str] | None = None  # (monotonic time, driver's error type)
        event.listen(engine, "handle_error", self._note)

    def _note(self, context: ExceptionContext) -> None:
        statement = (context.statement or "").lstrip()[:6].upper()
        committing = context.statement is None and context.connection is not None
        if context.is_pre_ping or not (committing or statement.startswith(_WRITES)):
            return
        if self._is_outage(context.sqlalchemy_exception or context.original_exception):
            with self._lock:
                self._last = (time.monotonic(), type(context.original_exception).__name__)

    def recent(self) -> str | None:
        """Why the store is held not ready (the last refusal, how long ago), or None."""
        with self._lock:
            last = self._last
        if last is None:
            return None
        ago = time.monotonic() - last[0]
        if ago >= self.window:
            return None
        return (f"the store refused a write {ago:.0f} s ago ({last[1]}); ready again "
                f"{self.window:g} s after the last refusal")

"""Deadlines for slow clients: uvicorn's h11 HTTP/1.1 protocol, with a header and a body timeout.

uvicorn closes a connection that stays idle ``timeout_keep_alive`` seconds after a response, but
has no limit on how long a client may take to send a request, so a client that trickles its
headers or its body (slowloris) holds a connection, and a task, for as long as it likes. Here each
request must arrive in time, as nginx's ``client_header_timeout``/``client_body_timeout`` require:

- its headers within ``header_timeout`` seconds of the connection opening or of its first byte
  (on a kept-alive connection);
- its body within ``body_timeout`` seconds of the end of its headers.

A late connection is closed (one INFO line on this module's logger); an application still
reading that body sees a client disconnect. The phase of a request is read from h11's own state
(``their_state``): ``IDLE`` with bytes received means headers in progress, ``SEND_BODY`` a body in
progress, anything else nothing to wait for.

uvicorn takes the class as ``http=functools.partial(DeadlineH11Protocol, header_timeout=...,
body_timeout=...)`` (a partial of a module-level class pickles, so ``--workers`` processes get it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class DeadlineH11Protocol(H11Protocol):
    """``H11Protocol`` that closes connections whose request headers or body arrive too slowly."""

    def __init__(self, *args: Any, header_timeout: float, body_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timeouts = {"headers": header_timeout, "body": body_timeout}
        self._phase: str | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm("headers")

    def data_received(self, data: bytes) -> None:
        """Let uvicorn handle the bytes, then follow the request's phase."""
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._arm("body")
        elif state is h11.IDLE:
            self._arm("headers")
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, phase: str) -> None:
        if self._phase == phase:
            return  # the clock runs from the start of the phase
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(self._timeouts[phase], self._expire, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._phase = None, None

    def _expire(self, phase: str) -> None:
        self._deadline, self._phase = None, None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info(
            "closing the connection from %s: request %s not received within %g s", client, phase, self._timeouts[phase]
        )
        self.transport.close()

"""One request as the wire layer saw it, and the one log line written for it.

Every request to the AWS endpoint gets one INFO line on the logger ``rekollect.requests`` when it
has been answered: request id (the ``x-amzn-RequestId`` sent back), operation (``-`` when the
``X-Amz-Target`` names none of the service's), the caller's access key id (verified by SigV4;
``null``/``-`` in local mode, or when authentication failed or was throttled), HTTP status, AWS error type (when
it failed), latency in milliseconds (from the request's headers to its response, body upload
included) and the client's address. With ``--log-format json`` (``server.configure_logging``)
these are the line's fields ``request_id``, ``operation``, ``key_id``, ``status``, ``error``,
``latency_ms`` and ``client``; as text they follow ``request``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from ..errors import RekognitionError
from ..tallies import Tallies

log = logging.getLogger("rekollect.requests")

UNKNOWN_OPERATION = "-"
"""The operation of a request whose ``X-Amz-Target`` names none of the service's operations."""


@dataclass
class Exchange:
    """What the endpoint learns of one request while answering it.

    ``started`` is ``time.perf_counter()`` when its headers were in; ``key_id`` the access key id
    its signature was verified with; ``error`` the ``RekognitionError`` it was answered with, if
    any; ``tallies`` what the operation counted (``rekollect.tallies``).
    """

    request_id: str
    client: str | None
    started: float = field(default_factory=time.perf_counter)
    operation: str = UNKNOWN_OPERATION
    key_id: str | None = None
    error: RekognitionError | None = None
    tallies: Tallies = field(default_factory=dict)

    def elapsed_ms(self) -> float:
        """Milliseconds since ``started``."""
        return (time.perf_counter() - self.started) * 1000.0


def log_exchange(exchange: Exchange, status: int, latency_ms: float) -> None:
    """Write the request's log line (see the module docstring)."""
    error = exchange.error.code if exchange.error is not None else None
    log.info(
        "request %s %s key=%s status=%d%s %.1f ms client=%s",
        exchange.request_id,
        exchange.operation,
        exchange.key_id or "-",
        status,
        f" error={error}" if error else "",
        latency_ms,
        exchange.client or "-",
        extra={
            "request_id": exchange.request_id,
            "operation": exchange.operation,
            "key_id": exchange.key_id,
            "status": status,
            "error": error,
            "latency_ms": round(latency_ms, 3),
            "client": exchange.client,
        },
    )

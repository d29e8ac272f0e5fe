"""``GET /metrics``: the requests' metrics under the names AWS publishes for Rekognition in
CloudWatch, plus the service's own gauges, in Prometheus' text format (``prometheus-client``).

Per operation (label ``operation``; ``-`` for an ``X-Amz-Target`` that names none, so clients
cannot add label values), as in "Monitoring Rekognition with Amazon CloudWatch" (AWS's developer
guide):

- ``SuccessfulRequestCount``, ``ThrottledCount`` (answered ``ThrottlingException``),
  ``ServerErrorCount`` (HTTP 5xx), ``UserErrorCount`` (any other error): counters, each request
  counted in exactly one (Prometheus' text format writes a counter ``X`` as ``X_total``);
- ``ResponseTime``: histogram of every answered request's latency in milliseconds, CloudWatch's
  unit (from the request's headers to its response, as in the request log line);
- one counter per tally the operations declare (``rekollect.tallies``; ``DetectedFaceCount``).

``collectors`` (``prometheus_client`` custom collectors, e.g. faces per collection) are asked at
each scrape. With ``PROMETHEUS_MULTIPROC_DIR`` set (``--workers`` > 1: ``server.serve`` sets it),
the counters and histogram live in files there, and a scrape, answered by whichever process gets
it, sums those of every process (prometheus-client's multiprocess mode); the collectors are those
of the answering process.

Who may read it is ``MetricsAccess``'s decision: the page names every collection and its size.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..addresses import is_loopback
from .exchange import Exchange

RESPONSE_TIME_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000)
"""Upper bounds (milliseconds) of ``ResponseTime``'s buckets: an empty call to a large image."""

THROTTLING_ERRORS = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException"})
"""AWS error types counted in ``ThrottledCount``."""


class MetricsAccess:
    """Who may read ``GET /metrics``.

    A request whose ``Authorization`` header is ``Bearer <token>`` (compared in constant time) may,
    when a token is configured (``--metrics-token-file``). Without it: in local mode (no
    credentials: the server listens on loopback only, and anyone who reaches it may call every
    operation anyway) a client on a loopback address may; with credentials configured nobody may,
    as the API itself needs a signature. Refusals are 401 (with ``WWW-Authenticate: Bearer``) when
    a token would help, 403 otherwise.
    """

    def __init__(self, *, token: str | None, local_mode: bool) -> None:
        self._token = token.encode() if token else None
        self._local_mode = local_mode

    def refusal(self, authorization: str | None, client_host: str | None) -> Response | None:
        """``None`` if the request may read the metrics, else the response refusing it."""
        if self._token is not None and authorization is not None:
            scheme, _, presented = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), self._token):
                return None
        if self._local_mode and is_loopback(client_host):
            return None
        if self._token is not None:
            return PlainTextResponse(
                "/metrics needs the metrics bearer token\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        if self._local_mode:
            return PlainTextResponse("/metrics is only served to loopback clients\n", status_code=403)
        return PlainTextResponse("/metrics is off: credentials are configured and no metrics token is\n", 403)


class WireMetrics:
    """The requests' metrics, and the ``/metrics`` endpoint serving them (see the module docstring).

    ``tallied``: the tally names the operations record, each a counter of that name, with its
    description (Prometheus' ``HELP``).
    """

    def __init__(
        self,
        access: MetricsAccess,
        *,
        tallied: Mapping[str, str] | None = None,
        collectors: Iterable[Collector] = (),
    ) -> None:
        self.access = access
        self.registry = CollectorRegistry()
        self._collectors = list(collectors)
        labels = ["operation"]
        self._successful = self._counter("SuccessfulRequestCount", "Requests answered without error", labels)
        self._throttled = self._counter("ThrottledCount", "Requests answered ThrottlingException", labels)
        self._server_errors = self._counter("ServerErrorCount", "Requests answered with an HTTP 5xx error", labels)
        self._user_errors = self._counter("UserErrorCount", "Requests answered with any other error", labels)
        self._response_time = Histogram(
            "ResponseTime",
            "Milliseconds from a request's headers to its response",
            labels,
            buckets=RESPONSE_TIME_BUCKETS_MS,
            registry=self.registry,
        )
        self._tallies = {name: self._counter(name, text, labels) for name, text in (tallied or {}).items()}
        for collector in self._collectors:
            self.registry.register(collector)

    def _counter(self, name: str, documentation: str, labels: list[str]) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def record(self, exchange: Exchange, latency_ms: float) -> None:
        """Count an answered request."""
        operation = exchange.operation
        error = exchange.error
        if error is None:
            self._successful.labels(operation).inc()
        elif error.code in THROTTLING_ERRORS:
            self._throttled.labels(operation).inc()
        elif error.status >= 500:
            self._server_errors.labels(operation).inc()
        else:
            self._user_errors.labels(operation).inc()
        self._response_time.labels(operation).observe(latency_ms)
        for name, amount in exchange.tallies.items():
            counter = self._tallies.get(name)
            if counter is not None:
                counter.labels(operation).inc(amount)

    def render(self) -> bytes:
        """The metrics in Prometheus' text format (summed over processes in multiprocess mode)."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        for collector in self._collectors:
            registry.register(collector)
        return generate_latest(registry)

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``: the metrics, or ``MetricsAccess``'s refusal."""
        refusal = self.access.refusal(
            request.headers.get("authorization"), request.client.host if request.client else None
        )
        if refusal is not None:
            return refusal
        return Response(await run_in_threadpool(self.render), media_type=CONTENT_TYPE_LATEST)

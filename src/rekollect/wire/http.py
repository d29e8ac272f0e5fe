"""The AWS JSON 1.1 endpoint: one Starlette route that speaks Rekognition's wire protocol.

A request is ``POST /`` with ``X-Amz-Target: <targetPrefix>.<Operation>`` and a JSON body
(``Content-Type: application/x-amz-json-1.1``); each served service model (Rekognition's,
``RekognitionService``, and Rekollect's extensions, ``RekollectExtensions``) owns its target prefix. The body's text must be Unicode scalar values
(``scalars.py``); it is validated against the operation's input shape, handed to the operation as
a plain ``dict``, and the operation's ``dict`` result is serialized through the output shape;
notices the operation recorded (``rekollect.notices``) become ``x-rekollect-<name>`` headers,
its tallies (``rekollect.tallies``) counts in ``GET /metrics`` (``metrics.py``), and every answered
request gets one log line (``exchange.py``).
Errors go out as AWS sends them: HTTP 400 (500 for
``InternalServerError``), body ``{"__type": ..., "message": ...}``, headers ``x-amzn-RequestId``
and ``x-amzn-ErrorType``.

Everything that costs CPU in proportion to the body (SigV4's body hash, JSON parsing, validation,
the operation, serializing the answer) runs on a worker thread, never on the event loop. JSON
parsing holds the GIL, so a body with more than ``MAX_JSON_SEPARATORS`` commas (no valid
Rekognition request has a tenth of that: the longest lists, ``FaceIds``, hold 4096 items) is
refused before it is parsed, with ``InvalidParameterException``.

This module knows nothing of faces: it is given, per service model, a mapping of operation name to handler.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Protocol

from botocore.model import ServiceModel
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..errors import (
    ImageTooLargeException,
    InternalServerError,
    InvalidParameterException,
    RekognitionError,
    SerializationException,
    UnknownOperationException,
)
from ..notices import Notices
from ..notices import collect as collect_notices
from ..tallies import collect as collect_tallies
from .exchange import Exchange, log_exchange
from .metrics import WireMetrics
from .scalars import check_scalar_values
from .serialization import serialize_response
from .sigv4 import SignedRequest
from .validation import parse_request

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
"""An operation: takes the parsed request members, returns the response members."""


class Guard(Protocol):
    """Authentication and authorization of requests (``security.guard.RequestGuard``)."""

    def authenticate(self, request: SignedRequest) -> Any:
        """Return the caller (or ``None`` when anonymous); raise a ``RekognitionError`` to refuse."""
        ...

    def authorize(self, caller: Any, operation: str, params: dict[str, Any]) -> None:
        """Raise a ``RekognitionError`` if ``caller`` may not run ``operation`` with ``params``."""
        ...

    def key_id(self, caller: Any) -> str | None:
        """The access key id ``caller`` (from ``authenticate``) signed with, for the request log."""
        ...


CONTENT_TYPE = "application/x-amz-json-1.1"
NOTICE_HEADER_PREFIX = "x-rekollect-"
"""A successful response carries each notice the operation recorded (``rekollect.notices``) as the
header ``x-rekollect-<name>: <value>,<value>...``."""
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Two 5 MB images in base64 (CompareFaces) fit with room to spare."""
MAX_JSON_SEPARATORS = 50_000
"""Commas a body may hold: parsing that many values takes milliseconds (5 M take 0.3 s)."""


def create_wire_app(
    services: Sequence[tuple[ServiceModel, Mapping[str, Handler]]],
    *,
    guard: Guard | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    metrics: WireMetrics | None = None,
    on_shutdown: Callable[[], None] | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """Build the ASGI app that serves, on ``POST /``, each ``(model, operations)`` of ``services``: the
    operations (keyed by AWS operation name) under the model's ``targetPrefix``.

    Each answered request is logged in one line (``exchange.py``) and, with ``metrics``, counted
    there; ``metrics`` also serves ``GET /metrics`` (``metrics.py``).

    ``on_shutdown`` runs (in a worker thread) when the ASGI server shuts the app down, after the
    requests in flight have been answered, whichever signal stopped the server: uvicorn re-raises
    SIGTERM after its graceful shutdown, so the process dies without running ``atexit`` hooks.
    ``extra_routes`` (a health check, say) are served beside ``POST /``.
    """
    by_prefix = {model.metadata["targetPrefix"]: (model, operations) for model, operations in services}

    async def endpoint(request: Request) -> Response:
        exchange = Exchange(str(uuid.uuid4()), request.client.host if request.client else None)
        try:
            response = await answer(request, exchange)
        except ClientDisconnect:
            # The client went away (or was cut off by a timeout) mid-body: nobody to answer.
            log.info("request %s: the client disconnected before sending the whole body", exchange.request_id)
            return Response(status_code=400)
        latency_ms = exchange.elapsed_ms()
        if metrics is not None:
            metrics.record(exchange, latency_ms)
        log_exchange(exchange, response.status_code, latency_ms)
        return response

    async def answer(request: Request, exchange: Exchange) -> Response:
        request_id = exchange.request_id
        try:
            model, operations, name = _operation(request.headers.get("x-amz-target", ""), by_prefix)
            exchange.operation = name
            operation = model.operation_model(name)
            body = await _read_body(request, max_body_bytes, has_blob=_takes_blob(operation.input_shape))
            signed = _signed_request(request, body)

            def run() -> tuple[str, Notices]:
                caller = guard.authenticate(signed) if guard is not None else None
                exchange.key_id = guard.key_id(caller) if guard is not None else None
                params = parse_request(operation.input_shape, _decode_json(body))
                if guard is not None:
                    guard.authorize(caller, name, params)
                with collect_notices() as notices, collect_tallies() as tallies:
                    exchange.tallies = tallies
                    result = operations[name](params)
                return json.dumps(serialize_response(operation.output_shape, result)), notices

            payload, notices = await run_in_threadpool(run)
            return Response(
                payload,
                media_type=CONTENT_TYPE,
                headers={"x-amzn-RequestId": request_id, **_notice_headers(notices)},
            )
        except RekognitionError as error:
            exchange.error = error
            return _error_response(error, request_id)
        except ClientDisconnect:
            raise
        except Exception:
            log.exception("request %s failed", request_id)
            exchange.error = InternalServerError("Internal server error")
            return _error_response(exchange.error, request_id)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            await run_in_threadpool(on_shutdown)

    routes = [Route("/", endpoint, methods=["POST"]), *extra_routes]
    if metrics is not None:
        routes.append(Route("/metrics", metrics.endpoint, methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)


def _signed_request(request: Request, body: bytes) -> SignedRequest:
    return SignedRequest(
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        headers=dict(request.headers),
        body=body,
        client_host=request.client.host if request.client else None,
        secure=request.url.scheme == "https",
    )


def _operation(
    target: str, by_prefix: Mapping[str, tuple[ServiceModel, Mapping[str, Handler]]]
) -> tuple[ServiceModel, Mapping[str, Handler], str]:
    prefix, dot, name = target.partition(".")
    if not dot or prefix not in by_prefix:
        raise UnknownOperationException(f"Unknown X-Amz-Target {target!r}")
    model, operations = by_prefix[prefix]
    if name not in operations:
        raise UnknownOperationException(f"Operation {name!r} is not supported by this service")
    return model, operations, name


def _takes_blob(shape: Any, seen: frozenset[str] = frozenset()) -> bool:
    if shape is None or shape.name in seen:
        return False
    if shape.type_name == "blob":
        return True
    if shape.type_name == "structure":
        return any(_takes_blob(member, seen | {shape.name}) for member in shape.members.values())
    return False


async def _read_body(request: Request, limit: int, *, has_blob: bool) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            message = f"Request body exceeds {limit} bytes"
            raise ImageTooLargeException(message) if has_blob else InvalidParameterException(message)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    if body.count(b",") > MAX_JSON_SEPARATORS:
        raise InvalidParameterException(
            f"Request body has more than {MAX_JSON_SEPARATORS} ',' separators: no valid request has as many values"
        )
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SerializationException(f"Request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise SerializationException("Request body must be a JSON object")
    check_scalar_values(value)
    return value


def _notice_headers(notices: Notices) -> dict[str, str]:
    return {f"{NOTICE_HEADER_PREFIX}{name}": ",".join(values) for name, values in notices.items() if values}


def _error_response(error: RekognitionError, request_id: str) -> Response:
    return Response(
        json.dumps({"__type": error.code, "message": error.message}),
        status_code=error.status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code},
    )

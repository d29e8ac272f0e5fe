"""The AWS JSON 1.1 endpoint: one Starlette route that speaks Rekognition's wire protocol.

A request is ``POST /`` with ``X-Amz-Target: RekognitionService.<Operation>`` and a JSON body
(``Content-Type: application/x-amz-json-1.1``). The body's text must be Unicode scalar values
(``scalars.py``); it is validated against the operation's input shape, handed to the operation as
a plain ``dict``, and the operation's ``dict`` result is serialized through the output shape;
notices the operation recorded (``rekollect.notices``) become ``x-rekollect-<name>`` headers.
Errors go out as AWS sends them: HTTP 400 (500 for
``InternalServerError``), body ``{"__type": ..., "message": ...}``, headers ``x-amzn-RequestId``
and ``x-amzn-ErrorType``.

This module knows nothing of faces: it is given a mapping of operation name to handler.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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
from .scalars import check_scalar_values
from .serialization import serialize_response
from .service_model import rekognition_model
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


CONTENT_TYPE = "application/x-amz-json-1.1"
NOTICE_HEADER_PREFIX = "x-rekollect-"
"""A successful response carries each notice the operation recorded (``rekollect.notices``) as the
header ``x-rekollect-<name>: <value>,<value>...``."""
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Two 5 MB images in base64 (CompareFaces) fit with room to spare."""


def create_wire_app(
    operations: Mapping[str, Handler],
    *,
    guard: Guard | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    """Build the ASGI app that serves ``operations`` (keyed by AWS operation name) on ``POST /``."""
    model = rekognition_model()
    prefix = model.metadata["targetPrefix"] + "."

    async def endpoint(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            name = _operation_name(request.headers.get("x-amz-target", ""), prefix, operations)
            operation = model.operation_model(name)
            body = await _read_body(request, max_body_bytes, has_blob=_takes_blob(operation.input_shape))
            caller = guard.authenticate(_signed_request(request, body)) if guard is not None else None
            params = parse_request(operation.input_shape, _decode_json(body))
            if guard is not None:
                guard.authorize(caller, name, params)
            with collect_notices() as notices:
                result = await run_in_threadpool(operations[name], params)
            payload = serialize_response(operation.output_shape, result)
            return Response(
                json.dumps(payload),
                media_type=CONTENT_TYPE,
                headers={"x-amzn-RequestId": request_id, **_notice_headers(notices)},
            )
        except RekognitionError as error:
            return _error_response(error, request_id)
        except Exception:
            log.exception("request %s failed", request_id)
            return _error_response(InternalServerError("Internal server error"), request_id)

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])


def _signed_request(request: Request, body: bytes) -> SignedRequest:
    return SignedRequest(
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        headers=dict(request.headers),
        body=body,
    )


def _operation_name(target: str, prefix: str, operations: Mapping[str, Handler]) -> str:
    if not target.startswith(prefix):
        raise UnknownOperationException(f"Unknown X-Amz-Target {target!r}")
    name = target[len(prefix) :]
    if name not in operations:
        raise UnknownOperationException(f"Operation {name!r} is not supported by this service")
    return name


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

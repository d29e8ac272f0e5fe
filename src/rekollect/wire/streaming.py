"""Bidirectional event streams over WebSocket, as the AWS SDKs open them (Rekognition's
``StartFaceLivenessSession``): a pre-signed upgrade, then signed event-stream frames.

The SDKs' ``@aws-sdk/middleware-websocket`` turns the operation into ``GET wss://<host>/<path>-websocket``
with the operation's header members moved into the query string (their common prefix removed)
and the whole URL pre-signed with SigV4 (``X-Amz-*`` query members, only ``host`` signed). Each
client frame is then one binary WebSocket message holding a signed envelope around one event
(``eventstream.sign_chunk``), its signature chained from the URL's; the server's frames are plain
event-stream messages: events (``:message-type: event``) or modelled errors (``exception``).

``stream_route`` serves one such path. It checks, before accepting the upgrade, the pre-signed URL
(``Guard.authenticate`` with only ``host`` required) and the caller's policy for the operation;
then for every frame: its size (``max_frame_bytes``), that it arrives within ``idle_seconds`` of
the previous one, its chunk signature, and that its event is JSON. What the frames mean is the
``StreamSession``'s business (a domain object that knows nothing of WebSocket): this module knows
nothing of faces. A failure before the upgrade is answered as an HTTP error (AWS's JSON error body
and ``x-amzn-ErrorType``); after it, as an exception event followed by a close (code 1000 after a
modelled error, as AWS closes its streams).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import InvalidSignatureException, RekognitionError, ValidationException
from . import eventstream
from .sigv4 import SignedRequest

log = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]
"""An event of a stream: its type (the event-stream union member) and its JSON members."""


class StreamSession(Protocol):
    """One stream's meaning, from the domain: the events it opens with, what each client event
    answers, and whether it is over. Methods may raise a ``RekognitionError`` to end the stream with it."""

    def opening_events(self) -> list[Event]:
        """Events sent as soon as the upgrade is accepted."""
        ...

    def on_event(self, event_type: str, members: dict[str, Any]) -> list[Event]:
        """Take one client event; the events to send back (the final ones when ``finished``)."""
        ...

    @property
    def finished(self) -> bool:
        """True once the stream has said all it will: the server closes it after the last events."""
        ...

    def abandon(self) -> None:
        """The client went away, or the stream failed, before it was finished."""
        ...


class Guard(Protocol):
    """What the stream needs of ``security.guard.RequestGuard``."""

    def authenticate(self, request: SignedRequest, required_headers: tuple[str, ...]) -> Any:
        """The caller (``None`` when anonymous), or a ``RekognitionError``."""
        ...

    def authorize(self, caller: Any, operation: str, params: dict[str, Any]) -> None:
        """``RekognitionError`` unless ``caller`` may run ``operation``."""
        ...

    def chunk_chain(self, caller: Any) -> ChunkChain:
        """The frame-signature verifier chained from the caller's request signature."""
        ...


class ChunkChain:
    """Verifies the signed envelopes of one stream in order (``eventstream.verify_chunk``) and
    returns what they carry. With ``secret`` ``None`` (local mode) frames are only unwrapped. A
    frame whose ``:date`` is more than ``max_skew`` from the server's clock is refused too."""

    def __init__(self, secret: str | None, access_key: str, scope: str, seed: str, max_skew: dt.timedelta) -> None:
        self._secret, self._access_key, self._scope = secret, access_key, scope
        self._prior = seed
        self._max_skew = max_skew

    def open(self, frame: bytes) -> bytes:
        """The inner message of the envelope ``frame``; ``InvalidSignatureException`` when its
        signature does not follow the chain, ``ValidationException`` when it is no envelope."""
        try:
            envelope = eventstream.decode(frame)
        except eventstream.FrameError as error:
            raise ValidationException(f"The frame is not an event-stream message: {error}") from None
        if self._secret is None:
            return envelope.payload
        try:
            self._prior, signed_at = eventstream.verify_chunk(
                envelope, self._secret, self._access_key, self._scope, self._prior
            )
        except ValueError as error:
            raise InvalidSignatureException(str(error)) from None
        if abs(dt.datetime.now(dt.UTC) - signed_at) > self._max_skew:
            raise InvalidSignatureException("The frame's :date is too far from the server time")
        return envelope.payload


@dataclass(frozen=True)
class StreamLimits:
    """What one stream may send: ``max_frame_bytes`` a frame (a ``ValidationException`` past it),
    ``idle_seconds`` between frames and ``total_seconds`` in all (the stream is then closed with
    a ``ValidationException``: the client stopped sending or took too long)."""

    max_frame_bytes: int
    idle_seconds: float
    total_seconds: float


def stream_route(
    path: str,
    operation: str,
    query_members: dict[str, str],
    open_session: Callable[[dict[str, str]], StreamSession],
    guard: Guard | None,
    limits: StreamLimits,
) -> WebSocketRoute:
    """The WebSocket route at ``path`` for ``operation``: ``query_members`` maps each query
    parameter to the operation's member name; ``open_session(members)`` (run in a worker thread)
    starts the domain session, or raises a ``RekognitionError`` (answered as an HTTP error)."""

    async def endpoint(websocket: WebSocket) -> None:
        stream_id = str(uuid.uuid4())
        query = dict(websocket.query_params)
        members = {member: query[name] for name, member in query_members.items() if name in query}
        request = SignedRequest(
            method="GET",
            path=websocket.url.path,
            query=websocket.url.query,
            headers=dict(websocket.headers),
            body=b"",
            client_host=websocket.client.host if websocket.client else None,
            secure=websocket.url.scheme == "wss",
        )

        def begin() -> tuple[StreamSession, ChunkChain | None]:
            caller = _authenticate(guard, request) if guard is not None else None
            if guard is not None:
                guard.authorize(caller, operation, members)
            chain = guard.chunk_chain(caller) if guard is not None else None
            return open_session(members), chain

        try:
            session, chain = await run_in_threadpool(begin)
        except RekognitionError as error:
            log.info("stream %s %s refused: %s %s", stream_id, operation, error.code, error.message)
            await websocket.send_denial_response(_error_response(error, stream_id))
            return
        await websocket.accept()
        await _run(websocket, session, chain, limits, stream_id, operation)

    return WebSocketRoute(path, endpoint)


def _authenticate(guard: Guard, request: SignedRequest) -> Any:
    """The caller of the pre-signed upgrade. The AWS SDKs for JavaScript sign the ``host`` of the
    endpoint without its port (``@aws-sdk/middleware-websocket`` copies ``hostname`` alone), while the
    browser sends ``Host: name:port``: on a non-default port, a signature that fails with the port is
    checked once more against the host name alone, which is what the SDK signed."""
    try:
        return guard.authenticate(request, ("host",))
    except InvalidSignatureException:
        host = {name.lower(): value for name, value in request.headers.items()}.get("host", "")
        name, colon, port = host.rpartition(":")
        if not colon or not port.isdigit() or "]" in port:
            raise
        headers = {**{key: value for key, value in request.headers.items() if key.lower() != "host"}, "host": name}
        return guard.authenticate(dataclasses.replace(request, headers=headers), ("host",))


async def _run(
    websocket: WebSocket,
    session: StreamSession,
    chain: ChunkChain | None,
    limits: StreamLimits,
    stream_id: str,
    operation: str,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.total_seconds
    try:
        await _send(websocket, session.opening_events())
        while not session.finished:
            timeout = min(limits.idle_seconds, deadline - loop.time())
            if timeout <= 0:
                raise ValidationException(f"The stream did not finish within {limits.total_seconds:g} seconds")
            try:
                frame = await asyncio.wait_for(websocket.receive_bytes(), timeout)
            except TimeoutError:
                raise ValidationException(f"No frame arrived within {timeout:g} seconds") from None
            if len(frame) > limits.max_frame_bytes:
                raise ValidationException(f"A frame of {len(frame)} bytes exceeds {limits.max_frame_bytes} bytes")
            inner = chain.open(frame) if chain is not None else eventstream.decode(frame).payload
            event_type, members = _event_of(inner)
            await _send(websocket, await run_in_threadpool(session.on_event, event_type, members))
        await websocket.close(1000)
        log.info("stream %s %s finished", stream_id, operation)
    except WebSocketDisconnect:
        log.info("stream %s %s: the client disconnected before the end", stream_id, operation)
        await _abandon(session, stream_id)
    except RekognitionError as error:
        log.info("stream %s %s ended with %s: %s", stream_id, operation, error.code, error.message)
        await _abandon(session, stream_id)
        await _send_error(websocket, error)
    except Exception:
        log.exception("stream %s %s failed", stream_id, operation)
        await _abandon(session, stream_id)
        await _send_error(websocket, RekognitionError("Internal server error"), "InternalServerException")


async def _abandon(session: StreamSession, stream_id: str) -> None:
    try:
        await run_in_threadpool(session.abandon)
    except Exception:
        log.exception("stream %s: the session could not record its end", stream_id)


def _event_of(inner: bytes) -> tuple[str, dict[str, Any]]:
    try:
        message = eventstream.decode(inner)
    except eventstream.FrameError as error:
        raise ValidationException(f"The envelope does not hold an event-stream message: {error}") from None
    event_type = message.headers.get(":event-type")
    if message.headers.get(":message-type") != "event" or not isinstance(event_type, str):
        raise ValidationException("Each client message must be an event with an :event-type")
    try:
        members = json.loads(message.payload) if message.payload else {}
    except (UnicodeDecodeError, ValueError):
        raise ValidationException(f"The {event_type} payload is not JSON") from None
    if not isinstance(members, dict):
        raise ValidationException(f"The {event_type} payload must be a JSON object")
    return event_type, members


async def _send(websocket: WebSocket, events: list[Event]) -> None:
    for event_type, members in events:
        await websocket.send_bytes(eventstream.event_message(event_type, json.dumps(members).encode()))


async def _send_error(websocket: WebSocket, error: RekognitionError, code: str | None = None) -> None:
    payload = json.dumps({"Message": error.message, "Code": code or error.code}).encode()
    try:
        await websocket.send_bytes(eventstream.exception_message(code or error.code, payload))
        await websocket.close(1000)
    except (WebSocketDisconnect, RuntimeError):  # the client is already gone
        pass


def _error_response(error: RekognitionError, request_id: str) -> Response:
    status = 403 if error.code.endswith(("SignatureException", "TokenException", "ClientException")) else error.status
    if error.code == "AccessDeniedException":
        status = 403
    return Response(
        json.dumps({"__type": error.code, "message": error.message}),
        status_code=status,
        media_type="application/x-amz-json-1.1",
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code},
    )

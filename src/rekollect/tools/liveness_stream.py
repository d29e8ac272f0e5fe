"""A Python client for Face Liveness streams (``StartFaceLivenessSession`` over WebSocket), speaking
what the AWS SDKs for JavaScript speak: a SigV4 pre-signed ``wss:`` URL (botocore's
``SigV4QueryAuth``, ``host`` signed, 299 s as Amplify asks), then each event as an event-stream
message inside an envelope whose ``:chunk-signature`` chains from the URL's signature
(``wire.eventstream.sign_chunk``). It lets the protocol, and the server's decision, be exercised
without a browser (``tests/test_liveness_stream.py``) and lets a backend in Python run a session.

Usage::

    with LivenessStreamClient("https://host:8443", "us-east-1", key, secret, ssl_context=context).open(
        session_id, 640, 480
    ) as stream:
        challenge = stream.session_information["Challenge"]
        stream.send("VideoEvent", {"VideoChunk": base64_text, "TimestampMillis": now_ms})
        ...
        events = stream.finish()  # sends the empty chunk; the events up to DisconnectionEvent
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from ..wire import eventstream

PATH = "/start-face-liveness-session-websocket"
CHALLENGE_VERSIONS = "FaceMovementAndLightChallenge_2.0.0,FaceMovementChallenge_1.0.0"
"""What Amplify's ``FaceLivenessDetectorCore`` offers."""
EXPIRES_SECONDS = 299


class StreamError(Exception):
    """The server ended the stream with a modelled error (``code``, e.g. ``ValidationException``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class LivenessStreamClient:
    """Opens streams against ``endpoint_url`` (``https://host:port``, or ``http://`` for a server
    without TLS) with the given credentials, signing for ``region`` and service ``rekognition``."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        access_key: str,
        secret_key: str,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region
        self.credentials = Credentials(access_key, secret_key)
        self.ssl_context = ssl_context

    def presigned_url(self, session_id: str, width: int, height: int, versions: str = CHALLENGE_VERSIONS) -> str:
        """The ``wss:`` (or ``ws:``) URL of the stream, pre-signed for ``EXPIRES_SECONDS``."""
        query = urlencode(
            {
                "session-id": session_id,
                "video-width": str(width),
                "video-height": str(height),
                "challenge-versions": versions,
            }
        )
        request = AWSRequest(method="GET", url=f"{self.endpoint_url}{PATH}?{query}")
        SigV4QueryAuth(self.credentials, "rekognition", self.region, expires=EXPIRES_SECONDS).add_auth(request)
        signed = request.prepare().url
        return "ws" + signed[len("http") :]

    def open(self, session_id: str, width: int, height: int, versions: str = CHALLENGE_VERSIONS) -> LivenessStream:
        """Connect and read the ``ServerSessionInformationEvent``; ``StreamError`` when the server
        answers with an error event, ``websockets.exceptions.InvalidStatus`` when it refuses the
        upgrade (its HTTP response carries AWS's ``x-amzn-ErrorType``)."""
        url = self.presigned_url(session_id, width, height, versions)
        query = parse_qs(urlsplit(url).query)
        signature, timestamp = query["X-Amz-Signature"][0], query["X-Amz-Date"][0]
        scope = f"{timestamp[:8]}/{self.region}/rekognition/aws4_request"
        secure = self.ssl_context if url.startswith("wss:") else None
        # Entered as a context manager (websockets asks it): the stream closes it on exit.
        connection = connect(url, ssl=secure, max_size=None, open_timeout=60).__enter__()
        stream = LivenessStream(connection, self.credentials, scope, signature)
        stream.session_information = stream.receive_event("ServerSessionInformationEvent")["SessionInformation"]
        return stream


class LivenessStream:
    """One open stream: ``send`` events, ``receive`` the server's, ``finish`` with the empty chunk."""

    session_information: dict[str, Any]

    def __init__(self, connection: ClientConnection, credentials: Credentials, scope: str, signature: str) -> None:
        self.connection = connection
        self._credentials = credentials
        self._scope = scope
        self._prior = signature

    def __enter__(self) -> LivenessStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()

    def send_raw(self, frame: bytes) -> None:
        """Send one binary WebSocket message as it is (for tests of what the server refuses)."""
        self.connection.send(frame)

    def signed(self, event_type: str, members: dict[str, Any], prior: str | None = None) -> bytes:
        """The signed envelope of one event, chained from the last one sent (or ``prior``)."""
        inner = eventstream.event_message(event_type, json.dumps(members).encode())
        frame, signature = eventstream.sign_chunk(
            self._credentials.secret_key,
            self._credentials.access_key,
            self._scope,
            dt.datetime.now(dt.UTC),
            self._prior if prior is None else prior,
            inner,
        )
        self._prior = signature
        return frame

    def send(self, event_type: str, members: dict[str, Any]) -> None:
        """Send one event (``VideoEvent`` or ``ClientSessionInformationEvent``)."""
        self.connection.send(self.signed(event_type, members))

    def receive(self, timeout: float | None = 120.0) -> tuple[str, str, dict[str, Any]]:
        """The next server message: ``(message type, event or exception type, JSON members)``;
        ``("close", "", {})`` when the server closed the stream."""
        try:
            frame = self.connection.recv(timeout=timeout)
        except ConnectionClosed:
            return "close", "", {}
        message = eventstream.decode(frame if isinstance(frame, bytes) else frame.encode())
        kind = str(message.headers.get(":message-type"))
        name = message.headers.get(":event-type") or message.headers.get(":exception-type") or ""
        return kind, str(name), json.loads(message.payload) if message.payload else {}

    def receive_event(self, event_type: str) -> dict[str, Any]:
        """The next message, which must be the event ``event_type``; ``StreamError`` for an error event."""
        kind, name, members = self.receive()
        if kind == "exception":
            raise StreamError(name, members.get("Message", ""))
        if kind != "event" or name != event_type:
            raise StreamError("UnexpectedMessage", f"expected {event_type}, got {kind} {name}")
        return members

    def finish(self) -> dict[str, Any]:
        """Send the empty ``VideoChunk`` that ends the video, and return the ``DisconnectionEvent``."""
        self.send("VideoEvent", {"VideoChunk": "", "TimestampMillis": int(dt.datetime.now(dt.UTC).timestamp() * 1000)})
        return self.receive_event("DisconnectionEvent")

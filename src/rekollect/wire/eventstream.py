"""AWS event-stream messages (``application/vnd.amazon.eventstream``): encoding, decoding, and the
SigV4 chunk signatures that chain the messages of a streaming session.

A message is a prelude (total length, headers length, CRC-32 of those 8 bytes), typed headers, a
payload and a CRC-32 of everything before it ("Event Stream Encoding", AWS Transcribe streaming
docs; the same framing the AWS SDKs' ``EventStreamCodec`` writes). Decoding is botocore's own
(``botocore.eventstream``), which checks both CRCs and the lengths; encoding writes the same
layout. Headers are written as strings (type 7), byte arrays (type 6) or timestamps (type 8, int64
milliseconds since the epoch), the three kinds the streaming services use.

A client frame of a SigV4-streaming session is an envelope: headers ``:date`` (timestamp) and
``:chunk-signature`` (32 bytes), and as payload the inner message. Its signature is the HMAC with
the request's signing key of ``AWS4-HMAC-SHA256-PAYLOAD\\n<date>\\n<scope>\\n<prior signature>\\n
<SHA-256 of the encoded :date header>\\n<SHA-256 of the payload>``, where the prior signature is the
previous frame's, and for the first frame the pre-signed URL's ``X-Amz-Signature`` (the
``signEvent`` of the AWS SDKs' SigV4 signer, as ``@aws-sdk/middleware-websocket`` chains it).
``verify_chunk`` computes it with botocore's ``SigV4Auth`` signing key, so client and server agree
byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer, ParserError

PRELUDE_BYTES = 12
MAX_HEADERS_BYTES = 128 * 1024
"""The event-stream format's limit on a message's headers (botocore enforces it too)."""
_STRING, _BYTES, _TIMESTAMP = 7, 6, 8
EVENT_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"


class FrameError(ValueError):
    """A frame that is not one well-formed event-stream message (bad CRC, length or header)."""


@dataclass(frozen=True)
class Message:
    """One decoded message: ``headers`` by name (``str``, ``bytes``, or ``int``: integers, and timestamps
    in milliseconds since the epoch) and the raw payload."""

    headers: dict[str, Any]
    payload: bytes


def encode_headers(headers: dict[str, str | bytes | dt.datetime]) -> bytes:
    """The wire form of ``headers``: ``str`` as strings, ``bytes`` as byte arrays, ``datetime`` (aware)
    as timestamps in milliseconds; ``ValueError`` for a name or value too long for the format."""
    out = bytearray()
    for name, value in headers.items():
        raw_name = name.encode()
        if len(raw_name) > 255:
            raise ValueError(f"header name {name!r} is longer than 255 bytes")
        out += struct.pack("!B", len(raw_name)) + raw_name
        if isinstance(value, dt.datetime):
            out += struct.pack("!Bq", _TIMESTAMP, round(value.timestamp() * 1000))
            continue
        data, kind = (value.encode(), _STRING) if isinstance(value, str) else (bytes(value), _BYTES)
        if len(data) > 32767:
            raise ValueError(f"header {name!r} is longer than 32767 bytes")
        out += struct.pack("!BH", kind, len(data)) + data
    return bytes(out)


def encode(headers: dict[str, str | bytes | dt.datetime], payload: bytes) -> bytes:
    """One event-stream message of ``headers`` (see ``encode_headers``) and ``payload``."""
    raw_headers = encode_headers(headers)
    total = PRELUDE_BYTES + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack("!I", zlib.crc32(body))


def decode(frame: bytes) -> Message:
    """The one message ``frame`` holds (botocore's parser); ``FrameError`` when it is not exactly one
    well-formed message."""
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    try:
        messages = list(buffer)
    except ParserError as error:
        raise FrameError(str(error)) from None
    if len(messages) != 1 or len(frame) != messages[0].prelude.total_length:
        raise FrameError("a frame must hold exactly one event-stream message")
    message = messages[0]
    return Message(dict(message.headers), bytes(message.payload))


def event_message(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    """A server event (``:message-type: event``) of type ``event_type``."""
    return encode({":event-type": event_type, ":message-type": "event", ":content-type": content_type}, payload)


def exception_message(exception_type: str, payload: bytes) -> bytes:
    """A modelled error event (``:message-type: exception``) of type ``exception_type``."""
    return encode(
        {":exception-type": exception_type, ":message-type": "exception", ":content-type": "application/json"},
        payload,
    )


def chunk_signature(
    secret_key: str, access_key: str, scope: str, signed_at: dt.datetime, prior: str, date_header: bytes, payload: bytes
) -> str:
    """The hex SigV4 event signature of one envelope (see the module docstring): ``scope`` is
    ``<yyyymmdd>/<region>/<service>/aws4_request``, ``date_header`` the encoded ``:date`` header,
    ``signed_at`` its time (UTC). The signing key is botocore's, for the scope's date."""
    long_date = signed_at.astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT)
    _, region, service, _ = scope.split("/")
    string_to_sign = "\n".join(
        [
            EVENT_ALGORITHM,
            long_date,
            scope,
            prior,
            hashlib.sha256(date_header).hexdigest(),
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    request = AWSRequest(method="GET", url="https://event/")
    request.context["timestamp"] = long_date
    return SigV4Auth(Credentials(access_key, secret_key), service, region).signature(string_to_sign, request)


def sign_chunk(
    secret_key: str, access_key: str, scope: str, signed_at: dt.datetime, prior: str, payload: bytes
) -> tuple[bytes, str]:
    """A signed envelope around ``payload`` (an encoded message) and its signature, as an AWS SDK
    sends it: what a client does (``tools``' stream client and the tests use it). ``:date`` carries
    milliseconds, so ``signed_at`` is cut to the millisecond first (as a JavaScript ``Date`` is)."""
    signed_at = signed_at.replace(microsecond=signed_at.microsecond // 1000 * 1000)
    date_header = {":date": signed_at}
    signature = chunk_signature(secret_key, access_key, scope, signed_at, prior, encode_headers(date_header), payload)
    return encode({**date_header, ":chunk-signature": bytes.fromhex(signature)}, payload), signature


def verify_chunk(
    envelope: Message, secret_key: str, access_key: str, scope: str, prior: str
) -> tuple[str, dt.datetime]:
    """Check one envelope's ``:chunk-signature`` against ``prior``; returns ``(signature, :date)``.

    ``ValueError`` naming what is wrong: a missing or mistyped ``:date`` or ``:chunk-signature``, or a
    signature that does not match (a frame altered, dropped, reordered, or signed with another key).
    """
    millis = envelope.headers.get(":date")
    given = envelope.headers.get(":chunk-signature")
    if not isinstance(millis, int) or not isinstance(given, bytes):
        raise ValueError("each frame must carry a :date timestamp and a :chunk-signature byte array")
    signed_at = EPOCH + dt.timedelta(milliseconds=millis)
    date_header = encode_headers({":date": signed_at})
    expected = chunk_signature(secret_key, access_key, scope, signed_at, prior, date_header, envelope.payload)
    if not hmac.compare_digest(expected, given.hex()):
        raise ValueError("The chunk signature does not match the signature chained from the request")
    return expected, signed_at

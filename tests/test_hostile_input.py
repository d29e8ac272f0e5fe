"""Hostile input: a property-based fuzz over every operation, plus hand-made attacks.

Every answer must be an AWS error type the operation documents (or ``SerializationException`` for
a body that is not its JSON), never an HTTP 500; the server must stay up; and a collection that no
fuzzed request names must be left exactly as it was.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import struct
import threading
import time
import zlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from support import ServerProcess, image_bytes
from test_wire import post

from rekollect.operations import OPERATIONS
from rekollect.wire.service_model import rekognition_model

GUARDED = "fuzz-guarded"
PLAYGROUND = "fuzz-target"
OPERATION_NAMES = sorted(OPERATIONS)
ALWAYS_ALLOWED = {"SerializationException"}
REQUESTS = Counter()

# Strings that have hurt servers before: path tricks, control characters, odd unicode, SQL.
TRICKY = [
    "../../etc/passwd",
    "..",
    "a/../../b",
    "%2e%2e%2f",
    "\x00",
    "name\x00.jpg",
    "‮gpj.exe",
    "😀" * 40,
    "' OR 1=1 --",
    '"; DROP TABLE faces; --',
    "\\\\server\\share",
    " ",
    "A" * 5000,
    PLAYGROUND,
    "00000000-0000-0000-0000-000000000000",
]

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(TRICKY),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def _image_blobs() -> st.SearchStrategy[str]:
    real = image_bytes("people/Barack_Obama/obama_small.jpg")
    candidates = st.one_of(
        st.binary(max_size=256),
        st.binary(max_size=64).map(lambda tail: b"\xff\xd8\xff\xe0" + tail),
        st.binary(max_size=64).map(lambda tail: b"\x89PNG\r\n\x1a\n" + tail),
        st.integers(min_value=1, max_value=len(real) - 1).map(lambda cut: real[:cut]),
    )
    return candidates.map(lambda data: base64.b64encode(data).decode())


def _member_values(operation: str) -> st.SearchStrategy[dict]:
    """Bodies that use the operation's real member names with hostile values."""
    shape = rekognition_model().operation_model(operation).input_shape
    names = list(shape.members) if shape is not None else []
    image = st.fixed_dictionaries(
        {},
        optional={
            "Bytes": _image_blobs(),
            "S3Object": st.fixed_dictionaries(
                {"Bucket": st.sampled_from(["bucket", "..", "../x", "a" * 300]), "Name": st.sampled_from(TRICKY)}
            ),
        },
    )
    value = st.one_of(json_values, image, st.sampled_from(TRICKY))
    collection = st.one_of(st.just(PLAYGROUND), st.sampled_from(TRICKY), st.text(max_size=20))
    members = {name: (collection if name == "CollectionId" else value) for name in names}
    return st.fixed_dictionaries({}, optional=members) if members else st.just({})


requests = st.one_of(
    st.sampled_from(OPERATION_NAMES).flatmap(
        lambda name: st.tuples(st.just(name), _member_values(name).map(json.dumps))
    ),
    st.tuples(st.sampled_from(OPERATION_NAMES), json_values.map(json.dumps)),
    st.tuples(st.sampled_from(OPERATION_NAMES), st.binary(max_size=200).map(lambda raw: raw.decode("latin-1"))),
)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("hostile") / "data").start()
    client = server.client()
    for name in (GUARDED, PLAYGROUND):
        client.create_collection(CollectionId=name)
        client.index_faces(CollectionId=name, Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")})
    client.create_user(CollectionId=GUARDED, UserId="guarded-user")
    yield server, client, _snapshot(client)
    server.stop()


def _snapshot(client) -> tuple:
    faces = client.list_faces(CollectionId=GUARDED)["Faces"]
    users = client.list_users(CollectionId=GUARDED)["Users"]
    described = client.describe_collection(CollectionId=GUARDED)
    return faces, users, described["FaceCount"], described["UserCount"]


def _allowed(operation: str) -> set[str]:
    model = rekognition_model().operation_model(operation)
    return {error.name for error in model.error_shapes} | ALWAYS_ALLOWED


def _check(server: ServerProcess, operation: str, body: bytes) -> None:
    status, headers, payload = post(server.url, f"RekognitionService.{operation}", body)
    REQUESTS[operation] += 1
    assert status != 500, (operation, body[:200], payload)
    if status != 200:
        assert payload["__type"] in _allowed(operation), (operation, body[:200], payload)
        assert headers["x-amzn-ErrorType"] == payload["__type"]


@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(fuzzed=requests)
def test_fuzzed_requests_get_documented_errors(target, fuzzed):
    server, _, _ = target
    operation, body = fuzzed
    _check(server, operation, body.encode("utf-8", "surrogatepass"))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels but holds only 1 kB of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _bomb_png() -> bytes:
    """A real 12000 x 9000 PNG of zeros: 108 Mpx that compresses to about 100 kB."""
    buffer = io.BytesIO()
    Image.new("L", (12000, 9000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


HAND_MADE = [
    ("DetectFaces", b"{" * 100_000, "SerializationException"),
    ("DetectFaces", b'{"Image": {"Bytes": NaN}}', "InvalidParameterException"),
    ("DetectFaces", b"\xff\xfe\x00{", "SerializationException"),
    ("DetectFaces", b"[]", "SerializationException"),
    ("IndexFaces", json.dumps({"CollectionId": PLAYGROUND, "MaxFaces": 10**30, "Image": {}}).encode(), "InvalidParameterException"),
    ("DetectFaces", json.dumps({"Image": {"Bytes": base64.b64encode(_png_header_only(10**5, 10**5)).decode()}}).encode(), "ImageTooLargeException"),
    ("DetectFaces", json.dumps({"Image": {"Bytes": base64.b64encode(_png_header_only(100, 100)).decode()}}).encode(), "InvalidImageFormatException"),
    ("DetectFaces", json.dumps({"Image": {"Bytes": base64.b64encode(_bomb_png()).decode()}}).encode(), "ImageTooLargeException"),
    ("DetectFaces", json.dumps({"Image": {"Bytes": "QQ==" * 5_000_000}}).encode(), "ImageTooLargeException"),
    ("ListCollections", b'{"MaxResults": 1, "NextToken": "' + b"9" * 200 + b'.00"}', "InvalidPaginationTokenException"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "body", "expected"), HAND_MADE, ids=[f"{op}-{n}" for n, (op, _, _) in enumerate(HAND_MADE)]
)
def test_hand_made_attacks(target, operation, body, expected):
    server, _, _ = target
    status, _, payload = post(server.url, f"RekognitionService.{operation}", body)
    assert (status, payload["__type"]) == (400, expected), payload


def test_nothing_changed_and_server_alive(target):
    server, client, before = target
    assert server.process is not None and server.process.poll() is None
    assert _snapshot(client) == before
    print(f"fuzzed {sum(REQUESTS.values())} requests over {len(REQUESTS)} operations")


def _latency(server: ServerProcess) -> float:
    started = time.perf_counter()
    status, _, _ = post(server.url, "RekognitionService.ListCollections", b"{}")
    assert status == 200
    return time.perf_counter() - started


def test_a_huge_body_does_not_stall_other_requests(target):
    """5.5 M wrong-typed FaceIds (10.5 MiB): a short error, and other requests keep their latency."""
    server, _, _ = target
    body = b'{"CollectionId": "' + PLAYGROUND.encode() + b'", "FaceIds": [' + b",".join([b"1"] * 5_500_000) + b"]}"
    idle = statistics.median(_latency(server) for _ in range(20))
    answers = []
    sender = threading.Thread(
        target=lambda: answers.extend(post(server.url, "RekognitionService.ListFaces", body) for _ in range(3))
    )
    sender.start()
    busy = []
    while sender.is_alive():
        busy.append(_latency(server))
    sender.join()
    for status, _, payload in answers:
        assert (status, payload["__type"]) == (400, "InvalidParameterException")
        assert len(payload["message"]) < 1000
    assert busy and statistics.median(busy) < idle + 0.1, (idle, busy)

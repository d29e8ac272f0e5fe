"""Hostile input: a property-based fuzz over every operation, plus hand-made attacks.

Every answer must be an AWS error type the operation documents (or ``SerializationException`` for
a body that is not its JSON), never an HTTP 500; the server must stay up; and a collection that no
fuzzed request names must be left exactly as it was.
"""

from __future__ import annotations

import base64
import contextlib
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

from rekollect.operations import OPERATIONS, STREAM_OPERATIONS, VIDEO_OPERATIONS
from rekollect.wire.service_model import rekognition_model

GUARDED = "fuzz-guarded"
PLAYGROUND = "fuzz-target"
MEMBERS = "fuzz-members"
"""The collection of ``test_every_string_member_takes_hostile_text`` (the random fuzz never names it)."""
BUCKET = "fuzz-bucket"
FACE_OBJECT = "face.jpg"
OPERATION_NAMES = sorted({*OPERATIONS, *VIDEO_OPERATIONS, *STREAM_OPERATIONS})
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
    "\ud800",
    "a\udc80\x00",
    "1.\u00e9",
]

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.text(st.characters(categories=["Cs", "Cc", "Co", "Mn", "So"]), max_size=40),  # lone surrogates, controls...
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
    bucket = server.data_dir / "s3" / BUCKET
    bucket.mkdir(parents=True)
    (bucket / FACE_OBJECT).write_bytes(image_bytes("people/Barack_Obama/obama_small.jpg"))
    client = server.client()
    for name in (GUARDED, PLAYGROUND, MEMBERS):
        client.create_collection(CollectionId=name)
        client.index_faces(CollectionId=name, Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")})
    client.create_user(CollectionId=GUARDED, UserId="guarded-user")
    client.create_user(CollectionId=MEMBERS, UserId="fuzz-user")
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
    *[
        (operation, json.dumps({**base, "NextToken": token}).encode(), "InvalidPaginationTokenException")
        for operation, base in (("ListCollections", {}), ("ListFaces", {"CollectionId": PLAYGROUND}),
                                ("ListUsers", {"CollectionId": PLAYGROUND}))
        for token in ("1.\u00e9", "\u00b2.00", "\u0661." + "0" * 32, "1." + "\u00e9" * 32, "1.\x00")
    ],
    *[
        (operation, json.dumps({"ResourceArn": arn, **extra}).encode(), "InvalidParameterException")
        for operation, extra in (("TagResource", {"Tags": {"a": "b"}}), ("UntagResource", {"TagKeys": ["a"]}),
                                 ("ListTagsForResource", {}))
        for arn in (f"arn:aws:rekognition:us-east-1:000000000000:collection/{PLAYGROUND}\ud800",
                    "arn:aws:rekognition:us-east-1:000000000000:collection/\udc00x")
    ],
]  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "body", "expected"), HAND_MADE, ids=[f"{op}-{n}" for n, (op, _, _) in enumerate(HAND_MADE)]
)
def test_hand_made_attacks(target, operation, body, expected):
    server, client, _ = target
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        client.create_collection(CollectionId=PLAYGROUND)  # the random fuzz may have deleted it
    status, _, payload = post(server.url, f"RekognitionService.{operation}", body)
    assert (status, payload["__type"]) == (400, expected), payload


IMAGE_READERS = {
    "DetectFaces": lambda image: {"Image": image},
    "IndexFaces": lambda image: {"CollectionId": MEMBERS, "Image": image},
    "SearchFacesByImage": lambda image: {"CollectionId": MEMBERS, "Image": image},
    "SearchUsersByImage": lambda image: {"CollectionId": MEMBERS, "Image": image},
    "CompareFaces": lambda image: {"SourceImage": image, "TargetImage": image},
    "StartFaceDetection": lambda video: {"Video": video},
    "StartFaceSearch": lambda video: {"CollectionId": MEMBERS, "Video": video},
}
UNNAMEABLE_OBJECTS = [
    ({"Name": "face\x00.jpg"}, "InvalidS3ObjectException"),
    ({"Name": "x" * 300}, "InvalidS3ObjectException"),
    ({"Name": "d/" + "x" * 300 + "/face.jpg"}, "InvalidS3ObjectException"),
    ({"Name": "\ud800.jpg"}, "InvalidParameterException"),
    ({"Name": FACE_OBJECT, "Version": "\udfff"}, "InvalidParameterException"),
    ({"Name": FACE_OBJECT, "Version": "v\x00"}, "InvalidS3ObjectException"),
]


@pytest.mark.parametrize(("s3_object", "expected"), UNNAMEABLE_OBJECTS)
@pytest.mark.parametrize("operation", sorted(IMAGE_READERS))
def test_object_names_no_file_can_have(target, operation, s3_object, expected):
    """NUL bytes, lone surrogates and over-long path components in S3 object names (issue 12, item 4)."""
    server, _, _ = target
    body = IMAGE_READERS[operation]({"S3Object": {"Bucket": BUCKET, **s3_object}})
    status, _, payload = post(server.url, f"RekognitionService.{operation}", json.dumps(body).encode())
    assert (status, payload["__type"]) == (400, expected), payload


HOSTILE_TEXT = ["a\x00b", "\x00", "\ud800", "a\udc80z", "\udfff\ud800", "1.\u00e9", "\u00b2", "x" * 300, "y" * 5000]
"""NUL, lone surrogates, non-ASCII digits and letters, over-long values."""


def _valid_value(shape, context: dict):
    """A value of ``shape`` that validation accepts, aimed at the ``target`` server's real objects."""
    if shape.type_name == "structure":
        if shape.name == "Image":
            return {"S3Object": {"Bucket": BUCKET, "Name": FACE_OBJECT}}
        if shape.name == "Video":
            return {"S3Object": {"Bucket": BUCKET, "Name": "absent.mp4"}}
        return {name: _valid_value(member, context) for name, member in shape.members.items()
                if name not in ("NextToken", "Version")}  # fmt: skip
    if shape.type_name == "list":
        return [_valid_value(shape.member, context)]
    if shape.type_name == "map":
        return {_valid_value(shape.key, context): _valid_value(shape.value, context)}
    if shape.type_name == "string":
        return shape.enum[0] if shape.enum else context.get(shape.name, "fuzz-value")
    if shape.type_name in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if shape.type_name in ("float", "double"):
        return 50.0
    if shape.type_name == "boolean":
        return False
    raise AssertionError(f"no valid value for {shape.type_name}")


def _string_paths(shape, path: tuple = ()) -> list[tuple]:
    """Paths to every string (and map key) in ``shape``; ``"[]"`` is a list item, ``"{key}"`` a map key."""
    if shape.type_name == "structure":
        return [p for name, member in shape.members.items() for p in _string_paths(member, (*path, name))]
    if shape.type_name == "list":
        return _string_paths(shape.member, (*path, "[]"))
    if shape.type_name == "map":
        return [(*path, "{key}"), *_string_paths(shape.value, (*path, "{value}"))]
    return [path] if shape.type_name == "string" else []


def _with_value(body, path: tuple, value):
    """``body`` with the string at ``path`` replaced (created if the valid body left it out)."""
    head, *rest = path
    if head == "[]":
        return [_with_value(body[0], tuple(rest), value) if rest else value]
    if head in ("{key}", "{value}"):
        ((key, item),) = body.items()
        return {value: item} if head == "{key}" else {key: _with_value(item, tuple(rest), value) if rest else value}
    return {**body, head: _with_value(body.get(head, {}), tuple(rest), value) if rest else value}


@pytest.mark.parametrize("operation", OPERATION_NAMES)
def test_every_string_member_takes_hostile_text(target, operation):
    """Each string member (and map key) of each operation, one at a time, set to NUL, lone surrogates,
    non-ASCII and over-long text in an otherwise valid request: documented errors only, never a 500."""
    server, client, _ = target
    face_id = client.list_faces(CollectionId=MEMBERS, MaxResults=1)["Faces"][0]["FaceId"]
    context = {
        "CollectionId": MEMBERS,
        "UserId": "fuzz-user",
        "FaceId": face_id,
        "ExternalImageId": "fuzz-image",
        "ResourceArn": f"arn:aws:rekognition:us-east-1:000000000000:collection/{MEMBERS}",
        "RoleArn": "arn:aws:iam::123456789012:role/fuzz",
        "SNSTopicArn": "arn:aws:sns:us-east-1:123456789012:fuzz",
        "S3Bucket": BUCKET,
        "TagKey": "fuzz",
    }
    shape = rekognition_model().operation_model(operation).input_shape
    if shape is None:
        pytest.skip("takes no members")
    valid = _valid_value(shape, context)
    for path in _string_paths(shape):
        for text in HOSTILE_TEXT:
            _check(server, operation, json.dumps(_with_value(valid, path, text)).encode())


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

"""The parts of stream processors that need no camera: the sources file, regions of interest, the
ordered senders with failing destinations, object writing, embedding reuse along tracks, and the
policy resources of the stream processor operations."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from rekollect.errors import AccessDeniedException, InvalidParameterException
from rekollect.security.conditions import RequestContext
from rekollect.security.credentials import Credential
from rekollect.security.guard import Caller, RequestGuard
from rekollect.security.policy import Policy
from rekollect.startup import StartupRefused
from rekollect.streams import outputs
from rekollect.streams.outputs import LocalObjectWriter, ObjectOutput, OutputError, Outputs, OutRecord, Sender
from rekollect.streams.regions import kept, region_polygon, share_inside
from rekollect.streams.sources import StreamSources, parse_sources, redacted, video_stream_arn
from rekollect.video.reuse import EmbeddingReuse
from rekollect.wire.sigv4 import Signer

ARN = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/front-door/1700000000000"


def test_sources_map_stream_names_and_arns_to_urls(tmp_path):
    path = tmp_path / "sources.conf"
    path.write_text(
        "# cameras\n\n"
        "front-door = rtsp://viewer:secret@10.0.0.20:554/stream1?channel=1&x=2\n"
        f"{ARN} = http://cam.local/video.mjpg\n"
        "demo = file:///srv/videos/entrance.mp4\n"
    )
    sources = StreamSources(path)
    stream = video_stream_arn(ARN)
    assert (stream.region, stream.account, stream.name) == ("us-east-1", "123456789012", "front-door")
    assert sources.url_for(stream) == "http://cam.local/video.mjpg"  # the whole ARN wins over the name
    other = video_stream_arn(ARN.replace("1700000000000", "1"))
    assert sources.url_for(other) == "rtsp://viewer:secret@10.0.0.20:554/stream1?channel=1&x=2"
    assert sources.url_for(video_stream_arn(ARN.replace("front-door", "back-door"))) is None
    path.write_text("back-door = rtsp://10.0.0.21/live\n")  # read again once changed
    assert sources.url_for(video_stream_arn(ARN.replace("front-door", "back-door"))) == "rtsp://10.0.0.21/live"
    assert sources.url_for(stream) is None
    assert StreamSources(None).url_for(stream) is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("front-door rtsp://x/y", "expected"),
        ("front-door = ftp://x/y", "scheme"),
        ("front-door = file://videos/x.mp4", "absolute"),
        ("front-door = rtsp:///path", "no host"),
        (" = rtsp://x/y", "expected"),
    ],
)
def test_a_malformed_sources_line_is_named(tmp_path, line, problem):
    with pytest.raises(ValueError, match=f"sources.conf, line 2: .*{problem}"):
        parse_sources(f"ok = rtsp://x/y\n{line}\n", "sources.conf")
    path = tmp_path / "sources.conf"
    path.write_text(f"ok = rtsp://x/y\n{line}\n")
    with pytest.raises(StartupRefused, match="line 2"):
        StreamSources(path)


def test_passwords_never_show_and_only_stream_arns_pass():
    assert redacted("rtsp://viewer:secret@10.0.0.20:554/s") == "rtsp://viewer:***@10.0.0.20:554/s"
    assert redacted("rtsp://[::1]:8554/s") == "rtsp://[::1]:8554/s"
    assert redacted("http://u:p@[fe80::1]/x") == "http://u:***@[fe80::1]/x"
    for arn in ("arn:aws:kinesisvideo:us-east-1:123456789012:channel/x/1", "arn:aws:kinesis:us-east-1:1:stream/x"):
        with pytest.raises(InvalidParameterException):
            video_stream_arn(arn)


def test_a_face_counts_in_a_region_when_more_than_half_of_it_is_inside():
    box = (0.25, 0.25, 0.375, 0.375)  # width, height, left, top: x and y 0.375-0.625 (exact in binary)
    right_half = region_polygon({"BoundingBox": {"Left": 0.5, "Top": 0, "Width": 0.5, "Height": 1}})
    assert share_inside(box, right_half) == pytest.approx(0.5)
    assert not kept(box, [right_half])  # exactly half is not more than half
    assert kept(box, [region_polygon({"BoundingBox": {"Left": 0.4375, "Top": 0, "Width": 0.5625, "Height": 1}})])
    triangle = region_polygon(
        {"Polygon": [{"X": 0.375, "Y": 0.375}, {"X": 0.625, "Y": 0.375}, {"X": 0.375, "Y": 0.625}]}
    )
    assert share_inside(box, triangle) == pytest.approx(0.5)
    # A concave polygon (an L) around the box's left and bottom: 3/4 of the box.
    ell = [(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)]
    assert share_inside(box, ell) == pytest.approx(0.75)
    assert kept(box, [right_half, ell]) and kept(box, [])
    assert share_inside(box, [(0.7, 0.7), (0.9, 0.7), (0.9, 0.9)]) == 0.0


class Scripted:
    """A destination answering each request from a script: ``"error"`` (nothing stored) or a pattern of
    ``"+"`` (stored) and ``"-"`` (refused) per record; then everything is stored."""

    lossless = True
    batch_records = 4
    described = "a scripted destination"

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.requests: list[list[str]] = []
        self.stored: list[str] = []
        self.lock = threading.Lock()

    def deliver(self, records: Sequence[OutRecord]) -> list[bool]:
        with self.lock:
            self.requests.append([record.name for record in records])
            answer = self.script.pop(0) if self.script else "+" * len(records)
        if answer == "error":
            raise ConnectionError("the endpoint is down")
        flags = [mark == "+" for mark in answer.ljust(len(records), "+")]
        self.stored += [record.name for record, ok in zip(records, flags, strict=True) if ok]
        return flags


def _records(count: int, start: int = 0) -> list[OutRecord]:
    return [OutRecord(f'{{"n": {n}}}'.encode(), f"{n:03d}", 0.0) for n in range(start, start + count)]


def test_failed_requests_are_sent_again_before_newer_records(monkeypatch):
    monkeypatch.setattr(outputs, "FIRST_BACKOFF", 0.001)
    destination = Scripted(["error", "error"])
    sender = Sender(destination)
    for record in _records(10):
        assert sender.put(record, 1)
    assert sender.close(10)
    assert destination.stored == [f"{n:03d}" for n in range(10)]
    assert destination.requests[0] == destination.requests[1] == destination.requests[2]  # the same batch again


def test_records_refused_in_a_response_go_again_one_at_a_time_first(monkeypatch):
    monkeypatch.setattr(outputs, "FIRST_BACKOFF", 0.001)
    destination = Scripted(["--++"])  # the first two refused, the next two stored
    sender = Sender(destination)
    gate = threading.Event()
    original = destination.deliver

    def held(records):
        gate.wait(5)  # let all 8 records queue before the first request
        return original(records)

    destination.deliver = held
    for record in _records(8):
        sender.put(record, 1)
    gate.set()
    assert sender.close(10)
    assert sorted(destination.stored) == [f"{n:03d}" for n in range(8)]  # nothing lost, nothing twice
    assert destination.requests[0] == ["000", "001", "002", "003"]
    # The refused ones go next, one per request, before any newer record.
    assert destination.requests[1:3] == [["000"], ["001"]]
    assert destination.stored[2:] == ["000", "001", "004", "005", "006", "007"]


def test_a_full_lossless_queue_holds_the_producer_back(monkeypatch):
    monkeypatch.setattr(outputs, "MAX_PENDING", 3)
    release = threading.Event()

    class Stuck(Scripted):
        def deliver(self, records):
            release.wait(10)
            return super().deliver(records)

    destination = Stuck([])
    group = Outputs([destination])
    asked = []
    for record in _records(3):  # the queue is full (the first record is in a request that hangs)
        assert group.put(record, lambda: True)
    assert not group.put(_records(1, 3)[0], lambda: asked.append(1) or len(asked) < 2)  # waits, gives up when told
    assert len(asked) == 2
    release.set()
    assert group.put(_records(1, 3)[0], lambda: True)
    assert group.close(10)
    assert destination.stored == ["000", "001", "002", "003"]


def test_a_destination_that_cannot_exist_fails_the_outputs(tmp_path):
    writer = LocalObjectWriter(tmp_path)
    group = Outputs([ObjectOutput(writer, "missing-bucket", "", "door", "session")])
    group.put(_records(1)[0], lambda: True)
    group.close(10)
    assert group.failure == "The S3 bucket missing-bucket does not exist in the local object root"
    (tmp_path / "records").mkdir()
    with pytest.raises(OutputError):
        writer.put("records", "../escaped.json", b"{}")
    output = ObjectOutput(writer, "records", "/cameras/", "door", "session")
    assert output.deliver(_records(2)) == [True, True]
    assert sorted(path.name for path in (tmp_path / "records" / "cameras" / "door" / "session").iterdir()) == [
        "000.json",
        "001.json",
    ]


def test_a_track_reuses_its_embedding_until_the_face_gets_better_or_changes():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    box = (40.0, 30.0, 90.0, 90.0)
    embedded: list[list[int]] = []

    def embed(indices: list[int]) -> np.ndarray:
        embedded.append(indices)
        return rng.normal(size=(len(indices), 4)).astype(np.float32)

    reuse = EmbeddingReuse(gain=1.2)
    first = reuse.embeddings(0, frame, [box], [0.5], embed)
    again = reuse.embeddings(200, frame, [(41.0, 31.0, 91.0, 91.0)], [0.55], embed)  # same face, hardly better
    assert embedded == [[0]] and np.array_equal(first, again)
    better = reuse.embeddings(400, frame, [box], [0.7], embed)  # quality up by more than 1.2x
    assert embedded == [[0], [0]] and not np.array_equal(better, first)
    other = rng.integers(0, 255, frame.shape, dtype=np.uint8)  # the same place, another look (a cut)
    reuse.embeddings(600, other, [box], [0.5], embed)
    assert embedded[-1] == [0]
    reuse.embeddings(2000, other, [box], [0.5], embed)  # seen again after more than max_gap_ms: a new track
    assert embedded[-1] == [0]
    assert (reuse.embedded, reuse.faces) == (4, 5)


def test_policies_name_the_stream_processor_and_the_collection_it_searches():
    prefix = "arn:aws:rekognition:us-east-1:000000000000:"
    policy = Policy.parse(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "rekognition:*",
                    "Resource": [f"{prefix}streamprocessor/door-*", f"{prefix}collection/staff"],
                }
            ]
        }
    )
    guard = RequestGuard({"AKID": Credential("AKID", "secret", policy)}, prefix, "us-east-1")
    caller = Caller(Signer("AKID", "us-east-1"), RequestContext(None, False, dt.datetime.now(dt.UTC)))
    settings = {"FaceSearch": {"CollectionId": "staff"}}
    guard.authorize(caller, "CreateStreamProcessor", {"Name": "door-1", "Settings": settings})
    guard.authorize(caller, "StartStreamProcessor", {"Name": "door-1"})
    with pytest.raises(AccessDeniedException, match="streamprocessor/lab"):
        guard.authorize(caller, "StartStreamProcessor", {"Name": "lab"})
    with pytest.raises(AccessDeniedException, match="collection/secret"):  # allowed on the processor only
        guard.authorize(
            caller, "CreateStreamProcessor", {"Name": "door-2", "Settings": {"FaceSearch": {"CollectionId": "secret"}}}
        )
    with pytest.raises(AccessDeniedException, match=r"on resource: \*$"):  # its Name is an object key
        guard.authorize(caller, "UploadVideoPart", {"Bucket": "videos", "Name": "door-1", "Offset": 0})

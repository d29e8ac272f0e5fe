"""Test helpers for stream processors: the looping RTSP camera (``rtsp_camera.py`` under the system
Python, GStreamer's RTSP server from Debian) and a Kinesis consumer as any boto3 user writes one."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import av
from support import FACES, free_port, missing

CLIP = FACES / "video" / "short_hamilton_clip.mp4"
SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).resolve().parent / "rtsp_camera.py"
PACKAGES = "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"


def require_camera() -> None:
    """Skip (fail under ``REKOLLECT_REQUIRE_CAMERA=1``) unless the system Python has GStreamer's RTSP server."""
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        " from gi.repository import Gst, GstRtspServer; Gst.init(None);"
        " assert all(Gst.ElementFactory.find(e) for e in ('qtdemux', 'h264parse', 'rtph264pay', 'appsrc'))"
    )
    try:
        found = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=60).returncode == 0
    except OSError:
        found = False
    if not found:
        missing(
            f"GStreamer's RTSP server is not installed (Debian: apt-get install {PACKAGES})", "REKOLLECT_REQUIRE_CAMERA"
        )


class Camera:
    """``rtsp_camera.py`` looping ``video`` at ``rtsp://<host>:<port>/<mount>`` (``address``: where it listens)."""

    def __init__(
        self, log: Path, video: Path = CLIP, address: str = "127.0.0.1", mounts: tuple[str, ...] = ("clip",)
    ) -> None:
        self.log = log
        self.video = video
        self.address = address
        self.mounts = mounts
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, host: str = "127.0.0.1", mount: str | None = None) -> str:
        return f"rtsp://{host}:{self.port}/{mount or self.mounts[0]}"

    def start(self) -> Camera:
        """Start (again, on the same port) and wait until it listens."""
        command = [SYSTEM_PYTHON, str(SCRIPT), str(self.video), "--port", str(self.port), "--address", self.address]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([*command, "--mounts", *self.mounts], stdout=subprocess.PIPE, stderr=log)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if not line.startswith("ready"):
            self.process.wait(timeout=30)
            raise RuntimeError(f"the RTSP camera did not start:\n{self.log.read_text()}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


class StreamReader:
    """Reads one Kinesis data stream of one shard from its start, as a plain boto3 consumer does;
    ``records`` holds every decoded record read so far with its ``ApproximateArrivalTimestamp``."""

    def __init__(self, kinesis, stream_name: str) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        shard = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        self.records: list[dict] = []
        self.arrivals: list[float] = []

    def read(self) -> list[dict]:
        """The records that arrived since the last read."""
        response = self.kinesis.get_records(ShardIterator=self.iterator, Limit=10000)
        self.iterator = response["NextShardIterator"]
        new = [json.loads(record["Data"]) for record in response["Records"]]
        self.records += new
        self.arrivals += [record["ApproximateArrivalTimestamp"].timestamp() for record in response["Records"]]
        return new

    def read_until(self, done: Callable[[list[dict]], bool], timeout: float, what: str) -> list[dict]:
        """Read until ``done(all records)``; ``AssertionError`` naming ``what`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not done(self.records):
            assert time.monotonic() < deadline, f"{what}: not seen in {timeout} s ({len(self.records)} records)"
            if not self.read():
                time.sleep(0.2)
        return self.records


def create_kinesis_stream(kinesis, name: str) -> str:
    """A new one-shard Kinesis data stream, active; its ARN."""
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    return kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]


def frame_time(record: dict) -> float:
    """When the record's frame was shown, on the source's clock (Unix seconds)."""
    video = record["InputInformation"]["KinesisVideo"]
    return video["ProducerTimestamp"] + video["FrameOffsetInSeconds"]


def matched(record: dict, external_image_id: str) -> bool:
    """Whether a face of the record matched a stored face with that ``ExternalImageId``."""
    return any(
        match["Face"].get("ExternalImageId") == external_image_id
        for face in record["FaceSearchResponse"]
        for match in face["MatchedFaces"]
    )


def key_frames(video: Path) -> tuple[list[float], float]:
    """The presentation times (seconds from the first frame) of ``video``'s key frames, and its length
    (the camera's loop period: the last frame's time plus its duration)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        packets = [packet for packet in container.demux(stream) if packet.pts is not None]
    start = min(packet.pts for packet in packets)
    times = sorted(float((packet.pts - start) * stream.time_base) for packet in packets if packet.is_keyframe)
    last = max(packets, key=lambda packet: packet.pts)
    return times, float((last.pts - start + last.duration) * stream.time_base)


def clip_phase(records: list[dict], video: Path, tolerance: float = 0.1) -> float:
    """The producer time (Unix seconds) at which the camera showed ``video``'s first frame, found
    from the records' fragments: each fragment but the connection's first starts at a key frame
    (``streams.camera``), and the spacing of ``video``'s key frames pins down where the loop starts.
    ``AssertionError`` if no phase puts every fragment on a key frame."""
    keys, period = key_frames(video)
    starts = sorted({r["InputInformation"]["KinesisVideo"]["ProducerTimestamp"] for r in records})[1:]
    assert len(starts) >= 3, "too few fragments to place the clip"

    def off(phase: float, start: float) -> float:
        position = (start - phase) % period
        return min(min(abs(position - key), period - abs(position - key)) for key in keys)

    for key in keys:
        phase = starts[0] - key
        if all(off(phase, start) <= tolerance for start in starts):
            return phase
    raise AssertionError(f"fragments {starts} do not follow the key frames {keys} of {video.name}")

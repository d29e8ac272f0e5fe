"""Reading stored videos with PyAV (FFmpeg's libraries): measured metadata and sampled frames.

Rekognition Video takes MPEG-4 and MOV files (and AVI, per the ``Video`` shape's documentation), at
most 10 GB and 6 hours long (botocore's ``VideoTooLargeException`` documentation). Any codec FFmpeg
decodes is accepted inside those containers. A file that is not such a video raises
``VideoError``, whose message becomes the job's ``StatusMessage``.

Timestamps are milliseconds from the video stream's first presentation time, so the first frame is
at 0 whatever edit list or start offset the container carries.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error

from ..core.images import DecodedImage

MAX_VIDEO_BYTES = 10 * 1024**3
MAX_DURATION_MILLIS = 6 * 3600 * 1000
SUPPORTED_FORMATS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "avi"})
"""FFmpeg demuxer names of the MPEG-4 / QuickTime family and AVI."""

_FULL_RANGE = 2  # FFmpeg's AVCOL_RANGE_JPEG
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG


class VideoError(Exception):
    """The file cannot be analysed; the message says why."""


@dataclass(frozen=True)
class VideoMetadata:
    """Measured properties of a video's first video stream (units as in Rekognition's ``VideoMetadata``)."""

    codec: str
    duration_millis: int
    format: str
    frame_rate: float
    frame_height: int
    frame_width: int
    color_range: str

    def member(self) -> dict[str, Any]:
        """The API's ``VideoMetadata``."""
        return {
            "Codec": self.codec,
            "DurationMillis": self.duration_millis,
            "Format": self.format,
            "FrameRate": self.frame_rate,
            "FrameHeight": self.frame_height,
            "FrameWidth": self.frame_width,
            "ColorRange": self.color_range,
        }


@dataclass(frozen=True)
class Frame:
    """One sampled frame: ``timestamp`` in ms from the start of the video, ``image`` upright RGB."""

    timestamp: int
    image: DecodedImage


def probe(path: Path) -> VideoMetadata:
    """Read the container header and measure ``VideoMetadata``; ``VideoError`` if it is not a usable video.

    ``Format`` is FFmpeg's long demuxer name (``QuickTime / MOV`` for MP4 and MOV, as Rekognition
    reports), ``Codec`` the decoder name (``h264``), ``FrameRate`` the stream's average rate,
    ``DurationMillis`` the stream's duration (the container's when the stream has none).
    ``ColorRange`` is the range the stream declares; undeclared YUV is ``LIMITED`` (the broadcast
    default of ITU-R BT.601/709) and undeclared RGB or ``yuvj`` formats are ``FULL``.
    """
    with _open(path) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            raise VideoError("Unsupported codec/format: the video has no duration")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not codec.width or not codec.height or not rate:
            raise VideoError("Unsupported codec/format: the video stream has no frame size or rate")
        return VideoMetadata(
            codec=codec.name,
            duration_millis=round(duration * 1000),
            format=container.format.long_name,
            frame_rate=float(rate),
            frame_height=int(codec.height),
            frame_width=int(codec.width),
            color_range=_color_range(codec.color_range, codec.format.name if codec.format else ""),
        )


def sample_frames(path: Path, rate: float) -> Iterator[Frame]:
    """Decode the video and yield the first frame of every ``1 / rate`` second interval.

    Every frame is decoded (inter-frame codecs need them all); only the sampled ones are converted
    to RGB. Raises ``VideoError`` when decoding fails part-way.
    """
    if rate <= 0:
        raise ValueError("the sampling rate must be positive")
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        last_interval = -1
        try:
            for index, frame in enumerate(container.decode(stream)):
                seconds = frame.time - start if frame.time is not None else index / float(stream.guessed_rate or 1)
                interval = math.floor(max(0.0, seconds) * rate + 1e-6)
                if interval <= last_interval:
                    continue
                last_interval = interval
                pixels = frame.to_ndarray(format="rgb24")
                yield Frame(
                    timestamp=round(max(0.0, seconds) * 1000),
                    image=DecodedImage(pixels=pixels, sha256=hashlib.sha256(pixels.tobytes()).hexdigest()),
                )
        except av.error.FFmpegError as error:
            raise VideoError(f"Unsupported codec/format: decoding failed: {error}") from None


def _open(path: Path) -> Any:
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError) as error:
        raise VideoError(f"Unsupported codec/format: {error}") from None
    if not SUPPORTED_FORMATS.intersection(container.format.name.split(",")):
        container.close()
        raise VideoError(f"Unsupported codec/format: {container.format.long_name} is not MP4, MOV or AVI")
    if not container.streams.video:
        container.close()
        raise VideoError("Unsupported codec/format: the file has no video stream")
    return container


def _color_range(declared: int, pixel_format: str) -> str:
    if declared == _FULL_RANGE:
        return "FULL"
    if declared == _LIMITED_RANGE:
        return "LIMITED"
    return "FULL" if pixel_format.startswith(("yuvj", "rgb", "bgr", "gbr")) else "LIMITED"

"""The video of a Face Liveness stream, and what the client said about it.

The client sends its camera's recording as ``VideoEvent`` chunks (Amplify: ``MediaRecorder`` WebM,
one chunk a second); their concatenation is one WebM file, decoded here with PyAV (FFmpeg). Frame
times are the container's presentation times, from the first frame; the client's
``VideoStartTimestamp`` (its clock, epoch milliseconds) places them on the clock of the client's
other events.

``ClientReport`` gathers the ``ClientSessionInformationEvent`` members the checks use: when the
video started and ended, the initial face and when it was seen, the target (oval) box and when the
face was in it, and each colour change (``ColorDisplayed``) with its time.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import av.error
import numpy as np

from ..errors import ValidationException

MAX_FRAMES = 1800
"""Frames decoded at most (a minute at 30 frames a second); a longer video is refused."""


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: ``millis`` from the first frame, ``(H, W, 3)`` uint8 RGB ``pixels``."""

    millis: float
    pixels: np.ndarray


def decode_recording(data: bytes) -> Iterator[VideoFrame]:
    """Each frame of the WebM (or any container FFmpeg reads) in ``data``, in presentation order (as
    FFmpeg's decoders hand them out), one at a time so that the whole video is never held decoded;
    ``ValidationException`` (while iterating) when it holds no decodable video, no frame, or more
    than ``MAX_FRAMES`` frames."""
    count = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise ValidationException("The video chunks hold no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            first = None
            for frame in container.decode(stream):
                if frame.pts is None or frame.time is None:
                    continue
                first = frame.time if first is None else first
                count += 1
                if count > MAX_FRAMES:
                    raise ValidationException(f"The video has more than {MAX_FRAMES} frames")
                yield VideoFrame((frame.time - first) * 1000.0, frame.to_ndarray(format="rgb24"))
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise ValidationException(f"The video chunks are not a decodable video: {error}") from None
    if not count:
        raise ValidationException("The video chunks hold no frame")


@dataclass(frozen=True)
class ColourShown:
    """One ``ColorDisplayed``: from ``millis`` (client clock) the screen turns from ``previous``
    to ``current`` (scrolling down), or shows ``current`` flat when the two are equal."""

    millis: float
    sequence: int
    current: tuple[int, int, int]
    previous: tuple[int, int, int]


@dataclass
class ClientReport:
    """What the client's ``ClientSessionInformationEvent``s said (times in client epoch ms; boxes
    ``{Width, Height, Left, Top}`` as ratios of the video)."""

    video_start: float | None = None
    video_end: float | None = None
    initial_face: dict[str, float] | None = None
    initial_face_at: float | None = None
    target_face: dict[str, float] | None = None
    target_start: float | None = None
    target_end: float | None = None
    colours: list[ColourShown] = field(default_factory=list)

    def take(self, challenge: dict[str, Any]) -> None:
        """Add one event's ``FaceMovementAndLightChallenge``/``FaceMovementChallenge`` members."""
        if "VideoStartTimestamp" in challenge:
            self.video_start = _number(challenge["VideoStartTimestamp"], "VideoStartTimestamp")
        if "VideoEndTimestamp" in challenge:
            self.video_end = _number(challenge["VideoEndTimestamp"], "VideoEndTimestamp")
        initial = challenge.get("InitialFace")
        if isinstance(initial, dict):
            self.initial_face = _box(initial.get("BoundingBox"))
            self.initial_face_at = _number(initial.get("InitialFaceDetectedTimestamp"), "InitialFaceDetectedTimestamp")
        target = challenge.get("TargetFace")
        if isinstance(target, dict):
            self.target_face = _box(target.get("BoundingBox"))
            self.target_start = _number(
                target.get("FaceDetectedInTargetPositionStartTimestamp"), "FaceDetectedInTargetPositionStartTimestamp"
            )
            self.target_end = _number(
                target.get("FaceDetectedInTargetPositionEndTimestamp"), "FaceDetectedInTargetPositionEndTimestamp"
            )
        shown = challenge.get("ColorDisplayed")
        if isinstance(shown, dict):
            self.colours.append(
                ColourShown(
                    _number(shown.get("CurrentColorStartTimestamp"), "CurrentColorStartTimestamp"),
                    int(_number(shown.get("SequenceNumber"), "SequenceNumber")),
                    _rgb(shown.get("CurrentColor")),
                    _rgb(shown.get("PreviousColor") or shown.get("CurrentColor")),
                )
            )


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationException(f"{name} must be a number")
    return float(value)


def _box(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValidationException("A BoundingBox must be an object")
    return {key: _number(value.get(key), f"BoundingBox.{key}") for key in ("Width", "Height", "Left", "Top")}


def _rgb(value: Any) -> tuple[int, int, int]:
    rgb = value.get("RGB") if isinstance(value, dict) else None
    if not isinstance(rgb, list) or len(rgb) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in rgb):
        raise ValidationException("A colour must be {RGB: [r, g, b]} with 0-255 integers")
    return (rgb[0], rgb[1], rgb[2])

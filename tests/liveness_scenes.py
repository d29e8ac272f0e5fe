"""Simulated Face Liveness sessions for the stream tests: a real face photo from the shared data,
drawn on a 640x480 camera frame that moves into the server's oval and is lit by the colour on
screen, encoded as WebM (VP8, PyAV) with the ``ClientSessionInformationEvent``s Amplify sends.

Scenes: ``live`` (comes closer into the oval, lit by the session's colours at the times they are
shown), ``replay`` (the same movement, lit by another session's colour order: a recording made
beforehand), ``still`` (a photo held in the oval from the start, not lit), ``never`` (stays small
and off the oval).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import av
import numpy as np
from PIL import Image
from support import FACES

WIDTH, HEIGHT, FPS = 640, 480, 15
PHOTO = "people/Alex_Lacamoire/img1.jpg"
FACE_BOX = (282.5, 130.2, 597.0, 571.3)
"""The face in ``PHOTO`` (YuNet's box, pixels)."""
OCULAR = 261.0
"""The face's width as Amplify's component measures it, (2 × pupil distance + 1.8 × eye-to-mouth
distance) / 2, from dlib's 68 landmarks of ``PHOTO`` (pixels)."""
ANCHOR = (261.1, 310.2)
"""Where the component centres that face box in the sprite: between the eyes' centre and the nose tip."""


@cache
def sprite() -> Image.Image:
    """The face with a margin of a third of its width each side."""
    left, top, right, bottom = FACE_BOX
    margin = (right - left) / 3
    box = (int(left - margin), int(top - margin), int(right + margin), int(bottom + margin))
    return Image.open(FACES / PHOTO).convert("RGB").crop(box)


@dataclass(frozen=True)
class Timeline:
    """Milliseconds from the first frame: the move into the oval, and the colours' start."""

    initial_ms: float = 300.0
    move_from_ms: float = 1000.0
    reached_ms: float = 2000.0
    colours_from_ms: float = 3000.0


def colour_events(sequences: list[dict[str, Any]], start: float) -> list[tuple[float, int, list[int], list[int]]]:
    """The ``ColorDisplayed`` changes of ``ColorSequences`` as Amplify's ``ColorSequenceDisplay``
    makes them: ``(time, sequence number, current RGB, previous RGB)``, the first flat."""
    events = []
    rgb = [sequence["FreshnessColor"]["RGB"] for sequence in sequences]
    now = start
    events.append((now, 0, rgb[0], rgb[0]))
    now += sequences[0]["FlatDisplayDuration"]
    for number in range(1, len(sequences)):
        events.append((now, number, rgb[number], rgb[number - 1]))
        now += sequences[number]["DownscrollDuration"]
        events.append((now, number, rgb[number], rgb[number]))
        now += sequences[number]["FlatDisplayDuration"]
    events.append((now, len(sequences), rgb[-1], rgb[-1]))  # the end of the last colour
    return events


def screen_colour(events: list[tuple[float, int, list[int], list[int]]], millis: float) -> np.ndarray | None:
    """The colour on screen at ``millis``, or ``None`` outside the sequence."""
    for (start, _, current, previous), (end, *_) in itertools.pairwise(events):
        if start <= millis < end:
            fraction = 1.0 if current == previous else (millis - start) / (end - start)
            return np.array(previous, float) + (np.array(current, float) - np.array(previous, float)) * fraction
    return None


def render(
    kind: str,
    information: dict[str, Any],
    start_ms: int,
    lit_by: list[dict[str, Any]] | None = None,
    timeline: Timeline = Timeline(),
    on_chunk: Callable[[bytes], None] | None = None,
) -> tuple[bytes, list[dict[str, Any]], list[dict[str, Any]]]:
    """The WebM, the client events before the video's end, and the final event, for a scene of
    ``kind`` against ``information`` (``SessionInformation``), the video starting at client time
    ``start_ms``. ``lit_by`` replaces the session's colour sequence for the lighting (``replay``).
    ``on_chunk`` gets the WebM's bytes as they are written, about a second of video at a time (as
    ``MediaRecorder`` hands them out)."""
    ((name, challenge),) = information["Challenge"].items()
    oval = challenge["OvalParameters"]
    centre_x, centre_y = WIDTH - oval["CenterX"], oval["CenterY"]  # the oval is on the mirrored view
    sequences = challenge.get("ColorSequences", [])
    shown = colour_events(sequences, timeline.colours_from_ms) if sequences else []
    lighting = colour_events(lit_by, timeline.colours_from_ms) if lit_by else shown
    face = sprite()
    final_scale = 0.95 * oval["Width"] / OCULAR  # the face fills the oval as the component asks
    start_scale = 0.5 * final_scale
    start_x, start_y = centre_x - 70, centre_y + 20
    end_ms = (shown[-1][0] if shown else timeline.reached_ms + 1500) + 500
    buffer = io.BytesIO()
    handed = 0

    def hand_out() -> None:
        nonlocal handed
        if on_chunk is not None and buffer.tell() > handed:
            on_chunk(buffer.getvalue()[handed:])
            handed = buffer.tell()

    with av.open(buffer, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = 1_000_000
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for number in range(int(end_ms * FPS / 1000)):
            millis = number * 1000 / FPS
            if kind == "still":
                progress = 1.0
            elif kind == "never":
                progress = 0.0
            else:
                progress = np.clip(
                    (millis - timeline.move_from_ms) / (timeline.reached_ms - timeline.move_from_ms), 0, 1
                )
            scale = start_scale + (final_scale - start_scale) * progress
            x = start_x + (centre_x - start_x) * progress
            y = start_y + (centre_y - start_y) * progress
            light = screen_colour(lighting, millis) if kind in ("live", "replay") else None
            frame = _frame(face, scale, x, y, light)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
            if number % FPS == FPS - 1:
                hand_out()
        for packet in stream.encode():
            container.mux(packet)
    hand_out()
    box = {"Width": 0.3, "Height": 0.4, "Left": (start_x - 60) / WIDTH, "Top": (start_y - 80) / HEIGHT}
    target = {
        "Width": oval["Width"] / WIDTH,
        "Height": oval["Height"] / HEIGHT,
        "Left": (oval["CenterX"] - oval["Width"] / 2) / WIDTH,
        "Top": (oval["CenterY"] - oval["Height"] / 2) / HEIGHT,
    }
    initial = {"BoundingBox": box, "InitialFaceDetectedTimestamp": start_ms + timeline.initial_ms}
    events = [{"Challenge": {name: {"ChallengeId": "c", "VideoStartTimestamp": start_ms, "InitialFace": initial}}}]
    for millis, number, current, previous in shown[:-1]:
        displayed = {
            "CurrentColor": {"RGB": current},
            "PreviousColor": {"RGB": previous},
            "SequenceNumber": number,
            "CurrentColorStartTimestamp": start_ms + millis,
        }
        events.append({"Challenge": {name: {"ChallengeId": "c", "ColorDisplayed": displayed}}})
    final = {
        "Challenge": {
            name: {
                "ChallengeId": "c",
                "InitialFace": initial,
                "TargetFace": {
                    "BoundingBox": target,
                    "FaceDetectedInTargetPositionStartTimestamp": start_ms + timeline.reached_ms,
                    "FaceDetectedInTargetPositionEndTimestamp": start_ms + timeline.reached_ms,
                },
                "VideoEndTimestamp": start_ms + end_ms,
            }
        }
    }
    return buffer.getvalue(), events, [final]


def _frame(face: Image.Image, scale: float, x: float, y: float, light: np.ndarray | None) -> np.ndarray:
    canvas = np.full((HEIGHT, WIDTH, 3), 90.0, dtype=np.float32)
    size = (max(1, int(face.width * scale)), max(1, int(face.height * scale)))
    resized = np.asarray(face.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    left, top = int(x - ANCHOR[0] * scale), int(y - ANCHOR[1] * scale)
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(WIDTH, left + size[0]), min(HEIGHT, top + size[1])
    canvas[y0:y1, x0:x1] = resized[y0 - top : y1 - top, x0 - left : x1 - left]
    if light is not None:
        canvas = canvas * (0.6 + 0.4 * light / 255.0)
    return np.clip(canvas, 0, 255).astype(np.uint8)

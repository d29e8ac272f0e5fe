"""The liveness checks, each measured on the recorded video, and ``Confidence`` as a function of them.

Faces are found with the server's face model (``FaceAnalyzer.detect``, YuNet for 2.x) on frames
``SAMPLE_MS`` apart. Times of the client's events are placed on the video by its
``VideoStartTimestamp``. Each check gives a measurement, and a score from 0 to 1 by a linear ramp
between a ``low`` (score 0) and a ``high`` (score 1) value:

- ``one_face``: the share of sampled frames with exactly one face (ramp 0.5 → 0.9); any frame
  with a second face at least a third as wide as the first scores 0 (someone else in view).
- ``moved_into_oval``: the face must grow from where it was first seen to the oval (the protocol
  asks the person to come closer until the face fills the oval): the median face width after the
  client says the face reached the oval over the median width in the first second (ramp 1.05 →
  1.3), times the share of those later frames whose face lies in the oval: the face box the
  component itself matches against the oval (``oval_iou``, from the server's landmarks) overlaps
  the oval's box by an IoU of at least ``MIN_OVAL_IOU``. The oval is given on the mirrored picture
  the person sees (``challenge.py``), so on the recorded frames its centre is at ``width - CenterX``.
- ``light`` (``FaceMovementAndLightChallenge`` only): the face must reflect the colours the
  server chose, when they were shown. From the ``ColorDisplayed`` events the colour on screen is
  known at every moment (a scroll mixes the two colours linearly in time); for each frame the
  mean colour of the middle of the face is measured. The Pearson correlation between the two, per
  channel, averaged over the channels, is taken at the best delay between 0 and 400 ms (camera
  and encoder latency) and ramped 0.75 → 0.9. A recording made for another session follows that
  session's random sequence (``challenge.py``); measured over 100,000 pairs of sequences
  (``bench/liveness_colour_odds.py``), the screen colours of two sessions correlated at 0.75 or
  more in 6 pairs, at 0.825 (this check's score 0.5, Confidence 50) or more in 1 (at most 0.876):
  a replay, even perfectly timed, reaches Confidence 50 with a chance of about 10⁻⁵. A live face
  measured 0.99 and above in the tests.

``Confidence`` = 100 × the smallest score: a session is as live as its weakest evidence. The
reference image is the most frontal face (eye-to-nose distances most equal) while the face was in
the oval; audit images are frames spread over the video (both among the frames kept every ``KEEP_MS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..vision.analyzer import DetectedFace, FaceAnalyzer
from .challenge import LIGHT, Challenge
from .recording import ClientReport, VideoFrame

SAMPLE_MS = 100.0
KEEP_MS = 500.0
"""Full frames kept as candidates for the reference and audit images: one every half second with a
face (the others are kept only at ``SHRINK``, for the light check), so a session's video is never
held whole in memory (10 s of 640×480 video at 30 frames a second is 280 MB decoded; kept here:
17 MB shrunk and ~20 full frames, 18 MB)."""
SHRINK = 4
"""Frames are kept at 1/4 of their width and height for the face-colour measurement."""
MIN_OVAL_IOU = 0.5
"""A face is in the oval when ``oval_iou`` is at least this (the component asks 0.7 of its own
detector's landmarks; the server's landmarks place the box a little differently)."""
MAX_DELAY_MS = 400.0
DELAY_STEP_MS = 33.0


@dataclass(frozen=True)
class Check:
    """One check: its ``score`` (0–1) and what was measured."""

    name: str
    score: float
    measured: dict[str, float]


Box = tuple[float, float, float, float]
Picture = tuple[np.ndarray, Box]
"""A frame chosen as an image (RGB pixels) and its face box (pixels)."""


@dataclass
class Verdict:
    """The checks, ``Confidence`` (0–100), and the frames chosen as reference and audit images."""

    checks: list[Check]
    confidence: float
    reference: Picture | None
    audits: list[Picture] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The checks as stored with the session (and shown by the console)."""
        return {check.name: {"score": round(check.score, 4), **check.measured} for check in self.checks}


def ramp(value: float, low: float, high: float) -> float:
    """0 at or below ``low``, 1 at or above ``high``, linear between."""
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


@dataclass
class _Recording:
    """What the checks keep of the frames as they are decoded: each frame's time and a shrunken
    copy, the faces of the sampled frames, and the full frames kept as image candidates."""

    millis: list[float] = field(default_factory=list)
    small: list[np.ndarray] = field(default_factory=list)
    sampled: list[tuple[int, list[DetectedFace]]] = field(default_factory=list)
    kept: dict[int, np.ndarray] = field(default_factory=dict)


def decide(
    frames: Iterable[VideoFrame], challenge: Challenge, report: ClientReport, analyzer: FaceAnalyzer, audit_limit: int
) -> Verdict:
    """Run the checks on ``frames`` (consumed one at a time) and the client's ``report`` for ``challenge``."""
    recording = _Recording()
    next_sample = next_keep = -1.0
    for index, frame in enumerate(frames):
        recording.millis.append(frame.millis)
        recording.small.append(frame.pixels[::SHRINK, ::SHRINK].copy())
        if frame.millis >= next_sample:
            faces = analyzer.detect(frame.pixels)
            recording.sampled.append((index, faces))
            next_sample = frame.millis + SAMPLE_MS
            if faces and frame.millis >= next_keep:
                recording.kept[index] = frame.pixels
                next_keep = frame.millis + KEEP_MS
    start = report.video_start if report.video_start is not None else 0.0
    clock = [start + millis for millis in recording.millis]
    sampled = recording.sampled
    checks = [_one_face(sampled), _moved_into_oval(sampled, clock, challenge, report)]
    if challenge.kind == LIGHT:
        checks.append(_light(recording.small, sampled, clock, challenge, report))
    confidence = 100.0 * min(check.score for check in checks)
    candidates = [(index, faces) for index, faces in sampled if index in recording.kept]
    reference = _reference(candidates, clock, report)
    audits = _audits(candidates, reference, audit_limit)
    return Verdict(
        checks,
        round(confidence, 3),
        None if reference is None else (recording.kept[reference[0]], reference[1]),
        [(recording.kept[index], box) for index, box in audits],
    )


def _one_face(sampled: list[tuple[int, list[DetectedFace]]]) -> Check:
    singles = sum(1 for _, faces in sampled if len(faces) == 1)
    crowded = sum(1 for _, faces in sampled if len(faces) > 1 and _width(faces[1]) >= _width(faces[0]) / 3)
    share = singles / len(sampled)
    score = 0.0 if crowded else ramp(share, 0.5, 0.9)
    return Check(
        "one_face", score, {"frames": len(sampled), "one_face_share": round(share, 4), "crowded_frames": crowded}
    )


def _width(face: DetectedFace) -> float:
    return face.box[2] - face.box[0]


def oval_on_video(challenge: Challenge) -> tuple[float, float, float, float]:
    """The oval ``(width, height, centre x, centre y)`` on the recorded (not mirrored) frames."""
    width, height, centre_x, centre_y = challenge.oval
    return width, height, challenge.video_width - centre_x, centre_y


def oval_iou(face: DetectedFace, oval: tuple[float, float, float, float]) -> float:
    """The intersection over union of the oval's box with the face box as Amplify's component
    measures it (``generateBboxFromLandmarks``): centred between the eyes' centre and the nose tip,
    as wide as (2 × pupil distance + 1.8 × eye-to-mouth distance) / 2, 1.618 times as tall; here from
    the 68 landmarks of the server's face model."""
    points = face.landmarks
    left_eye, right_eye = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    eyes, nose, mouth = (left_eye + right_eye) / 2, points[30], points[48:68].mean(axis=0)
    ocular = (2 * np.linalg.norm(left_eye - right_eye) + 1.8 * np.linalg.norm(eyes - mouth)) / 2
    centre = (eyes + nose) / 2
    width, height, centre_x, centre_y = oval
    face_box = (centre[0] - ocular / 2, centre[1] - 0.809 * ocular, centre[0] + ocular / 2, centre[1] + 0.809 * ocular)
    oval_box = (centre_x - width / 2, centre_y - height / 2, centre_x + width / 2, centre_y + height / 2)
    across = max(0.0, min(face_box[2], oval_box[2]) - max(face_box[0], oval_box[0]))
    down = max(0.0, min(face_box[3], oval_box[3]) - max(face_box[1], oval_box[1]))
    overlap = across * down
    union = ocular * 1.618 * ocular + width * height - overlap
    return float(overlap / union) if union > 0 else 0.0


def _moved_into_oval(
    sampled: list[tuple[int, list[DetectedFace]]], clock: list[float], challenge: Challenge, report: ClientReport
) -> Check:
    oval = oval_on_video(challenge)
    first = clock[sampled[0][0]]
    initial_until = max(report.initial_face_at or first, first) + 1000.0
    reached = report.target_start if report.target_start is not None else float("inf")
    initial = [_width(faces[0]) for index, faces in sampled if faces and clock[index] <= initial_until]
    final = [faces[0] for index, faces in sampled if faces and clock[index] >= reached]
    if not initial or not final:
        return Check("moved_into_oval", 0.0, {"initial_frames": len(initial), "oval_frames": len(final)})
    growth = float(np.median([_width(face) for face in final]) / np.median(initial))
    overlaps = [oval_iou(face, oval) for face in final]
    in_oval = sum(1 for overlap in overlaps if overlap >= MIN_OVAL_IOU) / len(final)
    score = ramp(growth, 1.05, 1.3) * in_oval
    return Check(
        "moved_into_oval",
        score,
        {
            "growth": round(growth, 4),
            "median_oval_iou": round(float(np.median(overlaps)), 4),
            "in_oval_share": round(in_oval, 4),
            "oval_frames": len(final),
        },
    )


def shown_colour(report: ClientReport, challenge: Challenge, millis: float) -> np.ndarray | None:
    """The colour on screen at client time ``millis`` (RGB, 0–255 floats), or ``None`` outside the
    colour sequence. Between two ``ColorDisplayed`` events whose colours differ the screen scrolls
    from the previous to the current colour (mixed in proportion to the time elapsed)."""
    events = sorted(report.colours, key=lambda event: event.millis)
    durations = {index: (scroll, flat) for index, (_, scroll, flat) in enumerate(challenge.colours)}
    for number, event in enumerate(events):
        scroll, flat = durations.get(event.sequence, (0, 0))
        flat_stage = event.current == event.previous
        end = events[number + 1].millis if number + 1 < len(events) else event.millis + (flat if flat_stage else scroll)
        if not event.millis <= millis < end:
            continue
        current, previous = np.array(event.current, float), np.array(event.previous, float)
        if flat_stage:
            return current
        fraction = (millis - event.millis) / max(end - event.millis, 1.0)
        return previous + (current - previous) * fraction
    return None


def _face_colours(small: list[np.ndarray], sampled: list[tuple[int, list[DetectedFace]]]) -> list[np.ndarray | None]:
    """Each frame's mean RGB over the middle of the face (the inner half of the nearest sampled
    box), measured on the frames shrunk by ``SHRINK``."""
    boxes: list[Box | None] = [None] * len(small)
    order = [(index, faces[0].box) for index, faces in sampled if faces]
    if not order:
        return [None] * len(small)
    position = 0
    for index in range(len(small)):
        while position + 1 < len(order) and abs(order[position + 1][0] - index) <= abs(order[position][0] - index):
            position += 1
        boxes[index] = order[position][1]
    colours: list[np.ndarray | None] = []
    for pixels, box in zip(small, boxes, strict=True):
        left, top, right, bottom = (value / SHRINK for value in box)  # type: ignore[union-attr]
        width, height = right - left, bottom - top
        x0, x1 = int(max(0, left + width / 4)), int(min(pixels.shape[1], right - width / 4))
        y0, y1 = int(max(0, top + height / 4)), int(min(pixels.shape[0], bottom - height / 4))
        colours.append(pixels[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0) if x1 > x0 and y1 > y0 else None)
    return colours


def _light(
    small: list[np.ndarray],
    sampled: list[tuple[int, list[DetectedFace]]],
    clock: list[float],
    challenge: Challenge,
    report: ClientReport,
) -> Check:
    observed = _face_colours(small, sampled)
    best, best_delay = -1.0, 0.0
    for delay in np.arange(0.0, MAX_DELAY_MS + 1, DELAY_STEP_MS):
        pairs = [
            (seen, shown)
            for seen, millis in zip(observed, clock, strict=True)
            if seen is not None and (shown := shown_colour(report, challenge, millis - delay)) is not None
        ]
        if len(pairs) < 10:
            continue
        seen_all = np.array([seen for seen, _ in pairs])
        shown_all = np.array([shown for _, shown in pairs])
        correlations = [
            float(np.corrcoef(seen_all[:, channel], shown_all[:, channel])[0, 1])
            for channel in range(3)
            if shown_all[:, channel].std() > 1.0 and seen_all[:, channel].std() > 1e-6
        ]
        if correlations and (mean := float(np.mean(correlations))) > best:
            best, best_delay = mean, float(delay)
    if best < -0.5:  # no frame during the colours (or none with a face)
        return Check("light", 0.0, {"correlation": 0.0, "colour_events": len(report.colours)})
    return Check(
        "light",
        ramp(best, 0.75, 0.9),
        {"correlation": round(best, 4), "delay_ms": best_delay, "colour_events": len(report.colours)},
    )


def _frontal(face: DetectedFace) -> float:
    points = face.landmarks
    left_eye, right_eye, nose = points[36:42].mean(axis=0), points[42:48].mean(axis=0), points[30]
    left, right = float(np.linalg.norm(left_eye - nose)), float(np.linalg.norm(right_eye - nose))
    return 1.0 - abs(left - right) / max(left + right, 1e-6)


def _reference(
    sampled: list[tuple[int, list[DetectedFace]]], clock: list[float], report: ClientReport
) -> tuple[int, Box] | None:
    reached = report.target_start if report.target_start is not None else clock[0]
    candidates = [(index, faces[0]) for index, faces in sampled if len(faces) == 1 and clock[index] >= reached]
    candidates = candidates or [(index, faces[0]) for index, faces in sampled if faces]
    if not candidates:
        return None
    index, face = max(candidates, key=lambda item: (_frontal(item[1]), item[1].confidence))
    return index, face.box


def _audits(
    sampled: list[tuple[int, list[DetectedFace]]], reference: tuple[int, Box] | None, limit: int
) -> list[tuple[int, Box]]:
    with_face = [
        (index, faces[0].box) for index, faces in sampled if faces and (reference is None or index != reference[0])
    ]
    if limit <= 0 or not with_face:
        return []
    picks = np.linspace(0, len(with_face) - 1, min(limit, len(with_face))).round().astype(int)
    return [with_face[pick] for pick in dict.fromkeys(int(p) for p in picks)]

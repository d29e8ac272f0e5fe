"""Reusing a face's embedding along its track: embed a face only when its track is new or it got better.

Embedding is the costliest step per face (two networks, about 15 ms a face on one core of this
machine at 360p), and in video the same face sits in frame after frame. ``EmbeddingReuse`` follows
faces from sampled frame to sampled frame by their boxes alone: a face continues a track when its
box overlaps the track's last box (intersection over union ≥ ``min_overlap``) in a frame at most
``max_gap_ms`` earlier (pairs taken greedily, largest overlap first, one face per track). A face
that continues a track gets the track's embedding without running the networks, unless its
quality beats the best quality the track was embedded at by the factor ``gain``: then it is
embedded again and that embedding becomes the track's. A face of no track starts one and is
embedded.

Quality (``face_quality``) is what makes an embedding better in practice: a larger face, a
frontal pose and a confident detection. The cost in matches is measured by ``bench/embedding_reuse.py``
(every face embedded against reuse, on the shared Hamilton clip); the speed gain by
``bench/video_speed.py`` and ``bench/stream_processor.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..core.measurement import FaceMeasurement
from ..vision.boxes import Box
from ..vision.boxes import overlap as box_overlap

FULL_QUALITY_SIDE = 112.0
"""Face size (shorter side of the box, pixels) from which a larger face counts as no better: the
embedding networks' input is 112 × 112 (SFace) and 150 × 150 (dlib's ResNet)."""


def face_quality(measured: FaceMeasurement) -> float:
    """0–1: the detector's confidence × the face's size up to ``FULL_QUALITY_SIDE`` × cos(yaw) (0 in profile)."""
    _, yaw, _ = measured.pose
    size = min(1.0, measured.shorter_side / FULL_QUALITY_SIDE)
    return measured.confidence / 100.0 * size * max(0.0, math.cos(math.radians(yaw)))


SIGNATURE_SIDE = 16
"""Side, pixels, of the grey thumbnail a face's look is compared by (``signature``)."""


def signature(pixels: np.ndarray, box: Box) -> np.ndarray:
    """The face's look, cheaply: its box (clipped to the image) as a ``SIGNATURE_SIDE``² grey thumbnail,
    zero mean and unit length, so that the dot product of two is their normalised cross-correlation."""
    height, width = pixels.shape[:2]
    left, top, right, bottom = box
    x0, y0 = min(width - 1, max(0, int(left))), min(height - 1, max(0, int(top)))
    x1, y1 = max(x0 + 1, min(width, math.ceil(right))), max(y0 + 1, min(height, math.ceil(bottom)))
    thumbnail = cv2.resize(pixels[y0:y1, x0:x1], (SIGNATURE_SIDE, SIGNATURE_SIDE), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2GRAY).astype(np.float32).ravel()
    grey -= grey.mean()
    norm = float(np.linalg.norm(grey))
    return grey / norm if norm > 0 else grey


@dataclass
class _Track:
    box: Box
    look: np.ndarray
    last_seen: int
    embedding: np.ndarray
    quality: float


class EmbeddingReuse:
    """Per-video (or per-stream) state: the tracks and their embeddings. ``embedded`` and ``faces``
    count the faces embedded and all faces seen, so a caller can report the share saved."""

    def __init__(
        self, *, min_overlap: float = 0.5, min_likeness: float = 0.5, max_gap_ms: int = 1000, gain: float = 1.2
    ) -> None:
        self.min_overlap = min_overlap
        self.min_likeness = min_likeness
        self.max_gap_ms = max_gap_ms
        self.gain = gain
        self.embedded = 0
        self.faces = 0
        self._tracks: list[_Track] = []

    def embeddings(
        self,
        timestamp: int,
        pixels: np.ndarray,
        boxes: Sequence[Box],
        qualities: Sequence[float],
        embed: Callable[[list[int]], np.ndarray],
    ) -> np.ndarray:
        """One embedding row per face of the frame at ``timestamp`` ms (RGB ``pixels``, ``boxes`` in its
        pixels, ``qualities`` from ``face_quality``); ``embed(indices)`` embeds the faces at those
        indices (a ``(len(indices), d)`` array) and is called once, for the faces that need it."""
        self._tracks = [track for track in self._tracks if timestamp - track.last_seen <= self.max_gap_ms]
        looks = [signature(pixels, box) for box in boxes]
        pairs = sorted(
            (-overlap, face, slot)
            for face, box in enumerate(boxes)
            for slot, track in enumerate(self._tracks)
            if (overlap := box_overlap(box, track.box)) >= self.min_overlap
            and float(looks[face] @ track.look) >= self.min_likeness
        )
        linked: dict[int, int] = {}
        taken: set[int] = set()
        for _, face, slot in pairs:
            if face not in linked and slot not in taken:
                linked[face] = slot
                taken.add(slot)
        needed = [
            face
            for face in range(len(boxes))
            if face not in linked or qualities[face] > self._tracks[linked[face]].quality * self.gain
        ]
        fresh = embed(needed) if needed else None
        rows: list[np.ndarray] = []
        new_tracks = []
        for face, box in enumerate(boxes):
            vector = fresh[needed.index(face)] if fresh is not None and face in needed else None
            if face in linked:
                track = self._tracks[linked[face]]
                track.box, track.look, track.last_seen = box, looks[face], timestamp
                if vector is not None:
                    track.embedding, track.quality = vector, qualities[face]
                rows.append(track.embedding)
            else:
                assert vector is not None
                new_tracks.append(_Track(box, looks[face], timestamp, vector, qualities[face]))
                rows.append(vector)
        self._tracks += new_tracks
        self.embedded += len(needed)
        self.faces += len(boxes)
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(rows)

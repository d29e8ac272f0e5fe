"""Linking faces across sampled frames into persons with a stable ``Index``.

A face joins an existing person when either

- its box overlaps the person's last box (intersection over union ≥ ``min_overlap``) in a frame at
  most ``max_gap_ms`` earlier, and its embedding is not clearly someone else's (distance ≤
  ``overlap_distance``); or
- its embedding is close to the mean embedding of the person's faces (distance ≤
  ``link_distance``), however long ago the person was last seen (this re-links a person across
  cuts and occlusions).

Pairs are taken greedily, overlap matches first (by overlap), then appearance matches (by
distance); each person takes at most one face per frame. Unlinked faces start new persons,
numbered 0, 1, 2… in order of first appearance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..vision.boxes import Box
from ..vision.boxes import overlap as box_overlap

"""``(left, top, right, bottom)`` in pixels."""


@dataclass
class _Person:
    index: int
    box: Box
    last_seen: int
    embedding_sum: np.ndarray
    count: int

    @property
    def mean_embedding(self) -> np.ndarray:
        return self.embedding_sum / self.count


class FaceTracker:
    """Assigns a person index to each face of successive frames (timestamps must not decrease)."""

    def __init__(
        self,
        *,
        link_distance: float,
        overlap_distance: float,
        min_overlap: float = 0.3,
        max_gap_ms: int = 1000,
    ) -> None:
        self.link_distance = link_distance
        self.overlap_distance = overlap_distance
        self.min_overlap = min_overlap
        self.max_gap_ms = max_gap_ms
        self._persons: list[_Person] = []

    def assign(self, timestamp: int, boxes: list[Box], embeddings: np.ndarray) -> list[int]:
        """Person index of each face (``boxes[i]`` with embedding row ``embeddings[i]``) at ``timestamp`` ms."""
        candidates: list[tuple[int, float, int, int]] = []  # (kind, -score, face, person): lowest first
        for face, (box, embedding) in enumerate(zip(boxes, embeddings, strict=True)):
            for slot, person in enumerate(self._persons):
                distance = float(np.linalg.norm(embedding - person.mean_embedding))
                overlap = box_overlap(box, person.box)
                recent = timestamp - person.last_seen <= self.max_gap_ms
                if recent and overlap >= self.min_overlap and distance <= self.overlap_distance:
                    candidates.append((0, -overlap, face, slot))
                elif distance <= self.link_distance:
                    candidates.append((1, distance, face, slot))
        candidates.sort()
        assigned: dict[int, int] = {}
        taken: set[int] = set()
        for _, _, face, slot in candidates:
            if face in assigned or slot in taken:
                continue
            assigned[face] = slot
            taken.add(slot)
        indices = []
        for face, (box, embedding) in enumerate(zip(boxes, embeddings, strict=True)):
            slot = assigned.get(face)
            vector = np.asarray(embedding, dtype=np.float64)
            if slot is None:
                self._persons.append(_Person(len(self._persons), box, timestamp, vector.copy(), 1))
                slot = len(self._persons) - 1
            else:
                person = self._persons[slot]
                person.box, person.last_seen = box, timestamp
                person.embedding_sum += vector
                person.count += 1
            indices.append(self._persons[slot].index)
        return indices

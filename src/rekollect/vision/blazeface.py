"""Face proposals from MediaPipe's BlazeFace full-range detector, run over a pyramid of tiles.

Model: ``face_detection_full_range_sparse.tflite`` from the ``mediapipe==0.10.14`` wheel
(Apache-2.0; Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs",
2019), run with ``ai-edge-litert``. Input ``(1, 192, 192, 3)`` RGB scaled to [-1, 1]; outputs, for
2304 anchors on a 48 × 48 grid (stride 4, anchor centres at cell centres, fixed unit size, as in
MediaPipe's ``face_detection_full_range.pbtxt``), a score logit and 16 regressors: the box centre
offset from the anchor, its width and height, then 6 keypoints, in pixels of the 192 input.

Tiling: Rekognition detects faces down to 40 × 40 pixels in images up to 1920 × 1080, and
proportionally larger faces above ("Guidelines and quotas in Amazon Rekognition"). Measured on the
shared photos (faces rescaled to a given width of dlib's HOG box, 40 photos), the model finds
40/40 faces 16 px wide at its input, 36/40 at 12 px. So the image is scanned at tile sides
``T0 = long side, T0 / 2, T0 / 4, ...`` down to ``192 · min_face / 16`` pixels, each tile scaled
to 192 px; tiles of one level overlap by half, so a face up to ``T / 2`` wide lies wholly inside
one tile, and a larger one wholly inside a tile of the level above, where it is still ≥ 48 px.
A 640-px photo takes 3 runs, a 1920 × 1080 one about 35.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from .attributes.model_files import model_path
from .boxes import Box, min_face_size, overlap

MODEL_FILE = "face_detection_full_range_sparse.tflite"
INPUT_SIZE = 192
SMALLEST_FACE_AT_INPUT = 16.0
"""Face width (pixels of the 192 input) the model still finds reliably (see the module docstring)."""

_GRID = 48
_SUPPRESSION_IOU = 0.3
"""Overlap above which a lower-scoring proposal is dropped (MediaPipe's ``min_suppression_threshold``)."""


@dataclass(frozen=True)
class Proposal:
    """A candidate face: ``box`` is ``(left, top, right, bottom)`` image pixels; ``score`` 0–1."""

    box: Box
    score: float


def tile_sides(width: int, height: int) -> list[int]:
    """Tile sides of the pyramid, pixels, coarsest (the whole image) first."""
    finest = INPUT_SIZE * min_face_size(width, height) / SMALLEST_FACE_AT_INPUT
    sides = [float(max(width, height))]
    while sides[-1] / 2 >= finest:
        sides.append(sides[-1] / 2)
    if sides[-1] > finest * 1.01:
        sides.append(finest)
    return [max(1, round(side)) for side in sides]


def _starts(length: int, tile: int) -> list[int]:
    """Tile origins along one axis: overlapping by at least half a tile, the last flush with the end."""
    if length <= tile:
        return [0]
    count = int(np.ceil((length - tile) / (tile / 2))) + 1
    return np.linspace(0, length - tile, count).round().astype(int).tolist()


class BlazeFaceProposer:
    """Proposes face boxes in an image. One interpreter per thread (they are not re-entrant);
    ``threads`` is the number of CPU threads each interpreter may use."""

    def __init__(self, *, threads: int = 1, min_score: float = 0.5) -> None:
        self.threads = threads
        self.min_score = min_score
        self._local = threading.local()
        grid = (np.arange(_GRID, dtype=np.float32) + 0.5) / _GRID * INPUT_SIZE
        xs, ys = np.meshgrid(grid, grid)
        self._anchors = np.stack([xs.ravel(), ys.ravel()], axis=1)

    def _interpreter(self) -> Interpreter:
        if not hasattr(self._local, "net"):
            net = Interpreter(model_path=str(model_path(MODEL_FILE)), num_threads=self.threads)
            net.allocate_tensors()
            self._local.net = net
        return self._local.net

    def propose(self, image: np.ndarray) -> list[Proposal]:
        """Face proposals in an ``(H, W, 3)`` uint8 RGB image, best score first, overlaps suppressed."""
        height, width = image.shape[:2]
        scores, boxes = [], []
        for side in tile_sides(width, height):
            scale = INPUT_SIZE / side
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            for top in _starts(size[1], INPUT_SIZE):
                for left in _starts(size[0], INPUT_SIZE):
                    tile_scores, tile_boxes = self._run(scaled[top : top + INPUT_SIZE, left : left + INPUT_SIZE])
                    scores.append(tile_scores)
                    boxes.append((tile_boxes + np.array([left, top, left, top])) / scale)
        return _suppress(np.concatenate(scores), np.concatenate(boxes))

    def _run(self, tile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores ``(n,)`` and boxes ``(n, 4)`` (pixels of ``tile``, at most 192 × 192) above ``min_score``."""
        net = self._interpreter()
        tensor = np.full((1, INPUT_SIZE, INPUT_SIZE, 3), -1.0, dtype=np.float32)
        tensor[0, : tile.shape[0], : tile.shape[1]] = tile / 127.5 - 1.0
        net.set_tensor(net.get_input_details()[0]["index"], tensor)
        net.invoke()
        regressors, logits = (net.get_tensor(detail["index"])[0] for detail in net.get_output_details())
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0], -80.0, 80.0)))
        keep = scores >= self.min_score
        centres = regressors[keep, :2] + self._anchors[keep]
        halves = regressors[keep, 2:4] / 2
        return scores[keep], np.hstack([centres - halves, centres + halves])


def _suppress(scores: np.ndarray, boxes: np.ndarray) -> list[Proposal]:
    """Greedy non-maximum suppression at ``_SUPPRESSION_IOU``, best score first."""
    kept: list[Proposal] = []
    for row in np.argsort(-scores, kind="stable"):
        box = tuple(float(value) for value in boxes[row])
        if all(overlap(box, other.box) < _SUPPRESSION_IOU for other in kept):
            kept.append(Proposal(box=box, score=float(scores[row])))
    return kept

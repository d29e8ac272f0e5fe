"""MediaPipe Face Mesh (468 points) and Iris landmarks, run with ``ai-edge-litert``.

Models: ``face_landmark.tflite`` and ``iris_landmark.tflite`` from the ``mediapipe==0.10.14``
wheel (Apache-2.0; Kartynnik et al., "Real-time Facial Surface Geometry from Monocular Video on
Mobile GPUs", 2019, and Ablavatski et al., "Real-time Pupil Tracking from Monocular Video for
Digital Puppetry", 2020). The region of interest is built as MediaPipe's own graphs build it:

- face: a square 1.5× the larger side of the face box the 68 landmarks set (``DetectedFace.landmark_box``,
  the detector's box in face model 1.0), centred on it and rotated so the
  eyes (from the 68-point landmarks) are level, resampled to 192×192 RGB in [0, 1];
- iris: for each eye, a square 2.3× the eye-corner distance of the mesh, centred between the
  corners and rotated with them, resampled to 64×64 RGB in [0, 1]; the image-right eye is mirrored,
  as the model was trained on the image-left eye.

All returned points are ``(x, y)`` pixels of the input image (mesh points also carry ``z`` in the
same pixel scale, smaller toward the camera).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from ..analyzer import DetectedFace
from .model_files import model_path

_FACE_SIZE = 192
_IRIS_SIZE = 64
_FACE_SCALE = 1.5
_IRIS_SCALE = 2.3
IMAGE_LEFT_EYE_CORNERS = (33, 133)
"""Mesh indices of the outer and inner corners of the eye on the image's left (the person's right)."""
IMAGE_RIGHT_EYE_CORNERS = (263, 362)
"""Mesh indices of the outer and inner corners of the eye on the image's right."""


@dataclass(frozen=True)
class FaceMesh:
    """Mesh and iris output for one face.

    ``points``: ``(468, 3)`` pixels. ``presence``: 0–1 probability from the mesh model that the ROI
    holds a face. ``iris_left``/``iris_right``: ``(5, 2)`` pixels for the iris on the image's
    left/right (centre first, then four points on the iris edge). The iris model's 71 eye-contour
    points are not kept: nothing here uses them.
    """

    points: np.ndarray
    presence: float
    iris_left: np.ndarray
    iris_right: np.ndarray


def _affine(center: np.ndarray, size: float, angle: float, out: int, mirror: bool = False) -> np.ndarray:
    """2×3 matrix mapping image pixels into an ``out``×``out`` crop of side ``size`` rotated by ``angle`` (rad)."""
    cos, sin = np.cos(angle), np.sin(angle)
    scale = out / size
    flip = -1.0 if mirror else 1.0
    rotation = np.array([[cos * flip, sin * flip], [-sin, cos]]) * scale
    offset = np.array([out / 2.0, out / 2.0]) - rotation @ center
    return np.hstack([rotation, offset[:, None]])


def _to_image(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map crop pixels back to image pixels with the inverse of ``matrix``."""
    inverse = cv2.invertAffineTransform(matrix)
    return points[:, :2] @ inverse[:, :2].T + inverse[:, 2]


def _crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return (crop.astype(np.float32) / 255.0)[None]


class MeshModel:
    """Runs the two TFLite models; one interpreter pair per thread (interpreters are not re-entrant)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _interpreters(self) -> tuple[Interpreter, Interpreter]:
        local = self._local
        if not hasattr(local, "face"):
            local.face = Interpreter(model_path=str(model_path("face_landmark.tflite")), num_threads=1)
            local.iris = Interpreter(model_path=str(model_path("iris_landmark.tflite")), num_threads=1)
            local.face.allocate_tensors()
            local.iris.allocate_tensors()
        return local.face, local.iris

    def analyze(self, image: np.ndarray, face: DetectedFace) -> FaceMesh:
        """Mesh and irises for ``face`` in an ``(H, W, 3)`` uint8 RGB image."""
        face_net, iris_net = self._interpreters()
        left, top, right, bottom = face.landmark_box
        center = np.array([(left + right) / 2.0, (top + bottom) / 2.0])
        eyes = face.landmarks[36:42].mean(axis=0), face.landmarks[42:48].mean(axis=0)
        angle = float(np.arctan2(eyes[1][1] - eyes[0][1], eyes[1][0] - eyes[0][0]))
        matrix = _affine(center, _FACE_SCALE * max(right - left, bottom - top), angle, _FACE_SIZE)
        outputs = _invoke(face_net, _crop(image, matrix, _FACE_SIZE))
        raw = outputs[0].reshape(468, 3)
        presence = float(1.0 / (1.0 + np.exp(-outputs[1].ravel()[0])))
        scale = np.linalg.norm(cv2.invertAffineTransform(matrix)[:, 0])
        points = np.hstack([_to_image(matrix, raw), raw[:, 2:] * scale])
        iris_left = self._iris(iris_net, image, points, IMAGE_LEFT_EYE_CORNERS, mirror=False)
        iris_right = self._iris(iris_net, image, points, IMAGE_RIGHT_EYE_CORNERS, mirror=True)
        return FaceMesh(points, presence, iris_left, iris_right)

    @staticmethod
    def _iris(
        net: Interpreter, image: np.ndarray, points: np.ndarray, corners: tuple[int, int], mirror: bool
    ) -> np.ndarray:
        """``(5, 2)`` iris points in image pixels for the eye between mesh ``corners``."""
        a, b = points[corners[0], :2], points[corners[1], :2]
        first, second = (b, a) if mirror else (a, b)
        angle = float(np.arctan2(second[1] - first[1], second[0] - first[0]))
        matrix = _affine((a + b) / 2.0, _IRIS_SCALE * float(np.linalg.norm(b - a)), angle, _IRIS_SIZE, mirror)
        _, iris = _invoke(net, _crop(image, matrix, _IRIS_SIZE))
        return _to_image(matrix, iris.reshape(5, 3))


def _invoke(net: Interpreter, tensor: np.ndarray) -> list[np.ndarray]:
    net.set_tensor(net.get_input_details()[0]["index"], tensor)
    net.invoke()
    return [net.get_tensor(detail["index"]).copy() for detail in net.get_output_details()]

"""Head pose (roll, yaw, pitch in degrees) from 68 landmarks by a perspective-n-point fit.

Six landmarks are matched to a generic 3-D face (millimetres, nose tip at the origin, x to the
image's right, y up, z toward the camera; the model used in Mallick's "Head Pose Estimation using
OpenCV and Dlib", 2016) and solved with OpenCV's ``solvePnP`` (iterative Levenberg–Marquardt)
for a pinhole camera whose focal length is the image width and whose centre is the image centre.

Signs follow Rekognition: ``Yaw`` is positive when the face turns toward the image's right,
``Pitch`` positive when it tilts up, ``Roll`` positive when it rotates clockwise in the image.
"""

from __future__ import annotations

import cv2
import numpy as np

_MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),  # nose tip (30)
        (0.0, -330.0, -65.0),  # chin (8)
        (-225.0, 170.0, -135.0),  # outer corner of the image-left eye (36)
        (225.0, 170.0, -135.0),  # outer corner of the image-right eye (45)
        (-150.0, -150.0, -125.0),  # image-left mouth corner (48)
        (150.0, -150.0, -125.0),  # image-right mouth corner (54)
    ],
    dtype=np.float64,
)
_LANDMARK_INDICES = [30, 8, 36, 45, 48, 54]


def head_pose(points: np.ndarray, image_width: int, image_height: int) -> tuple[float, float, float]:
    """Return ``(roll, yaw, pitch)`` in degrees, each in [-180, 180], for a ``(68, 2)`` pixel array."""
    image_points = points[_LANDMARK_INDICES].astype(np.float64)
    focal = float(image_width)
    camera = np.array([[focal, 0, image_width / 2], [0, focal, image_height / 2], [0, 0, 1]], dtype=np.float64)
    # The image's y axis points down while the model's points up: flip the model to match.
    model = _MODEL_POINTS * np.array([1.0, -1.0, -1.0])
    # Start from a frontal face in front of the camera, at the distance its eye span implies, so
    # the iterative solver does not settle on the mirrored solution behind the camera.
    eye_span = float(np.linalg.norm(image_points[3] - image_points[2])) or 1.0
    start_rotation = np.zeros((3, 1))
    start_translation = np.array([[0.0], [0.0], [focal * 450.0 / eye_span]])
    ok, rotation_vector, _ = cv2.solvePnP(
        model,
        image_points,
        camera,
        None,
        start_rotation,
        start_translation,
        useExtrinsicGuess=True,
        flags=cv2.SOLVEPNP_ITERATIVE,
    )
    if not ok:
        return 0.0, 0.0, 0.0
    rotation, _ = cv2.Rodrigues(rotation_vector)
    # Decompose R = Rz(roll) @ Ry(yaw) @ Rx(pitch) in the camera frame (x right, y down, z forward).
    yaw = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return float(roll), float(-yaw), float(-pitch)

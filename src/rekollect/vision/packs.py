"""The face model packs one server holds, by ``FaceModelVersion``.

As on AWS ("Model versioning" in the Rekognition Developer Guide), a collection keeps the face
model it was created with: its faces are indexed, searched and grouped into users with that
model's detector, embedding and ``Similarity`` map, while new collections get the current default,
and operations without a collection (DetectFaces, CompareFaces) use the default. Version strings
are number-like, as AWS's are ("1.0", "2.0", "2.1"); collections written before versions were
numbered carry ``rekollect-dlib-resnet-v1``, which names the same pack as ``1.0``. To move a
collection to a model with other networks, index its images again into a new collection (AWS's
answer too); 2.1 shares 2.0's networks, so ``rekollect collection upgrade`` moves a 2.0 collection
to 2.1 in place (``UPGRADES``).
"""

from __future__ import annotations

from ..errors import InvalidParameterException
from .analyzer import FaceAnalyzer

LEGACY_VERSIONS = {"rekollect-dlib-resnet-v1": "1.0"}
"""Version strings stored by earlier releases, and the version each one is."""

UPGRADES = {"2.0": "2.1"}
"""Versions whose stored face vectors a newer version reads as they are (the same networks): a
collection moves from the key to the value by recomputing its user vectors only."""


class ModelPacks:
    """Packs by version. ``default`` is the version new collections get."""

    def __init__(self, packs: list[FaceAnalyzer], default: str) -> None:
        self._packs = {pack.model_version: pack for pack in packs}
        if default not in self._packs:
            raise ValueError(f"default face model {default} is not among {sorted(self._packs)}")
        self.default = self._packs[default]

    @staticmethod
    def canonical(version: str) -> str:
        """The number-like version for a stored version string (old strings mapped, others as they are)."""
        return LEGACY_VERSIONS.get(version, version)

    def get(self, version: str) -> FaceAnalyzer:
        """The pack of a (stored) version string; ``InvalidParameterException`` if none is loaded."""
        pack = self._packs.get(self.canonical(version))
        if pack is None:
            raise InvalidParameterException(
                f"Face model version {version} is not available on this server (it has {', '.join(sorted(self._packs))})"
            )
        return pack

    @property
    def versions(self) -> list[str]:
        """The versions held, sorted."""
        return sorted(self._packs)

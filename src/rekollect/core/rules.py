"""The rules every stored face, user and vector obeys, whichever door it comes through.

One set of checks for the API's write paths (IndexFaces, AssociateFaces / DisassociateFaces),
``rekollect collection import``, and the vectors the index takes from the store (rows another
process or node wrote, or that were planted in the database) and from its snapshots:

- **Vectors** (``VectorRule``): finite, of the face model's length, and of the norm the model
  produces. Each face model pack declares its ``embedding_size``, ``embedding_norm`` (the range
  of Euclidean norms of its face vectors, tolerance included) and ``user_vector_norm`` (that of the
  user vectors it makes: for a plain mean, at most the longest face's; ``vision/analyzer.py``), so
  a new pack brings its own rule. A vector that breaks its rule
  never reaches FAISS or the exact index: FAISS answers every search of an IVF holding a NaN or
  an infinity with an error, and aborts the process on a vector whose squared norm overflows.
- **Faces** (``face_problem``): the API's own ``Face`` shape from botocore's Rekognition model
  (UUID ``FaceId`` and ``ImageId``; ``ExternalImageId`` and ``UserId`` patterns and lengths;
  ``Confidence`` a finite ``Percent``, 0–100; ``IndexFacesModelVersion``), a ``BoundingBox`` inside
  ``BOX_LIMITS``, and the embedding's ``VectorRule``.
- **Tags, ids, times**: ``TagMap``, ``UserId`` and ``CollectionId`` by the model's shapes;
  ``CreationTimestamp`` from the Unix epoch to now (a collection is not created in the future;
  ``CLOCK_SKEW`` of margin).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import InvalidParameterException
from ..storage.base import FaceRecord, MetadataStore
from ..vision.packs import ModelPacks
from ..wire.service_model import rekognition_model
from ..wire.validation import parse_request

BOX_LIMITS = {"Width": (0.0, 2.0), "Height": (0.0, 2.0), "Left": (-1.0, 1.0), "Top": (-1.0, 1.0)}
"""``BoundingBox`` ranges: ratios of the image (AWS: "can be negative or greater than 1" for a face
cut by an edge). A box must overlap the image (``Left + Width > 0``, ``Top + Height > 0``,
``Left < 1``, ``Top < 1``), be at most twice its size in each direction, and have a positive size."""

MAX_FACES_PER_IMAGE = 100
"""AWS: "IndexFaces returns no more than 100 detected faces in an image, even if you specify a larger
value for MaxFaces" (the others are ``UnindexedFaces``, ``EXCEEDS_MAX_FACES``); so no image has more."""

CLOCK_SKEW = dt.timedelta(days=1)
"""How far past this machine's clock a ``CreationTimestamp`` may be (another machine's clock)."""

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class EmbeddingPack(Protocol):
    """What a face model pack declares about its vectors (``vision.analyzer.FaceAnalyzer``)."""

    embedding_size: int
    embedding_norm: tuple[float, float]
    user_vector_norm: tuple[float, float]


@dataclass(frozen=True)
class VectorRule:
    """The vectors of one face model: ``size`` float32 values; a face vector's Euclidean norm in
    ``norm``, a user vector's in ``user_norm`` (inclusive)."""

    size: int
    norm: tuple[float, float]
    user_norm: tuple[float, float]

    @classmethod
    def of(cls, pack: EmbeddingPack) -> VectorRule:
        """The rule a face model pack declares."""
        return cls(pack.embedding_size, tuple(pack.embedding_norm), tuple(pack.user_vector_norm))  # type: ignore[arg-type]

    def _range(self, kind: str) -> tuple[float, float]:
        return self.norm if kind == "faces" else self.user_norm

    def problem(self, vector: Any, kind: str = "faces") -> str | None:
        """Why the ``(d,)`` ``vector`` of a face (``kind`` ``faces``) or user (``users``) breaks the
        rule, or ``None``."""
        return self.problems(np.asarray(vector, dtype=np.float32).reshape(1, -1), kind)[0]

    def usable(self, vectors: np.ndarray, kind: str = "faces") -> np.ndarray:
        """``(n,)`` bool: which rows of the ``(n, d)`` ``vectors`` follow the rule (vectorised)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.size:
            return np.zeros(len(vectors), dtype=bool)
        with np.errstate(over="ignore", invalid="ignore"):  # NaN, infinity or overflow: a norm no range holds
            norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
        low, high = self._range(kind)
        return (norms >= low) & (norms <= high)

    def usable_each(self, vectors: list[np.ndarray], kind: str = "faces") -> list[bool]:
        """``usable`` for a list of ``(d,)`` vectors that may differ in length."""
        if all(len(vector) == self.size for vector in vectors) and vectors:
            return self.usable(np.stack(vectors), kind).tolist()
        return [self.problem(vector, kind) is None for vector in vectors]

    def problems(self, vectors: np.ndarray, kind: str = "faces") -> list[str | None]:
        """``problem`` for each row of the ``(n, d)`` ``vectors``."""
        vectors = np.asarray(vectors)
        usable = self.usable(vectors, kind)
        if usable.all():
            return [None] * len(vectors)
        if vectors.ndim != 2 or vectors.shape[1] != self.size:
            width = vectors.shape[-1] if vectors.ndim else 0
            return [f"a vector of {width} values where the face model's have {self.size}"] * len(vectors)
        norms = self._norms(vectors)
        low, high = self._range(kind)
        return [
            None
            if ok
            else "a vector with a NaN or infinite value"
            if not np.isfinite(row).all()
            else f"a vector of norm {norm:.6g} where the face model's {kind} have norms in [{low:g}, {high:g}]"
            for ok, row, norm in zip(usable.tolist(), vectors, norms.tolist(), strict=True)
        ]

    @staticmethod
    def _norms(vectors: np.ndarray) -> np.ndarray:
        """Euclidean norms of the rows, in float64 (so the message says 1.6e31 for 1e30 values, not inf)."""
        wide = vectors.astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.sqrt(np.einsum("ij,ij->i", wide, wide))


def space_rules(store: MetadataStore, packs: ModelPacks) -> Callable[[str], VectorRule | None]:
    """The rule of an index space (``faces/<CollectionId>``, ``users/<CollectionId>``): that of its
    collection's face model, or ``None`` when the collection is gone or its model is not held here
    (then the space cannot be searched on this server)."""

    def rule(space: str) -> VectorRule | None:
        record = store.get_collection(space.partition("/")[2])
        if record is None:
            return None
        try:
            return VectorRule.of(packs.get(record.face_model_version))
        except InvalidParameterException:
            return None

    return rule


def shape_problem(shape: str, value: Any, name: str | None = None) -> str | None:
    """Why ``value`` breaks botocore's Rekognition shape ``shape`` (the API's own validation
    message, naming the member as ``name``, default the shape's name, and the constraint), or ``None``."""
    name = name or shape
    try:
        parse_request(_Wrapped(name, rekognition_model().shape_for(shape)), {name: value})
    except InvalidParameterException as error:
        return error.message
    return None


class _Wrapped:
    """A structure shape whose one required member ``name`` is ``shape``, so ``parse_request`` checks a lone value."""

    type_name = "structure"

    def __init__(self, name: str, shape: Any) -> None:
        self.members = {name: shape}
        self.required_members = [name]


def face_problem(record: FaceRecord, rule: VectorRule, model_version: str) -> str | None:
    """Why ``record`` may not be stored in a collection of face model ``model_version`` whose
    vectors follow ``rule``, or ``None`` (see the module docstring)."""
    width, height, left, top = record.box
    member = {
        "FaceId": record.face_id,
        "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
        "ImageId": record.image_id,
        "ExternalImageId": record.external_image_id,
        "Confidence": record.confidence,
        "IndexFacesModelVersion": record.model_version,
        "UserId": record.user_id,
    }
    problem = shape_problem("Face", member)
    if problem is not None:
        return problem
    if not record.face_id or not record.image_id:
        return "a face needs a FaceId and an ImageId"
    problem = box_problem(member["BoundingBox"])
    if problem is not None:
        return problem
    if record.model_version != model_version:
        return f"IndexFacesModelVersion {record.model_version}, its collection's is {model_version}"
    problem = rule.problem(record.embedding)
    return None if problem is None else f"Embedding: {problem}"


def box_problem(box: dict[str, float]) -> str | None:
    """Why a ``BoundingBox`` (finite floats, as the shape requires) breaks ``BOX_LIMITS``, or ``None``."""
    for name, (low, high) in BOX_LIMITS.items():
        value = box[name]
        if not (math.isfinite(value) and low <= value <= high):
            return f"BoundingBox.{name} {value!r} is outside [{low:g}, {high:g}]"
    if box["Width"] <= 0 or box["Height"] <= 0:
        return "BoundingBox has no area"
    if box["Left"] + box["Width"] <= 0 or box["Top"] + box["Height"] <= 0 or box["Left"] >= 1 or box["Top"] >= 1:
        return "BoundingBox does not overlap the image"
    return None


def created_problem(created: dt.datetime) -> str | None:
    """Why a collection's ``CreationTimestamp`` is out of range (before 1970 or in the future), or ``None``."""
    if created.tzinfo is None:
        return "CreationTimestamp has no UTC offset"
    if not EPOCH <= created <= dt.datetime.now(dt.UTC) + CLOCK_SKEW:
        return f"CreationTimestamp {created.isoformat()} is before 1970 or in the future"
    return None

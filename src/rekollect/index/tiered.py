"""``VectorIndex`` that searches exactly while a space is small and through FAISS IVF beyond that.

Per space, every vector lives in a float32 slot (blocks of 65,536 ``(d,)`` rows, so growing never
copies); a key owns one slot, and a removed key's slot is marked dead (see below for compaction).
A space with fewer than ``max(ann_threshold, 256)`` live vectors is
searched exhaustively. From there on, a FAISS IVF with 4-bit product-quantized codes scanned by
SIMD ("fast scan": ``IVF<nlist>,PQ<d/2>x4fs``, 32 bytes per 128-d vector, inverted lists keyed by
slot number; Jégou et al., "Product quantization for nearest neighbor search", 2011; André et al.,
"Quicker ADC", 2019) proposes ``max(rerank, 2k)`` candidates, and their distances are recomputed
from the float32 slots with exactly the formula of the exhaustive path, so a returned distance
(hence ``Similarity``) is exact and only the candidate set is approximate.

The IVF is trained (k-means and PQ on up to 40 vectors per list) when a space reaches the
threshold, and again from scratch whenever it has grown ``retrain_growth`` times past its training
size, with ``nlist ≈ 4·√n`` lists (a power of two) of which ``nlist / probe_divisor`` are scanned
per search; it is dropped when the space shrinks below half the threshold. Training happens inside
the ``add`` that crosses the size (about 20 s at 1 M vectors on 2 cores). A removed key's slot is
dead at once, so it is never returned; its code stays in the IVF (FAISS's ``remove_ids`` on
fast-scan lists lost vectors added afterwards in our tests) until dead slots exceed 1/8 of the
live ones, when the slots are compacted and the IVF refilled (seconds at 1 M).

Persistence: ``save_space`` / ``load_space``, one file per space (layout in ``save_space``).
"""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path

import faiss
import numpy as np

DEFAULT_ANN_THRESHOLD = 20_000
"""Live vectors in a space from which searches go through the IVF (exhaustive below)."""


_BLOCK_BITS = 16
_BLOCK = 1 << _BLOCK_BITS
"""Slots per storage block: vectors live in fixed ``(65536, d)`` blocks, so growing never copies them."""

_MAGIC = b"RKIX1\n"


_MIN_ANN = 256
"""Fewest live vectors an IVF is trained on (k-means and 4-bit PQ need a few points per centroid)."""


class _Space:
    """Slots of one space; a dead slot has ``keys[slot] is None`` and ``alive[slot] == False``
    (and may still have a code in ``ann``)."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.blocks: list[np.ndarray] = []
        self.alive = np.zeros(0, dtype=bool)
        self.keys: list[str | None] = []
        self.rows: dict[str, int] = {}
        self.ann: faiss.IndexIVF | None = None
        self.trained_size = 0

    @property
    def used(self) -> int:
        return len(self.keys)

    def append(self, keys: list[str], vectors: np.ndarray) -> np.ndarray:
        """Put ``(n, d)`` ``vectors`` in new slots; returns their ``(n,)`` int64 slot numbers."""
        start, end = self.used, self.used + len(keys)
        while len(self.blocks) * _BLOCK < end:
            self.blocks.append(np.zeros((_BLOCK, self.dimension), dtype=np.float32))
        position = start
        while position < end:
            block, offset = divmod(position, _BLOCK)
            take = min(_BLOCK - offset, end - position)
            self.blocks[block][offset : offset + take] = vectors[position - start : position - start + take]
            position += take
        if end > len(self.alive):
            self.alive = np.concatenate([self.alive, np.zeros(max(end, 2 * len(self.alive)) - len(self.alive), bool)])
        self.alive[start:end] = True
        self.keys.extend(keys)
        self.rows.update({key: start + offset for offset, key in enumerate(keys)})
        return np.arange(start, end, dtype=np.int64)

    def vector(self, slot: int) -> np.ndarray:
        """The ``(d,)`` vector in ``slot`` (a view)."""
        return self.blocks[slot >> _BLOCK_BITS][slot % _BLOCK]

    def gather(self, slots: np.ndarray) -> np.ndarray:
        """The ``(len(slots), d)`` vectors in ``slots``."""
        if not len(slots):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.vector(int(slot)) for slot in slots])

    def chunks(self, used: int | None = None) -> list[np.ndarray]:
        """The vectors of slots ``0..used-1`` as consecutive block views."""
        used = self.used if used is None else used
        return [
            block[: min(_BLOCK, used - number * _BLOCK)]
            for number, block in enumerate(self.blocks)
            if number * _BLOCK < used
        ]

    def live_slots(self) -> np.ndarray:
        """Slot numbers of live keys, ascending."""
        return np.flatnonzero(self.alive[: self.used])


class TieredIndex:
    """Exact below ``ann_threshold`` live vectors per space, IVF with exact re-ranking above; thread-safe.

    ``rerank`` is the least number of IVF candidates re-ranked exactly per search.
    """

    def __init__(
        self,
        *,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        rerank: int = 100,
        probe_divisor: int = 8,
        retrain_growth: float = 4.0,
    ) -> None:
        self.ann_threshold = ann_threshold
        self.rerank = rerank
        self.probe_divisor = probe_divisor
        self.retrain_growth = retrain_growth
        self._spaces: dict[str, _Space] = {}
        self._lock = threading.Lock()

    # VectorIndex

    def add(self, space: str, keys: list[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), -1)
        with self._lock:
            entry = self._spaces.setdefault(space, _Space(vectors.shape[1]))
            self._remove_keys(entry, [key for key in keys if key in entry.rows])
            slots = entry.append(keys, vectors)
            if entry.ann is not None:
                entry.ann.add_with_ids(vectors, slots)
            self._maintain(entry)

    def remove(self, space: str, keys: list[str]) -> None:
        with self._lock:
            entry = self._spaces.get(space)
            if entry is not None:
                self._remove_keys(entry, [key for key in keys if key in entry.rows])
                self._maintain(entry)

    def drop(self, space: str) -> None:
        with self._lock:
            self._spaces.pop(space, None)

    def get(self, space: str, key: str) -> np.ndarray | None:
        with self._lock:
            entry = self._spaces.get(space)
            if entry is None or key not in entry.rows:
                return None
            return entry.vector(entry.rows[key]).copy()

    def search(self, space: str, query: np.ndarray, k: int, max_distance: float) -> list[tuple[str, float]]:
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        with self._lock:
            entry = self._spaces.get(space)
            if entry is None or not entry.rows or k <= 0:
                return []
            if entry.ann is None:
                slots = np.arange(entry.used)
                distances = np.concatenate([np.linalg.norm(chunk - query, axis=1) for chunk in entry.chunks()])
            else:
                entry.ann.nprobe = max(1, entry.ann.nlist // self.probe_divisor)
                wanted = max(self.rerank, 2 * k)
                dead = entry.used - len(entry.rows)  # still in the IVF: ask for proportionally more
                _, found = entry.ann.search(query, wanted + wanted * dead // len(entry.rows))
                slots = np.sort(found[0][found[0] >= 0])
                distances = np.linalg.norm(entry.gather(slots) - query, axis=1)
            distances[~entry.alive[slots]] = np.inf
            order = np.argsort(distances, kind="stable")[:k]
            return [
                (key, float(distances[row]))
                for row in order
                if distances[row] <= max_distance and (key := entry.keys[slots[row]]) is not None
            ]

    # Introspection and persistence

    def size(self, space: str) -> int:
        """Live vectors in ``space``."""
        with self._lock:
            entry = self._spaces.get(space)
            return 0 if entry is None else len(entry.rows)

    def uses_ann(self, space: str) -> bool:
        """Whether searches in ``space`` go through the IVF."""
        with self._lock:
            entry = self._spaces.get(space)
            return entry is not None and entry.ann is not None

    def spaces(self) -> list[str]:
        """Names of the spaces holding vectors."""
        with self._lock:
            return [name for name, entry in self._spaces.items() if entry.rows]

    def save_space(self, space: str, path: Path) -> bool:
        """Write ``space`` to ``path`` (temporary file, fsync, rename); ``False`` if it is empty.

        File layout: ``RKIX1\\n``, an 8-byte little-endian header length, a JSON header (space,
        dimension, count, trained_size, keys_bytes, ann_bytes), the keys joined by ``\\n`` in
        UTF-8, the serialized FAISS IVF (absent below the threshold), then ``count × dimension``
        little-endian float32 vectors, slot order.
        """
        with self._lock:
            entry = self._spaces.get(space)
            if entry is None or not entry.rows:
                return False
            self._compact(entry)
            keys = "\n".join(entry.keys).encode()  # type: ignore[arg-type]
            ann = b"" if entry.ann is None else faiss.serialize_index(entry.ann).tobytes()
            header = json.dumps(
                {
                    "space": space,
                    "dimension": entry.dimension,
                    "count": entry.used,
                    "trained_size": entry.trained_size,
                    "keys_bytes": len(keys),
                    "ann_bytes": len(ann),
                }
            ).encode()
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(temporary, "wb") as handle:
                handle.write(_MAGIC + len(header).to_bytes(8, "little") + header + keys + ann)
                for chunk in entry.chunks():
                    handle.write(chunk.astype("<f4", copy=False).tobytes())
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
        return True

    def load_space(self, path: Path) -> str:
        """Replace the space saved in ``path`` (by ``save_space``) with its content; returns its name.

        Raises ``OSError`` or ``ValueError`` for an unreadable, truncated or inconsistent file.
        """
        with open(path, "rb") as handle:
            if handle.read(len(_MAGIC)) != _MAGIC:
                raise ValueError(f"{path}: not a saved index space")
            size = os.fstat(handle.fileno()).st_size
            header_bytes = int.from_bytes(handle.read(8), "little")
            if header_bytes > min(size, 1 << 20):
                raise ValueError(f"{path}: bad header length")
            header = json.loads(handle.read(header_bytes))
            count, dimension = int(header["count"]), int(header["dimension"])
            expected = handle.tell() + header["keys_bytes"] + header["ann_bytes"] + 4 * count * dimension
            if expected != size or dimension < 1:
                raise ValueError(f"{path}: {size} bytes where the header describes {expected}")
            keys = handle.read(header["keys_bytes"]).decode().split("\n")
            ann_bytes = handle.read(header["ann_bytes"])
            entry = _Space(dimension)
            for first in range(0, count, _BLOCK):
                rows = min(_BLOCK, count - first)
                vectors = np.fromfile(handle, dtype="<f4", count=rows * dimension)
                if len(vectors) != rows * dimension:
                    raise ValueError(f"{path}: truncated")
                entry.append(keys[first : first + rows], vectors.reshape(rows, dimension))
        if len(keys) != count or len(entry.rows) != count:
            raise ValueError(f"{path}: keys and vectors disagree")
        if ann_bytes:
            entry.ann = faiss.deserialize_index(np.frombuffer(ann_bytes, dtype=np.uint8))
            if entry.ann.ntotal != count:
                raise ValueError(f"{path}: IVF and vectors disagree")
        entry.trained_size = int(header["trained_size"])
        with self._lock:
            self._spaces[header["space"]] = entry
        return str(header["space"])

    # Maintenance (called with the lock held)

    def _remove_keys(self, entry: _Space, keys: list[str]) -> None:
        if not keys:
            return
        slots = np.array([entry.rows.pop(key) for key in keys], dtype=np.int64)
        for slot in slots:
            entry.keys[slot] = None
        entry.alive[slots] = False

    def _maintain(self, entry: _Space) -> None:
        """Compact, train, retrain or drop the IVF as the space's size demands."""
        live = len(entry.rows)
        if entry.used - live > max(live // 8 if entry.ann is not None else live, 1024):
            self._compact(entry)
        threshold = max(self.ann_threshold, _MIN_ANN)
        if live < threshold // 2:
            entry.ann, entry.trained_size = None, 0
        elif (entry.ann is None and live >= threshold) or (
            entry.ann is not None and live > self.retrain_growth * entry.trained_size
        ):
            self._train(entry)

    def _compact(self, entry: _Space) -> None:
        """Renumber the live slots ``0..n-1`` (the IVF is re-filled with the new numbers)."""
        if len(entry.rows) == entry.used:
            return
        slots = entry.live_slots()
        fresh = _Space(entry.dimension)
        for first in range(0, len(slots), _BLOCK):
            part = slots[first : first + _BLOCK]
            fresh.append([entry.keys[slot] for slot in part], entry.gather(part))  # type: ignore[misc]
        fresh.ann, fresh.trained_size = entry.ann, entry.trained_size
        if fresh.ann is not None:
            fresh.ann.reset()
            for first, chunk in zip(range(0, fresh.used, _BLOCK), fresh.chunks(), strict=True):
                fresh.ann.add_with_ids(chunk, np.arange(first, first + len(chunk), dtype=np.int64))
        entry.__dict__.update(fresh.__dict__)

    def _train(self, entry: _Space) -> None:
        """Train a new IVF (``nlist ≈ 4·√n``, a power of two) on the live vectors and fill it."""
        self._compact(entry)
        live = len(entry.rows)
        nlist = 1 << max(4, round(math.log2(4 * math.sqrt(live))))
        ann = faiss.index_factory(entry.dimension, f"IVF{nlist},PQ{entry.dimension // 2}x4fs", faiss.METRIC_L2)
        sample = np.sort(np.random.default_rng(0).choice(live, size=min(live, 40 * nlist), replace=False))
        ann.train(entry.gather(sample))
        for first, chunk in zip(range(0, live, _BLOCK), entry.chunks(), strict=True):
            ann.add_with_ids(chunk, np.arange(first, first + len(chunk), dtype=np.int64))
        entry.ann, entry.trained_size = ann, live

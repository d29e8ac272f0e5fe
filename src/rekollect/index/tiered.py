"""``VectorIndex`` that searches exactly while a space is small and through a FAISS IVF beyond that.

Per space, every vector lives in a float32 slot (blocks of 65,536 ``(d,)`` rows, so growing never
copies); a key owns one slot, and a removed key's slot is marked dead (see below for compaction).
A space with fewer than ``max(ann_threshold, 256)`` live vectors is searched exhaustively. From
there on, a FAISS IVF with 4-bit product-quantized codes scanned by SIMD ("fast scan":
``IVF<nlist>,PQ<d/2>x4fs``, 32 bytes per 128-d vector, inverted lists keyed by slot number; Jégou
et al., "Product quantization for nearest neighbor search", 2011; André et al., "Quicker ADC",
2019) proposes candidates, and their distances are recomputed from the float32 slots with the
exhaustive path's formula (bit for bit ``np.linalg.norm``'s, as in ``ExactIndex``), so a returned
distance (hence ``Similarity``) is exact and only the candidate set is approximate.

Search (``TieredIndex`` parameters): the ``probe_fraction · nlist`` lists whose centroids are
nearest the query (default 0.375), or more in a space small enough that they would hold fewer than
``min_scanned`` codes (default 250,000: as many lists as hold that many, all of them below it;
scanning every list of a 100 k space costs no more than 37.5 % of them, 0.7 ms, and lifts its
recall@10 from 0.987 to 0.9995), are dealt round-robin into ``search_threads`` parts (default:
the cores this process may use, at most 4); each part is scanned by FAISS's ``search_preassigned``
in its own thread for its equal share of ``max(rerank, 2k)`` candidates (``rerank`` default
1000), which that thread then re-ranks exactly; the parts' results are merged. FAISS releases the
GIL, but does not spread one query over cores by itself, hence the split. The share of
candidates, not their number, depends on the thread count, so results hardly do (recall was
identical on 1 and 2 threads in the benchmark below); ``search_threads=1`` uses no thread pool.

Why these values (``bench/search_scale.py``: 1 M synthetic faces of ``bench/synthetic.py``, 200
queries, exact ground truth; a 2-core machine shared with other work, so latencies vary by tens
of percent from run to run while recall does not): a query's 6th–10th neighbours are other
people at nearly equal distances (0.64–0.67; the 100th is at 0.70) spread over many cells, so
recall@10 is limited by how much of the partition is scanned. Scanning 25 / 30 / 37.5 / 50 % of
the lists gave recall@10 0.9785 / 0.9905 / 0.9940 / 0.9990 (512 lists, 1000 candidates; 1024
lists: 0.981 / 0.987 / 0.994 / 0.998), p50 1.5 / 1.6 / 1.7 / 1.9 ms on 2 threads and 1.8 / 2.1 /
2.2 / 2.7 ms on 1 (machine nearly idle). 37.5 % keeps recall at least 0.993 whichever list count
a 1 M space has. Tried and not better at 1 M: ``4·√n`` lists scanning 1/8 to 1/4 of them (0.96
to 0.99 at 1.9–3.4 ms on 1 thread), HNSW32 (0.984 at 3.3 ms, 336 s to build), RaBitQ,
``PQ32x4fs`` (coarser codes, no faster scan), OPQ (better codes, 280 s of training; coverage
stays the limit), 16 to 256 lists (less recall for the same share of codes scanned).

The IVF has ``nlist_for(n) = √n`` lists rounded to a power of two (at least 16), ``n`` being the
live vectors when it is trained (k-means and PQ on up to 40 vectors per list): when a space
reaches the threshold, and again from scratch whenever it has grown ``retrain_growth`` times past
its training size (so a space of 1 M has 512 or 1024 lists); it is dropped when the space shrinks
below half the threshold. Training happens inside the ``add`` that crosses the size (seconds at
1 M vectors). The share of lists scanned does not fall with ``n``, so the work per search grows
linearly: at 10 M (2048 lists, 3.75 M codes scanned) p50 was 17–18 ms on 1 or 2 threads with
the machine busy (load 3.5 on 2 cores), recall@10 0.995 (0.25 of the lists: 12–13 ms, 0.990).
Recall is targeted at 1 M only; beyond 10 M a search stays under 20 ms only if
``probe_fraction`` falls about as ``1/n`` (recall falls with it). A removed key's slot is dead at once, so
it is never returned; its code stays in the IVF (FAISS's ``remove_ids`` on fast-scan lists lost
vectors added afterwards in our tests) until dead slots exceed 1/8 of the live ones, when the
slots are compacted and the IVF refilled (seconds at 1 M); meanwhile searches ask for
proportionally more candidates.

Persistence: ``save_space`` / ``load_space``, one file per space (layout in ``save_space``), each
of its blocks (header, keys, IVF, vectors) covered by a SHA-256 that ``load_space`` checks, so a
changed byte anywhere refuses the file instead of serving a wrong vector or a lost key. Files of
earlier layouts (``RKIX1``: IVFs of ``4·√n`` lists; ``RKIX2``: no checksums) are refused too, so
the caller rebuilds the space from the store.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faiss
import numpy as np

from ..cores import available_cores

DEFAULT_ANN_THRESHOLD = 20_000
"""Live vectors in a space from which searches go through the IVF (exhaustive below)."""

DEFAULT_MIN_SCANNED = 250_000
"""Fewest codes a search scans (as many of the nearest lists as hold them), whatever the fraction."""

DEFAULT_PROBE_FRACTION = 0.375
"""Share of the IVF's lists scanned per search (see the module docstring for the measurements)."""

DEFAULT_RERANK = 1000
"""Least IVF candidates per search (shared among its parts) whose distances are recomputed exactly."""

MAX_SEARCH_THREADS = 4
"""Most threads one search is split over by default."""


def default_search_threads() -> int:
    """The cores this process may run on, at most ``MAX_SEARCH_THREADS``."""
    return max(1, min(MAX_SEARCH_THREADS, available_cores()))


_BLOCK_BITS = 16
_BLOCK = 1 << _BLOCK_BITS
"""Slots per storage block: vectors live in fixed ``(65536, d)`` blocks, so growing never copies them."""

_MAGIC = b"RKIX3\n"
_OLD_MAGICS = (b"RKIX1\n", b"RKIX2\n")
"""Earlier layouts: version 1 held IVFs of ``4·√n`` lists, searched by another rule; version 2 had
no checksums. Such a file is refused (``ValueError``), so the caller rebuilds the space from the store."""

_DIGEST_BYTES = 32
"""SHA-256 of the header, stored in front of it."""


_FAST_SCAN_IMPLEM = 11
"""FAISS fast-scan kernel: int16 distances, candidates kept in a reservoir, no query batching (for one
query and hundreds of candidates about 10 % faster than FAISS's automatic choice, same results)."""

_MIN_ANN = 256
"""Fewest live vectors an IVF is trained on (k-means and 4-bit PQ need a few points per centroid)."""


def nlist_for(size: int) -> int:
    """IVF lists for a space trained at ``size`` vectors: ``√size`` rounded to a power of two, at least 16."""
    return 1 << max(4, round(math.log2(math.sqrt(max(size, 1)))))


def _distances(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Euclidean distances from the ``(1, d)`` ``query`` to each of the ``(n, d)`` ``vectors``.

    The very operations of ``np.linalg.norm(vectors - query, axis=1)`` (``ExactIndex``'s formula,
    so distances agree bit for bit), without its copy for ``conj()``, several times faster.
    """
    difference = vectors - query
    return np.sqrt(np.add.reduce(difference * difference, axis=1))


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
        """The ``(len(slots), d)`` vectors in ``slots`` (one ``np.take`` per run of slots in one block)."""
        slots = np.asarray(slots, dtype=np.int64)
        blocks = slots >> _BLOCK_BITS
        out = np.empty((len(slots), self.dimension), dtype=np.float32)
        if len(slots) > 1 and np.any(blocks[1:] < blocks[:-1]):  # not grouped by block: group them
            order = np.argsort(blocks, kind="stable")
            out[order] = self.gather(slots[order])
            return out
        edges = [0, *(np.flatnonzero(blocks[1:] != blocks[:-1]) + 1).tolist(), len(slots)]
        for first, last in itertools.pairwise(edges):
            if last > first:
                np.take(self.blocks[blocks[first]], slots[first:last] & (_BLOCK - 1), 0, out[first:last], "clip")
        return out

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

    Above the threshold a search scans ``probe_fraction`` of the IVF's lists (those with the
    nearest centroids; more if they hold fewer than ``min_scanned`` codes), split into ``search_threads`` parts searched in parallel (default: the
    cores this process may use, at most ``MAX_SEARCH_THREADS``; 1: no thread pool); together the
    parts propose ``max(rerank, 2k)`` candidates, each its equal share, all re-ranked exactly.
    """

    def __init__(
        self,
        *,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        rerank: int = DEFAULT_RERANK,
        probe_fraction: float = DEFAULT_PROBE_FRACTION,
        min_scanned: int = DEFAULT_MIN_SCANNED,
        search_threads: int | None = None,
        retrain_growth: float = 4.0,
    ) -> None:
        if not 0 < probe_fraction <= 1:
            raise ValueError("probe_fraction must be in (0, 1]")
        self.ann_threshold = ann_threshold
        self.rerank = rerank
        self.probe_fraction = probe_fraction
        self.min_scanned = min_scanned
        self.search_threads = default_search_threads() if search_threads is None else max(1, search_threads)
        self.retrain_growth = retrain_growth
        self._spaces: dict[str, _Space] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_owner = (0, 0)

    # VectorIndex

    def add(self, space: str, keys: list[str], vectors: np.ndarray) -> None:
        """As ``VectorIndex.add``; ``ValueError`` (nothing added) for a vector of another length than
        the space's, or one that is not finite or whose squared norm overflows float32: FAISS fails
        every search of an IVF holding such a vector, or aborts the process while training on it."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), -1)
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.isfinite(np.einsum("ij,ij->i", vectors, vectors)).all():
                raise ValueError(f"{space}: a vector that is not finite, or too large to search")
        with self._lock:
            entry = self._spaces.get(space)
            if entry is not None and entry.dimension != vectors.shape[1]:
                raise ValueError(f"{space}: vectors of {vectors.shape[1]} values in a space of {entry.dimension}")
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
        query = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        with self._lock:
            entry = self._spaces.get(space)
            if entry is None or not entry.rows or k <= 0:
                return []
            if query.shape[1] != entry.dimension or not np.isfinite(query).all():
                return []  # matches nothing (and is never given to FAISS)
            if entry.ann is None:
                slots = np.arange(entry.used)
                distances = np.concatenate([_distances(chunk, query) for chunk in entry.chunks()])
            else:
                wanted = max(self.rerank, 2 * k)
                dead = entry.used - len(entry.rows)  # still in the IVF: ask for proportionally more
                slots, distances = self._ann_search(entry, query, wanted + wanted * dead // len(entry.rows))
            distances[~entry.alive[slots]] = np.inf
            order = np.argsort(distances, kind="stable")[:k]
            return [
                (key, float(distances[row]))
                for row in order
                if distances[row] <= max_distance and (key := entry.keys[slots[row]]) is not None
            ]

    def _ann_search(self, entry: _Space, query: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
        """IVF candidates for the ``(1, d)`` ``query`` and their exact distances (lock held).

        The ``probe_fraction · nlist`` lists nearest to the query are dealt round-robin into
        ``parts`` parts (each gets near and far lists alike, hence similar work and similar recall);
        each part is scanned by ``search_preassigned`` for its share of the ``wanted`` best codes
        and its candidates re-ranked exactly, the parts in parallel (FAISS and NumPy release the
        GIL). Each part's list count travels in its own ``SearchParametersIVF``, so the index's
        state (``nprobe``) is never written during a search.
        """
        ann = entry.ann
        assert ann is not None
        wanted_lists = max(ann.nlist * self.probe_fraction, ann.nlist * self.min_scanned / max(ann.ntotal, 1))
        probes = max(1, min(ann.nlist, math.ceil(wanted_lists - 1e-9)))
        parts = max(1, min(self.search_threads, probes))
        centroid_distances, lists = ann.quantizer.search(query, probes)
        wanted = min(-(-wanted // parts), ann.ntotal)  # per part

        def scan(part: int) -> tuple[np.ndarray, np.ndarray]:
            assigned = np.ascontiguousarray(lists[:, part::parts])
            assigned_distances = np.ascontiguousarray(centroid_distances[:, part::parts])
            found_distances = np.empty((1, wanted), dtype=np.float32)
            found = np.empty((1, wanted), dtype=np.int64)
            ann.search_preassigned_c(  # the wrapper without its check that assigned has ann.nprobe columns
                1,
                faiss.swig_ptr(query),
                wanted,
                faiss.swig_ptr(assigned),
                faiss.swig_ptr(assigned_distances),
                faiss.swig_ptr(found_distances),
                faiss.swig_ptr(found),
                False,
                faiss.SearchParametersIVF(nprobe=assigned.shape[1]),
            )
            slots = np.sort(found[0][found[0] >= 0])  # the parts' lists are disjoint, so no slot twice
            return slots, _distances(entry.gather(slots), query)

        if parts == 1:
            return scan(0)
        if self._pool is None or self._pool_owner != (os.getpid(), parts - 1):  # a forked child has no threads
            if self._pool is not None and self._pool_owner[0] == os.getpid():
                self._pool.shutdown(wait=False)
            self._pool = ThreadPoolExecutor(parts - 1, thread_name_prefix="ivf-search")
            self._pool_owner = (os.getpid(), parts - 1)
        futures = [self._pool.submit(scan, part) for part in range(1, parts)]
        results = [scan(0), *(future.result() for future in futures)]
        return np.concatenate([slots for slots, _ in results]), np.concatenate([near for _, near in results])

    # Introspection and persistence

    def size(self, space: str) -> int:
        """Live vectors in ``space``."""
        with self._lock:
            entry = self._spaces.get(space)
            return 0 if entry is None else len(entry.rows)

    def dimension(self, space: str) -> int | None:
        """Length of ``space``'s vectors, ``None`` if it holds none."""
        with self._lock:
            entry = self._spaces.get(space)
            return None if entry is None else entry.dimension

    def rejected_keys(self, space: str, usable: Callable[[np.ndarray], np.ndarray]) -> list[str]:
        """The live keys of ``space`` whose vectors ``usable`` rejects (it maps ``(n, d)`` rows to
        ``(n,)`` bools), read block by block without copying."""
        with self._lock:
            entry = self._spaces.get(space)
            if entry is None:
                return []
            rejected: list[str] = []
            for first, chunk in zip(range(0, entry.used, _BLOCK), entry.chunks(), strict=True):
                bad = ~np.asarray(usable(chunk), dtype=bool) & entry.alive[first : first + len(chunk)]
                rejected += [entry.keys[first + row] for row in np.flatnonzero(bad).tolist()]  # type: ignore[misc]
            return rejected

    def uses_ann(self, space: str) -> bool:
        """Whether searches in ``space`` go through the IVF."""
        with self._lock:
            entry = self._spaces.get(space)
            return entry is not None and entry.ann is not None

    def ivf_lists(self, space: str) -> int:
        """Lists of ``space``'s IVF (0 while it is searched exhaustively)."""
        with self._lock:
            entry = self._spaces.get(space)
            return 0 if entry is None or entry.ann is None else int(entry.ann.nlist)

    def memory_bytes(self) -> int:
        """Bytes held by the arrays of every space: vector blocks, liveness flags, and each IVF's
        lists (fast-scan code blocks and 8-byte ids), coarse centroids and PQ codebooks. The
        ``FaceId`` strings and the Python containers around them are not counted."""
        with self._lock:
            return sum(_space_bytes(entry) for entry in self._spaces.values())

    def spaces(self) -> list[str]:
        """Names of the spaces holding vectors."""
        with self._lock:
            return [name for name, entry in self._spaces.items() if entry.rows]

    def save_space(self, space: str, path: Path) -> bool:
        """Write ``space`` to ``path`` (temporary file, fsync, rename); ``False`` if it is empty.
        ``OSError`` if it cannot be written (no temporary file is left then).

        File layout: ``RKIX3\\n``, an 8-byte little-endian header length, the SHA-256 of the header
        (32 bytes), a JSON header (space, dimension, count, trained_size, keys_bytes, ann_bytes and
        ``sha256``: the hex SHA-256 of each following block by name), then the blocks: ``keys``
        joined by ``\\n`` in UTF-8, ``ann`` the serialized FAISS IVF (empty below the threshold),
        ``vectors`` ``count × dimension`` little-endian float32, slot order.
        """
        with self._lock:
            entry = self._spaces.get(space)
            if entry is None or not entry.rows:
                return False
            self._compact(entry)
            keys = "\n".join(entry.keys).encode()  # type: ignore[arg-type]
            ann = b"" if entry.ann is None else faiss.serialize_index(entry.ann).tobytes()
            chunks = [chunk.astype("<f4", copy=False) for chunk in entry.chunks()]
            vectors_digest = hashlib.sha256()
            for chunk in chunks:
                vectors_digest.update(chunk)
            header = json.dumps(
                {
                    "space": space,
                    "dimension": entry.dimension,
                    "count": entry.used,
                    "trained_size": entry.trained_size,
                    "keys_bytes": len(keys),
                    "ann_bytes": len(ann),
                    "sha256": {
                        "keys": hashlib.sha256(keys).hexdigest(),
                        "ann": hashlib.sha256(ann).hexdigest(),
                        "vectors": vectors_digest.hexdigest(),
                    },
                }
            ).encode()
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                with open(temporary, "wb") as handle:
                    handle.write(_MAGIC + len(header).to_bytes(8, "little") + hashlib.sha256(header).digest())
                    handle.write(header + keys + ann)
                    for chunk in chunks:
                        handle.write(chunk.tobytes())
                    handle.flush()
                    os.fsync(handle.fileno())
            except BaseException:  # a full disk, say: leave no partial file taking space
                temporary.unlink(missing_ok=True)
                raise
        os.replace(temporary, path)
        return True

    def load_space(self, path: Path) -> str:
        """Replace the space saved in ``path`` (by ``save_space``) with its content; returns its name.

        Raises ``OSError`` or ``ValueError`` for an unreadable, truncated or inconsistent file, one
        of an earlier layout, or one whose header or block does not match its SHA-256.
        """
        with open(path, "rb") as handle:
            magic = handle.read(len(_MAGIC))
            if magic in _OLD_MAGICS:
                raise ValueError(f"{path}: saved by an earlier version ({magic.strip().decode()}); rebuild it")
            if magic != _MAGIC:
                raise ValueError(f"{path}: not a saved index space")
            size = os.fstat(handle.fileno()).st_size
            header_bytes = int.from_bytes(handle.read(8), "little")
            if header_bytes > min(size, 1 << 20):
                raise ValueError(f"{path}: bad header length")
            header_digest = handle.read(_DIGEST_BYTES)
            raw_header = handle.read(header_bytes)
            _check(path, "header", hashlib.sha256(raw_header).hexdigest(), header_digest.hex())
            header = json.loads(raw_header)
            count, dimension = int(header["count"]), int(header["dimension"])
            expected = handle.tell() + header["keys_bytes"] + header["ann_bytes"] + 4 * count * dimension
            if expected != size or dimension < 1:
                raise ValueError(f"{path}: {size} bytes where the header describes {expected}")
            digests = header["sha256"]
            keys_block = handle.read(header["keys_bytes"])
            _check(path, "keys", hashlib.sha256(keys_block).hexdigest(), digests["keys"])
            ann_bytes = handle.read(header["ann_bytes"])
            _check(path, "ann", hashlib.sha256(ann_bytes).hexdigest(), digests["ann"])
            keys = keys_block.decode().split("\n")
            entry = _Space(dimension)
            vectors_digest = hashlib.sha256()
            for first in range(0, count, _BLOCK):
                rows = min(_BLOCK, count - first)
                vectors = np.fromfile(handle, dtype="<f4", count=rows * dimension)
                if len(vectors) != rows * dimension:
                    raise ValueError(f"{path}: truncated")
                vectors_digest.update(vectors)
                entry.append(keys[first : first + rows], vectors.reshape(rows, dimension))
            _check(path, "vectors", vectors_digest.hexdigest(), digests["vectors"])
        if len(keys) != count or len(entry.rows) != count:
            raise ValueError(f"{path}: keys and vectors disagree")
        if ann_bytes:
            entry.ann = faiss.deserialize_index(np.frombuffer(ann_bytes, dtype=np.uint8))
            entry.ann.implem = _FAST_SCAN_IMPLEM  # saved with the index too; whatever wrote it, search like this
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
        """Train a new IVF (``nlist_for(n)`` lists) on the live vectors and fill it."""
        self._compact(entry)
        live = len(entry.rows)
        nlist = nlist_for(live)
        ann = faiss.index_factory(entry.dimension, f"IVF{nlist},PQ{entry.dimension // 2}x4fs", faiss.METRIC_L2)
        ann.implem = _FAST_SCAN_IMPLEM
        sample = np.sort(np.random.default_rng(0).choice(live, size=min(live, 40 * nlist), replace=False))
        ann.train(entry.gather(sample))
        for first, chunk in zip(range(0, live, _BLOCK), entry.chunks(), strict=True):
            ann.add_with_ids(chunk, np.arange(first, first + len(chunk), dtype=np.int64))
        entry.ann, entry.trained_size = ann, live


def _space_bytes(entry: _Space) -> int:
    """``TieredIndex.memory_bytes`` of one space."""
    total = sum(block.nbytes for block in entry.blocks) + entry.alive.nbytes
    ann = entry.ann
    if ann is not None:
        lists = faiss.downcast_InvertedLists(ann.invlists)
        sizes = [lists.list_size(number) for number in range(ann.nlist)]
        total += sum(-(-size // lists.n_per_block) * lists.block_size + 8 * size for size in sizes)
        total += 4 * (ann.nlist * ann.d + ann.pq.centroids.size())
    return total


def _check(path: Path, block: str, actual: str, expected: object) -> None:
    """``ValueError`` unless the hex SHA-256 ``actual`` of ``path``'s ``block`` is the ``expected`` one."""
    if actual != expected:
        raise ValueError(f"{path}: the {block} block does not match its SHA-256 (the file was damaged)")

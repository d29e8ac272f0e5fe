"""``SyncedIndex``: the vector index of the face service, following the store through its change log.

The metadata store is the source of truth; its change log (``MetadataStore.index_changes``) lists,
in commit order, every face added or deleted, user vector set or user deleted and collection
deleted. A write changes only the store (``FaceService.writing``); a ``SyncedIndex`` keeps a cursor
into the log and, before every search or ``get`` and after every write, applies the entries after
its cursor (``sync``) to an in-memory index (``TieredIndex``), each with the entry's *current*
state in the store. Replaying an entry is idempotent, so the index always equals the store at its
cursor, and a write committed by any process (another server worker, ``rekollect collection
import``, ``bench/load_synthetic_faces.py``) is visible to the next search of every process. A
search therefore costs one indexed read of the store more (a few µs on SQLite). Its interface is
what it does: ``search``, ``get`` and ``sync``, with ``open``, ``save`` and ``close`` for its
snapshots; space names are ``rekollect.spaces``'.

Snapshots (``<data-dir>/index/``): each space in a ``.rkix`` file (``TieredIndex.save_space``,
every block checksummed) and ``manifest.json`` naming the files and the log cursor they are all
current at, with the SHA-256 of both. At start-up the files are loaded and the log replayed from
that cursor; without a usable snapshot (missing, of an earlier layout, or failing a checksum: a
WARNING says so) the index is rebuilt from the store. A snapshot whose cursor is past the end of
the store's log means the store lost writes it had acknowledged (its ``-wal`` file lost or damaged,
or a backup restored): ``open`` then raises ``StartupRefused`` rather than serve the rolled-back
store, unless ``accept_data_loss`` is set, when it logs the loss and rebuilds from the store. Only the process holding ``index/writer.lock`` (an exclusive ``flock``
held for its lifetime) writes snapshots: after open when it had to rebuild or replay many
entries, from a background thread once ``save_every`` entries or ``save_after`` seconds have
accumulated, and at exit. A crash loses no data: the log replays what the snapshot lacks.

With a ``mirror`` (``--snapshot-url``), each snapshot written is also published to the object
store, and a node whose own snapshot is missing or older than the published one fetches that one
before loading: a new node starts from the newest snapshot any node wrote, then replays the log.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from ..index.tiered import TieredIndex
from ..spaces import faces_space, users_space
from ..startup import StartupRefused
from ..storage.base import IndexChange, MetadataStore, every_item
from .rules import VectorRule

log = logging.getLogger(__name__)

_BATCH = 50_000
"""Change log entries read per query while catching up."""


class SnapshotCopies(Protocol):
    """Snapshots shared between nodes (``storage.snapshot_mirror.SnapshotMirror``)."""

    def publish(self, directory: Path, manifest: dict) -> None:
        """Copy the snapshot in ``directory`` (``manifest``: ``cursor``, ``files``) to the shared store."""
        ...

    def fetch(self, directory: Path, cursor: int | None) -> bool:
        """Replace the snapshot in ``directory`` with the shared one if that is past ``cursor``
        (``None``: there is no usable local one); whether it did."""
        ...


class SyncedIndex:
    """The vectors of ``store`` in ``inner``, kept current by following its change log; snapshots in ``directory``.

    ``save_every`` (entries) and ``save_after`` (seconds, with at least one entry) trigger a
    background snapshot in the writer process. ``accept_data_loss``: serve a store that is behind
    the snapshot (see the module docstring) instead of refusing to open. ``mirror``: where
    snapshots are shared with other nodes. ``rules(space)``: the ``VectorRule`` of a space's
    collection (``core.rules.space_rules``), ``None`` when the collection is gone or its face
    model not held (the space is then left empty); without ``rules`` a vector need only be finite
    and of its space's length.
    """

    def __init__(
        self,
        store: MetadataStore,
        inner: TieredIndex,
        directory: Path,
        *,
        save_every: int = 100_000,
        save_after: float = 600.0,
        accept_data_loss: bool = False,
        mirror: SnapshotCopies | None = None,
        rules: Callable[[str], VectorRule | None] | None = None,
    ) -> None:
        self.store = store
        self.rules = rules
        self.mirror = mirror
        self.accept_data_loss = accept_data_loss
        self.inner = inner
        self.directory = directory
        self.save_every = save_every
        self.save_after = save_after
        self.cursor = 0
        self._lock = threading.RLock()
        self._dirty: set[str] = set()
        self._pending = 0
        self._saved_at = time.monotonic()
        self._writer_lock: int | None = None
        self._closed = threading.Event()

    # Reads, each after catching up with the store

    def search(self, space: str, query: np.ndarray, k: int, max_distance: float) -> list[tuple[str, float]]:
        """Up to ``k`` ``(key, distance)`` pairs of ``space`` with Euclidean distance ≤ ``max_distance``
        to the ``(d,)`` float32 ``query``, nearest first (``TieredIndex.search``)."""
        self.sync()
        return self.inner.search(space, query, k, max_distance)

    def get(self, space: str, key: str) -> np.ndarray | None:
        """The vector stored under ``key`` in ``space``, or ``None``."""
        self.sync()
        return self.inner.get(space, key)

    # Following the log

    def sync(self) -> int:
        """Apply the change log entries after the cursor; returns how many were applied.

        The store is read without holding the index's lock (so a slow or unreachable store holds
        up no other thread: each waits for the store on its own), and a batch is applied only if
        the cursor is still where it was read from (another thread applied it otherwise)."""
        applied = 0
        while True:
            start = self.cursor
            changes = self.store.index_changes(start, _BATCH)
            if not changes:
                return applied
            # Looked up now, in the store, before the lock is taken (a collection's model may change:
            # ``rekollect collection upgrade``).
            rules = {space: self._rule(space) for space in {change.space for change in changes if change.key is not None}}
            with self._lock:
                if self.cursor != start:
                    continue
                self._apply(changes, rules)
                self.cursor = changes[-1].seq
                applied += len(changes)
                self._pending += len(changes)

    def _apply(self, changes: list[IndexChange], rules: dict[str, VectorRule | None]) -> None:
        """Bring the entries' spaces and keys to their current store state (drops first); keys
        whose stored vector breaks the space's rule (``rules``) are quarantined (removed)."""
        for space in {change.space for change in changes if change.key is None}:
            self.inner.drop(space)
            self._dirty.add(space)
        latest: dict[str, dict[str, np.ndarray | None]] = {}
        for change in changes:
            if change.key is not None:
                latest.setdefault(change.space, {})[change.key] = change.vector
        for space, entries in latest.items():
            self._dirty.add(space)
            present = [(key, vector) for key, vector in entries.items() if vector is not None]
            keys, matrix = self._usable(space, present, rules[space])
            usable = set(keys)
            self.inner.remove(space, [key for key in entries if key not in usable])
            fresh = [row for row, key in enumerate(keys) if not _same(self.inner.get(space, key), matrix[row])]
            if fresh:
                self.inner.add(space, [keys[row] for row in fresh], matrix[fresh])

    def _usable(
        self, space: str, rows: list[tuple[str, np.ndarray]], rule: VectorRule | None
    ) -> tuple[list[str], np.ndarray]:
        """The keys of the ``(key, vector)`` rows that follow ``space``'s ``rule`` and their ``(n, d)``
        vectors (stacked once); one WARNING for each other row."""
        kind, _, collection_id = space.partition("/")
        if not rows or (rule is None and self.rules is not None):
            return [], np.zeros((0, 0), np.float32)  # nothing, or a collection gone or of a model not held here
        keys, vectors = [key for key, _ in rows], [vector for _, vector in rows]
        size = rule.size if rule is not None else self.inner.dimension(space) or len(vectors[0])
        uniform = all(len(vector) == size for vector in vectors)
        matrix = np.stack(vectors) if uniform else None
        if rule is not None:
            problems = rule.problems(matrix, kind) if matrix is not None else [rule.problem(v, kind) for v in vectors]
        else:
            problems = [
                None if len(vector) == size and np.isfinite(vector).all() else "not finite, or not of the space's length"
                for vector in vectors
            ]
        kept = [row for row, problem in enumerate(problems) if problem is None]
        for key, problem in zip(keys, problems, strict=True):
            if problem is not None:
                log.warning(
                    "quarantined %s %s of collection %s: its stored vector is unusable (%s); it is left out of"
                    " every search until it is deleted",
                    kind.rstrip("s"),
                    key,
                    collection_id,
                    problem,
                )
        if matrix is not None and len(kept) == len(keys):
            return keys, matrix
        return [keys[row] for row in kept], np.stack([vectors[row] for row in kept]) if kept else np.zeros((0, size))

    def _rule(self, space: str) -> VectorRule | None:
        """``space``'s rule now (``None`` without ``rules``)."""
        return None if self.rules is None else self.rules(space)

    # Start-up and snapshots

    @property
    def is_writer(self) -> bool:
        """Whether this process writes the snapshots (the first of several server processes to open)."""
        return self._writer_lock is not None

    def open(self) -> None:
        """Load the snapshot (or rebuild from the store), catch up, and become the snapshot writer if free."""
        self.directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if self.mirror is not None:
            self._fetch_shared_snapshot(self.mirror)
        loaded = self._load_snapshot()
        if not loaded:
            self._rebuild()
        replayed = self.sync()
        log.info(
            "vector index ready in %.1f s (%s, %d log entries replayed)",
            time.perf_counter() - started,
            "snapshot" if loaded else "rebuilt from the store",
            replayed,
        )
        if self._become_writer():
            if not loaded or replayed >= self.save_every:
                self.save()
            atexit.register(self.close)
            threading.Thread(target=self._save_periodically, name="index-snapshots", daemon=True).start()

    def _fetch_shared_snapshot(self, mirror: SnapshotCopies) -> None:
        """Take the shared snapshot if it is newer than the local one (failures only logged)."""
        try:
            local = read_manifest(self.directory)
        except (OSError, ValueError):
            local = None
        try:
            if mirror.fetch(self.directory, None if local is None else local["cursor"]):
                log.info("fetched the shared index snapshot")
        except Exception as error:  # the object store is optional at start-up: rebuild or replay instead
            log.warning("cannot fetch the shared index snapshot: %s", error)

    def _rebuild(self) -> None:
        """Fill the index from every collection's stored vectors (cursor taken first, so replay covers races)."""
        with self._lock:
            self.cursor = self.store.index_cursor()
            for collection in every_item(lambda after: self.store.list_collections(after, 1000)):
                cid = collection.collection_id
                self._fill(faces_space(cid), list(self.store.iter_embeddings(cid)))
                self._fill(users_space(cid), list(self.store.iter_user_vectors(cid)))
            self._dirty = set(self.inner.spaces())

    def _fill(self, space: str, rows: list[tuple[str, np.ndarray]]) -> None:
        """Replace ``space`` with its usable ``rows`` in one ``add`` (so the IVF, if any, is trained once)."""
        self.inner.drop(space)
        keys, matrix = self._usable(space, rows, self._rule(space))
        if keys:
            self.inner.add(space, keys, matrix)

    def _load_snapshot(self) -> bool:
        """Load the spaces of ``manifest.json``; ``False`` (index left empty) if missing or unusable.

        ``StartupRefused`` if the snapshot is ahead of the store and data loss is not accepted.
        """
        try:
            manifest = read_manifest(self.directory)
        except (OSError, ValueError) as error:
            log.warning(
                "ignoring the index snapshot in %s (%s): rebuilding the index from the store", self.directory, error
            )
            return False
        if manifest is None:
            return False
        lost = check_store_not_behind(self.store, manifest, self.directory, accept_data_loss=self.accept_data_loss)
        if lost:
            log.warning("%s; accepted (--accept-data-loss): rebuilding the index from the store as it is", lost)
            return False
        try:
            with self._lock:
                for name in manifest["files"].values():
                    self._check_loaded(self.inner.load_space(self.directory / name))
                self.cursor = int(manifest["cursor"])
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            log.warning(
                "ignoring the index snapshot in %s (%s): rebuilding the index from the store", self.directory, error
            )
            for space in self.inner.spaces():
                self.inner.drop(space)
            return False
        return True

    def _check_loaded(self, space: str) -> None:
        """``ValueError`` if a vector of the loaded ``space`` breaks its rule (the snapshot is then
        not used: the index is rebuilt from the store, which quarantines the row). A space whose
        collection is gone or not searchable here is not checked: nothing searches it."""
        rule = self._rule(space)
        if rule is None and self.rules is not None:
            return  # its collection is gone (the log replay drops it) or cannot be searched here
        kind = space.partition("/")[0]
        bad = self.inner.rejected_keys(
            space, (lambda rows: rule.usable(rows, kind)) if rule is not None else _finite_rows
        )
        if bad:
            raise ValueError(f"space {space} holds {len(bad)} unusable vectors (the first: {bad[0]})")

    def _become_writer(self) -> bool:
        """Take ``writer.lock`` (held until exit) if no other live process holds it."""
        handle = os.open(self.directory / "writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return False
        self._writer_lock = handle
        return True

    def save(self) -> None:
        """Write the changed spaces and a manifest at the current cursor (writer process only)."""
        with self._lock:
            if self._writer_lock is None:
                return
            self.sync()
            started = time.perf_counter()
            files = {}
            for space in self.inner.spaces():
                name = hashlib.sha256(space.encode()).hexdigest()[:32] + ".rkix"
                unchanged = space not in self._dirty and (self.directory / name).exists()
                if unchanged or self.inner.save_space(space, self.directory / name):
                    files[space] = name
            temporary = self.directory / f".manifest.{os.getpid()}.tmp"
            content = {"cursor": self.cursor, "files": files}
            try:
                with open(temporary, "w") as handle:
                    json.dump({**content, "sha256": _digest(content)}, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            os.replace(temporary, self.directory / "manifest.json")
            if self.mirror is not None:
                try:
                    self.mirror.publish(self.directory, content)
                except Exception as error:  # the local snapshot stands; the next one is published again
                    log.warning("cannot publish the index snapshot: %s", error)
            for path in self.directory.glob("*.rkix"):
                if path.name not in files.values():
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            self._dirty.clear()
            self._pending = 0
            self._saved_at = time.monotonic()
            log.info("index snapshot at log entry %d written in %.1f s", self.cursor, time.perf_counter() - started)

    def close(self) -> None:
        """Write a last snapshot (writer process; a failure is logged) and give up the writer role."""
        if self._writer_lock is None:
            return
        self._closed.set()
        atexit.unregister(self.close)
        try:
            self.save()
        except OSError as error:  # a full disk, say: the next start replays the log from the last snapshot
            log.warning("last index snapshot not written: %s", error)
        with self._lock:
            os.close(self._writer_lock)
            self._writer_lock = None

    def _save_periodically(self) -> None:
        while not self._closed.wait(10):
            self.sync()
            with self._lock:
                due = self._pending >= self.save_every or (
                    self._pending and time.monotonic() - self._saved_at >= self.save_after
                )
            if due:
                try:
                    self.save()
                except OSError as error:
                    log.warning("index snapshot failed: %s", error)


def read_manifest(directory: Path) -> dict | None:
    """``directory``'s ``manifest.json`` (``cursor``, ``files``), ``None`` if there is none.

    ``ValueError`` if it is not JSON of that shape or does not match its ``sha256`` (manifests of
    earlier releases have none and are taken as they are).
    """
    try:
        text = (directory / "manifest.json").read_text()
    except FileNotFoundError:
        return None
    try:
        manifest = json.loads(text)
        content = {"cursor": int(manifest["cursor"]), "files": dict(manifest["files"])}
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"manifest.json is damaged: {error}") from None
    if "sha256" in manifest and manifest["sha256"] != _digest(content):
        raise ValueError("manifest.json does not match its SHA-256 (the file was damaged)")
    return content


def check_store_not_behind(
    store: MetadataStore, manifest: dict, directory: Path, *, accept_data_loss: bool
) -> str | None:
    """``None`` when the store's change log reaches the snapshot's cursor. Otherwise the store lost
    acknowledged writes: ``StartupRefused`` (saying how to proceed), or with ``accept_data_loss``
    the description of the loss, for the caller to log."""
    stored = store.index_cursor()
    if manifest["cursor"] <= stored:
        return None
    loss = (
        f"the store's change log ends at entry {stored} but the index snapshot in {directory} was taken at entry"
        f" {manifest['cursor']}: writes acknowledged after entry {stored} are missing from the store"
        " (rekollect.sqlite3 or its -wal file lost or damaged, or an older copy restored)"
    )
    if not accept_data_loss:
        raise StartupRefused(
            f"{loss}. Nothing was served. To serve the store as it is and accept the loss, start once with"
            f" --accept-data-loss (or delete {directory})."
        )
    return loss


def _digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _finite_rows(rows: np.ndarray) -> np.ndarray:
    return np.isfinite(rows).all(axis=1)


def _same(current: np.ndarray | None, vector: np.ndarray) -> bool:
    return current is not None and np.array_equal(current, vector)

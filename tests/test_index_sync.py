"""``SyncedIndex``: the index follows the store's change log (also written by another connection, as
another server process would), snapshots load back and replay, and a bad snapshot is rebuilt."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from rekollect.core.index_sync import SyncedIndex
from rekollect.index.tiered import TieredIndex
from rekollect.startup import StartupRefused
from rekollect.storage.base import CollectionRecord, FaceRecord
from rekollect.storage.sqlite import SqliteStore

RNG = np.random.default_rng(7)


def make_store(path: Path, collection: str = "c") -> SqliteStore:
    store = SqliteStore(path / "rekollect.sqlite3")
    store.create_collection(CollectionRecord(collection, f"arn:{collection}", dt.datetime.now(dt.UTC), "v"), {})
    return store


def add_faces(store: SqliteStore, count: int, collection: str = "c") -> dict[str, np.ndarray]:
    vectors = {str(uuid.uuid4()): RNG.standard_normal(128).astype(np.float32) * 0.05 for _ in range(count)}
    image = str(uuid.uuid4())
    faces = [FaceRecord(key, image, None, (0.1, 0.1, 0.1, 0.1), 99.0, "v", vector) for key, vector in vectors.items()]
    store.add_faces(collection, image, faces)
    return vectors


def opened(store: SqliteStore, directory: Path, threshold: int = 20_000) -> SyncedIndex:
    index = SyncedIndex(store, TieredIndex(ann_threshold=threshold), directory)
    index.open()
    return index


def top(index: SyncedIndex, vector: np.ndarray, space: str = "faces/c") -> str:
    return index.search(space, vector, 1, np.inf)[0][0]


def test_writes_of_another_connection_are_seen_by_the_next_search(tmp_path):
    store = make_store(tmp_path)
    index = opened(store, tmp_path / "index")
    other = SqliteStore(tmp_path / "rekollect.sqlite3")  # as another server process
    faces = add_faces(other, 50)
    key, vector = next(iter(faces.items()))
    assert top(index, vector) == key
    other.delete_faces("c", [key])
    assert key not in {hit for hit, _ in index.search("faces/c", vector, 100, np.inf)}
    assert index.get("faces/c", key) is None
    other.create_user("c", "u")
    other.set_user_vector("c", "u", vector)
    assert top(index, vector, "users/c") == "u"
    other.delete_collection("c")
    assert index.search("faces/c", vector, 10, np.inf) == []
    assert index.search("users/c", vector, 10, np.inf) == []
    index.close()


def test_a_snapshot_loads_and_replays_what_came_after_it(tmp_path):
    store = make_store(tmp_path)
    first = add_faces(store, 300)
    index = opened(store, tmp_path / "index", threshold=100)  # rebuilt from the store, then saved
    assert index.is_writer and (tmp_path / "index" / "manifest.json").exists()
    index.close()
    later = add_faces(store, 20)
    store.delete_faces("c", list(first)[:10])
    reopened = opened(SqliteStore(tmp_path / "rekollect.sqlite3"), tmp_path / "index", threshold=100)
    assert reopened.inner.uses_ann("faces/c") and reopened.inner.size("faces/c") == 310
    assert reopened.cursor == store.index_cursor()
    for key, vector in [*list(first.items())[10:30], *later.items()]:
        assert top(reopened, vector) == key
    assert reopened.get("faces/c", next(iter(first))) is None
    reopened.close()


def test_an_unusable_snapshot_is_rebuilt_from_the_store(tmp_path):
    store = make_store(tmp_path)
    faces = add_faces(store, 40)
    opened(store, tmp_path / "index").close()
    for path in (tmp_path / "index").glob("*.rkix"):
        path.write_bytes(b"RKIX1\ngarbage")
    index = opened(SqliteStore(tmp_path / "rekollect.sqlite3"), tmp_path / "index")
    assert index.inner.size("faces/c") == 40
    assert all(top(index, vector) == key for key, vector in faces.items())
    index.close()


def test_only_one_process_writes_snapshots(tmp_path):
    store = make_store(tmp_path)
    writer = opened(store, tmp_path / "index")
    reader = opened(SqliteStore(tmp_path / "rekollect.sqlite3"), tmp_path / "index")
    assert writer.is_writer and not reader.is_writer
    writer.close()
    reader.close()


def test_uncommitted_writes_are_not_applied(tmp_path):
    store = make_store(tmp_path)
    index = opened(store, tmp_path / "index")
    with store.atomic():
        key, vector = next(iter(add_faces(store, 1).items()))
        assert index.search("faces/c", vector, 1, np.inf) == []
    assert top(index, vector) == key
    index.close()


def _block(data: bytes, name: str, vectors: dict[str, np.ndarray]) -> int:
    """Offset of a byte inside block ``name`` of a saved space (found by content, whatever the layout)."""
    start = data.index(b'{"space"')
    header, end = json.JSONDecoder().raw_decode(data[start:].decode("latin-1"))
    key, vector = next(iter(vectors.items()))
    return {
        "header": start + 2,
        "keys": data.index(key.encode()) + 3,
        "ann": start + end + header["keys_bytes"] + header["ann_bytes"] // 2,
        "vectors": data.index(vector.astype("<f4").tobytes()) + 4 * 5 + 1,
    }[name]


@pytest.mark.parametrize("block", ["header", "keys", "ann", "vectors", "manifest"])
def test_one_changed_byte_in_any_snapshot_block_is_caught_and_rebuilt(tmp_path, caplog, block):
    store = make_store(tmp_path)
    faces = add_faces(store, 300)
    opened(store, tmp_path / "index", threshold=100).close()
    if block == "manifest":
        path = tmp_path / "index" / "manifest.json"
        manifest = json.loads(path.read_text())
        manifest["files"]["faces/c"] = manifest["files"]["faces/c"].replace("a", "b", 1).replace("0", "1", 1)
        manifest["cursor"] -= 1
        path.write_text(json.dumps(manifest))
    else:
        [path] = (tmp_path / "index").glob("*.rkix")
        data = bytearray(path.read_bytes())
        data[_block(bytes(data), block, faces)] ^= 0x04
        path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="rekollect.core.index_sync"):
        index = opened(SqliteStore(tmp_path / "rekollect.sqlite3"), tmp_path / "index", threshold=100)
    assert "rebuilding the index from the store" in caplog.text
    assert index.inner.size("faces/c") == 300
    for key, vector in faces.items():
        assert index.get("faces/c", key) is not None and np.array_equal(index.get("faces/c", key), vector)
        [(found, distance)] = index.search("faces/c", vector, 1, np.inf)
        assert found == key and distance == 0.0
    index.close()


def _snapshot_then_roll_back(tmp_path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A store with ``kept`` faces, then ``lost`` ones that a snapshot saw but the store then lost
    (its earlier copy restored, as when the ``-wal`` file is lost)."""
    store = make_store(tmp_path)
    kept = add_faces(store, 30)
    store.close()
    shutil.copyfile(tmp_path / "rekollect.sqlite3", tmp_path / "before.sqlite3")
    store = SqliteStore(tmp_path / "rekollect.sqlite3")
    lost = add_faces(store, 22)
    opened(store, tmp_path / "index").close()
    store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'rekollect.sqlite3'}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(tmp_path / "before.sqlite3", tmp_path / "rekollect.sqlite3")
    return kept, lost


def test_a_store_behind_its_snapshot_refuses_to_open(tmp_path):
    _snapshot_then_roll_back(tmp_path)
    with pytest.raises(StartupRefused, match=r"acknowledged.*--accept-data-loss"):
        opened(SqliteStore(tmp_path / "rekollect.sqlite3"), tmp_path / "index")


def test_accepting_the_loss_serves_the_store_as_it_is_and_later_starts_are_normal(tmp_path, caplog):
    kept, lost = _snapshot_then_roll_back(tmp_path)
    store = SqliteStore(tmp_path / "rekollect.sqlite3")
    with caplog.at_level(logging.WARNING, logger="rekollect.core.index_sync"):
        index = SyncedIndex(store, TieredIndex(), tmp_path / "index", accept_data_loss=True)
        index.open()
    assert "accepted (--accept-data-loss)" in caplog.text
    assert index.inner.size("faces/c") == len(kept)
    assert all(index.get("faces/c", key) is None for key in lost)
    index.close()
    opened(SqliteStore(tmp_path / "rekollect.sqlite3"), tmp_path / "index").close()  # the new snapshot is not ahead


def test_a_search_waiting_on_the_store_holds_up_no_other_search(tmp_path):
    """The store is read outside the index's lock: while one thread's read hangs (a database that
    went away), another thread's search reaches the store too, instead of queuing behind it."""
    store = make_store(tmp_path)
    index = opened(store, tmp_path / "index")
    faces = add_faces(store, 5)
    held, release, reads = threading.Event(), threading.Event(), []
    read = store.index_changes

    def slow_first_read(after: int, limit: int):
        reads.append(threading.current_thread().name)
        if len(reads) == 1:
            held.set()
            release.wait(300)
        return read(after, limit)

    store.index_changes = slow_first_read
    first = threading.Thread(target=index.sync, name="first")
    second = threading.Thread(target=index.sync, name="second")
    try:
        first.start()
        assert held.wait(30)
        second.start()
        deadline = time.monotonic() + 30
        while "second" not in reads:
            assert time.monotonic() < deadline, "the second search waited for the first one's read"
            time.sleep(0.01)
    finally:
        release.set()
        first.join()
        second.join()
    for key, vector in faces.items():
        assert top(index, vector) == key
    index.close()


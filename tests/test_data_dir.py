"""The data directory's own files: ``pagination.key`` is created once, atomically, whoever races to
create it, and a damaged key stops the server with a message instead of signing with it; a store
that lost acknowledged writes (behind its index snapshot) is not served until the loss is accepted."""

from __future__ import annotations

import fcntl
import multiprocessing
import shutil
from pathlib import Path

import pytest
from support import ServerProcess, image_bytes

from rekollect.core.pagination import TokenSigner
from rekollect.errors import InvalidPaginationTokenException
from rekollect.startup import StartupRefused

RACERS = 6
ROUNDS = 15


def _open_key(data_dir: str, barrier) -> bytes:
    barrier.wait()
    signer = TokenSigner.for_data_dir(Path(data_dir))
    return signer._secret


def test_processes_racing_on_a_fresh_data_directory_share_one_full_key(tmp_path):
    context = multiprocessing.get_context("fork")
    with context.Pool(RACERS) as pool:
        manager = context.Manager()
        for round_number in range(ROUNDS):
            data_dir = tmp_path / f"data-{round_number}"
            barrier = manager.Barrier(RACERS)
            keys = pool.starmap(_open_key, [(str(data_dir), barrier)] * RACERS)
            on_disk = (data_dir / "pagination.key").read_bytes()
            assert len(on_disk) == 32 and set(keys) == {on_disk}, f"round {round_number}: {[len(k) for k in keys]}"
            assert sorted(path.name for path in data_dir.iterdir()) == ["pagination.key"]


@pytest.mark.parametrize("content", [b"", b"\x07" * 5, b"\x00" * 32, b"k" * 33], ids=["empty", "short", "zeros", "long"])
def test_a_damaged_key_is_refused_with_a_clear_message(tmp_path, content):
    (tmp_path / "pagination.key").write_bytes(content)
    with pytest.raises(StartupRefused, match=r"pagination\.key.*damaged"):
        TokenSigner.for_data_dir(tmp_path)


def test_a_token_forged_with_an_empty_key_is_not_honoured(tmp_path):
    signer = TokenSigner.for_data_dir(tmp_path)
    forged = TokenSigner(b"").token(5, "collections")
    with pytest.raises(InvalidPaginationTokenException):
        signer.cursor(forged, "collections")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_server_refuses_to_start_on_a_damaged_key(tmp_path, workers):
    data = tmp_path / "data"
    data.mkdir()
    (data / "pagination.key").write_bytes(b"")
    server = ServerProcess(data, "--workers", workers)
    with pytest.raises(RuntimeError, match=r"refusing to start: .*pagination\.key is damaged \(0 bytes"):
        server.start()
    assert server.process is not None and server.process.wait(timeout=30) == 1
    assert "Traceback" not in server.log.read_text()


def _database_files(data: Path) -> list[Path]:
    return [data / f"rekollect.sqlite3{suffix}" for suffix in ("", "-wal", "-shm")]


def test_a_store_that_lost_acknowledged_writes_is_not_served_until_the_loss_is_accepted(tmp_path):
    data, saved = tmp_path / "data", tmp_path / "saved"
    saved.mkdir()
    face = image_bytes("people/Barack_Obama/obama_small.jpg")
    first = ServerProcess(data).start()
    first.client().create_collection(CollectionId="kept")
    kept = first.client().index_faces(CollectionId="kept", Image={"Bytes": face})["FaceRecords"][0]["Face"]["FaceId"]
    first.stop()
    for path in _database_files(data):
        if path.exists():
            shutil.copy(path, saved / path.name)
    second = ServerProcess(data).start()
    for number in range(2):
        second.client().index_faces(CollectionId="kept", Image={"Bytes": face}, ExternalImageId=str(number))
    second.stop()  # the snapshot now holds 3 faces
    for path in _database_files(data):  # the store goes back to 1 face, as when its -wal file is lost
        path.unlink(missing_ok=True)
        if (saved / path.name).exists():
            shutil.copy(saved / path.name, path)

    for workers in ("1", "2"):
        refused = ServerProcess(data, "--workers", workers)
        with pytest.raises(RuntimeError, match=r"refusing to start: .*acknowledged.*--accept-data-loss"):
            refused.start()
        assert refused.process is not None and refused.process.wait(timeout=30) == 1
    logs = []
    for extra in (["--accept-data-loss"], []):  # once accepted, later starts are normal
        server = ServerProcess(data, *extra).start()
        logs.append(server.log)
        try:
            client = server.client()
            assert [listed["FaceId"] for listed in client.list_faces(CollectionId="kept")["Faces"]] == [kept]
            matches = client.search_faces_by_image(CollectionId="kept", Image={"Bytes": face}, FaceMatchThreshold=0)
            assert [match["Face"]["FaceId"] for match in matches["FaceMatches"]] == [kept]
        finally:
            server.stop()
    assert "accepted (--accept-data-loss)" in logs[0].read_text()
    assert "accept" not in logs[1].read_text()


def test_stale_video_spool_parts_are_removed_at_start_but_not_one_being_written(tmp_path):
    spool = tmp_path / "data" / "video-spool"
    spool.mkdir(parents=True)
    for name in ("crashed-1.part", "crashed-2.part", "writing.part"):
        (spool / name).write_bytes(b"half a video")
    with open(spool / "writing.part", "rb") as writing:
        fcntl.flock(writing, fcntl.LOCK_EX)  # as a live process spooling a video holds it
        server = ServerProcess(tmp_path / "data").start()
        server.stop()
    assert sorted(path.name for path in spool.iterdir()) == ["writing.part"]
    assert server.log.read_text().count("left by a video job start that did not finish") == 2

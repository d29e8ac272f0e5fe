"""A full disk: writes answer ``InternalServerError`` saying the storage is full (logged once per
episode, without a traceback), nothing half-written stays behind, and once space is freed every
acknowledged write is there and new writes work, also after a restart. The data directory is on
a small tmpfs the test mounts and fills (needs root; skipped otherwise)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from support import FACES, ServerProcess, image_bytes

FACE = image_bytes("people/Barack_Obama/obama_small.jpg")
OTHER = image_bytes("people/Tom_Hanks/Tom_Hanks_54745.png")
VIDEO = {"S3Object": {"Bucket": "videos", "Name": "clip.mp4"}}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(path: Path) -> None:
    """Write ``path`` until the file system has not one byte left."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        size = 1 << 20
        while size:
            try:
                os.write(handle, b"\0" * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC
                size //= 2
    finally:
        os.close(handle)


def storage_full(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "InternalServerError"
    return error["Message"]


def test_a_full_disk_is_reported_as_such_and_loses_nothing(small_disk, tmp_path):
    (tmp_path / "buckets" / "videos").mkdir(parents=True)
    shutil.copyfile(FACES / "video" / "short_hamilton_clip.mp4", tmp_path / "buckets" / "videos" / "clip.mp4")
    data = small_disk / "data"
    server = ServerProcess(data, "--s3-local-root", str(tmp_path / "buckets")).start()
    client = server.client()
    client.create_collection(CollectionId="kept")
    kept = client.index_faces(CollectionId="kept", Image={"Bytes": FACE})["FaceRecords"][0]["Face"]["FaceId"]

    fill(small_disk / "filler")
    messages = [
        storage_full(lambda: client.create_collection(CollectionId="refused")),
        storage_full(lambda: client.index_faces(CollectionId="kept", Image={"Bytes": OTHER})),
        storage_full(lambda: client.start_face_detection(Video=VIDEO)),
    ]
    for message in messages:
        assert "storage is full" in message and "nothing was stored" in message, message
    assert list((data / "video-spool").iterdir()) == []
    log = server.log.read_text()
    assert log.count("storage is full") == 1 and "Traceback" not in log

    (small_disk / "filler").unlink()
    assert [face["FaceId"] for face in client.list_faces(CollectionId="kept")["Faces"]] == [kept]
    assert client.list_collections()["CollectionIds"] == ["kept"]
    client.create_collection(CollectionId="later")
    later = client.index_faces(CollectionId="later", Image={"Bytes": OTHER})["FaceRecords"][0]["Face"]["FaceId"]
    assert client.start_face_detection(Video=VIDEO)["JobId"]
    assert "writes work again" in server.log.read_text()
    server.stop()

    restarted = ServerProcess(data, "--s3-local-root", str(tmp_path / "buckets")).start()
    try:
        client = restarted.client()
        assert client.list_collections()["CollectionIds"] == ["kept", "later"]
        for collection, face_id, image in (("kept", kept, FACE), ("later", later, OTHER)):
            matches = client.search_faces_by_image(CollectionId=collection, Image={"Bytes": image})["FaceMatches"]
            assert [match["Face"]["FaceId"] for match in matches] == [face_id]
    finally:
        restarted.stop()

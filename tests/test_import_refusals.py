"""``rekollect collection import`` refuses what the API would refuse, in bounded memory, with one line.

Every file here is made by hand (``write_archive``, or a zip written member by member for what
``write_archive`` would never write). A refusal exits with status 1, says on one line of standard
error which member, line and rule, and stores nothing. The memory bombs run the import in a child
process whose peak RSS (``os.wait4``) must stay under ``MEMORY_BOUND``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import struct
import sys
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import run_measured

from rekollect.backup import cli, transfer
from rekollect.backup.archive import write_archive
from rekollect.storage.base import CollectionRecord
from rekollect.storage.sqlite import SqliteStore

MEMORY_BOUND = 256 << 20
"""Peak resident memory an import may reach whatever its input (docs/backup-format.md, "Limits")."""
WRITE_BATCH = 1000
"""Most faces or users an import writes in one transaction (docs/backup-format.md, "Limits")."""

RNG = np.random.default_rng(11)


def unit(size: int = 256) -> np.ndarray:
    vector = RNG.standard_normal(size).astype(np.float32)
    return vector / np.linalg.norm(vector)


def b64(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


def collection_header(**changes: Any) -> dict[str, Any]:
    return {
        "ExportedAt": "2026-12-01T02:28:49+00:00",
        "Collection": {
            "CollectionId": "imported",
            "CollectionArn": "arn:aws:rekognition:us-east-1:000000000000:collection/imported",
            "CreationTimestamp": "2026-12-01T02:28:45+00:00",
            "FaceModelVersion": "2.0",
            "Tags": {"team": "front-desk"},
            **changes,
        },
    }


def records(faces: int = 3, user_faces: int = 2) -> dict[str, list[dict[str, Any]]]:
    """A valid collection: ``faces`` faces of one image each; the first ``user_faces`` belong to user ``alice``."""
    images, face_rows, vectors = [], [], []
    for number in range(faces):
        image_id, vector = str(uuid.uuid4()), unit()
        images.append(
            {
                "ImageId": image_id,
                "ContentSha256": hashlib.sha256(image_id.encode()).hexdigest(),
                "ExternalImageId": f"p{number}",
            }
        )
        face_rows.append(
            {
                "FaceId": str(uuid.uuid4()),
                "ImageId": image_id,
                "ExternalImageId": f"p{number}",
                "BoundingBox": {"Width": 0.2, "Height": 0.3, "Left": 0.4, "Top": 0.1},
                "Confidence": 99.9,
                "IndexFacesModelVersion": "2.0",
                "UserId": "alice" if number < user_faces else None,
                "Embedding": b64(vector),
            }
        )
        if number < user_faces:
            vectors.append(vector)
    users = [{"UserId": "alice", "Vector": b64(np.mean(vectors, axis=0).astype(np.float32)) if vectors else None}]
    users.append({"UserId": "nobody", "Vector": None})
    return {"images.jsonl": images, "users.jsonl": users, "faces.jsonl": face_rows}


def backup(path: Path, edit: Callable[[dict], None] | None = None, header: dict | None = None, **shape: int) -> Path:
    members: dict[str, list] = {**records(**shape), "crops.jsonl": []}
    if edit is not None:
        edit(members)
    write_archive(path, header or collection_header(), members)
    return path


def run_import(capsys, data_dir: Path, file: Path, *extra: str) -> tuple[int, str]:
    """``rekollect collection import`` in this process; its exit status and standard error."""
    try:
        cli.main(["import", "--data-dir", str(data_dir), "--input", str(file), *extra])
        status = 0
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    return status, capsys.readouterr().err


def refused(capsys, tmp_path: Path, file: Path, expected: str) -> None:
    """The import of ``file`` is refused with one line holding ``expected``, and stores nothing."""
    status, error = run_import(capsys, tmp_path / "data", file)
    assert status == 1, error
    assert error.count("\n") == 1 and expected in error, error
    assert "Traceback" not in error
    store = SqliteStore(tmp_path / "data" / "rekollect.sqlite3")
    try:
        assert store.list_collections(None, 10).items == []
    finally:
        store.close()


def test_a_valid_file_imports(capsys, tmp_path):
    file = backup(tmp_path / "ok.zip", lambda members: add_crop(1)(members))
    status, error = run_import(capsys, tmp_path / "data", file)
    assert status == 0, error
    store = SqliteStore(tmp_path / "data" / "rekollect.sqlite3")
    assert store.count_faces("imported") == 3 and store.get_user("imported", "alice").face_count == 2
    assert [jpeg for _, jpeg in store.iter_face_crops("imported")] == [JPEG]
    store.close()


def test_a_users_vector_is_the_one_its_face_model_makes(capsys, tmp_path):
    """Face model 2.1 makes a user's vector otherwise than 2.0 (a scaled unit mean): each is checked by its own."""
    from rekollect.vision.calibrated_pack import user_vector

    def calibrated(members: dict) -> None:
        for face in members["faces.jsonl"]:
            face["IndexFacesModelVersion"] = "2.1"
        embeddings = np.stack(
            [np.frombuffer(base64.b64decode(face["Embedding"]), "<f4") for face in members["faces.jsonl"][:2]]
        )
        members["users.jsonl"][0]["Vector"] = b64(user_vector(embeddings))

    header = collection_header(FaceModelVersion="2.1")
    status, error = run_import(capsys, tmp_path / "data", backup(tmp_path / "ok.zip", calibrated, header=header))
    assert status == 0, error
    as_mean = backup(
        tmp_path / "mean.zip",
        lambda m: [row.update(IndexFacesModelVersion="2.1") for row in m["faces.jsonl"]],
        header=header,
    )
    status, error = run_import(capsys, tmp_path / "other", as_mean, "--collection-id", "other", "--new-face-ids")
    # A plain mean is shorter than any vector 2.1 makes of a user: its norm rule says so first.
    assert status == 1 and "users.jsonl line 1: Vector: a vector of norm" in error and "[0.999, 1.1215]" in error, error


def set_face(field: str, value: Any, line: int = 1) -> Callable[[dict], None]:
    def edit(members: dict) -> None:
        members["faces.jsonl"][line - 1][field] = value

    return edit


def set_box(field: str, value: float) -> Callable[[dict], None]:
    def edit(members: dict) -> None:
        members["faces.jsonl"][0]["BoundingBox"][field] = value

    return edit


JPEG = b"\xff\xd8\xff\xe0" + bytes(100)
"""Bytes that start as a JPEG does (the import checks the signature and the size, not the pixels)."""


def add_crop(face: int | None, data: bytes = JPEG, times: int = 1) -> Callable[[dict], None]:
    def edit(members: dict) -> None:
        face_id = members["faces.jsonl"][face]["FaceId"] if face is not None else str(uuid.uuid4())
        members["crops.jsonl"] += [{"FaceId": face_id, "Crop": base64.b64encode(data).decode()}] * times

    return edit


RECORD_CASES = {
    "a picture of no face of the file": (add_crop(None), "crops.jsonl line 1: FaceId"),
    "a picture that is not a JPEG": (add_crop(0, b"\x89PNG" + bytes(10)), "crops.jsonl line 1: Crop is not a JPEG"),
    "a picture over 256 KiB": (add_crop(0, JPEG + bytes(256 * 1024 - len(JPEG) + 1)), "crops.jsonl line 1: Crop is not a JPEG of at most"),
    "two pictures of one face": (add_crop(0, times=2), "crops.jsonl line 2: face"),
    "FaceId not a UUID": (
        set_face("FaceId", "face-1"),
        "faces.jsonl line 1: 1 validation error detected: Value 'face-1' at 'Face.FaceId'",
    ),
    "ImageId not a UUID": (
        lambda m: [row.update(ImageId="x") for row in (m["images.jsonl"][0],)],
        "images.jsonl line 1: 1 validation error detected: Value 'x' at 'ImageId'",
    ),
    "Confidence over 100": (
        set_face("Confidence", 101),
        "at 'Face.Confidence' failed to satisfy constraint: Member must have value less than or equal to 100",
    ),
    "Confidence Infinity": (
        set_face("Confidence", float("inf")),
        "faces.jsonl line 1: not JSON (Infinity is not a JSON number)",
    ),
    "negative box width": (set_box("Width", -5.0), "faces.jsonl line 1: BoundingBox.Width -5.0 is outside [0, 2]"),
    "box far right": (set_box("Left", 1e300), "faces.jsonl line 1: BoundingBox.Left 1e+300 is outside [-1, 1]"),
    "ExternalImageId with markup": (
        lambda m: [row.update(ExternalImageId="<b>x</b>") for row in (m["images.jsonl"][0], m["faces.jsonl"][0])],
        "images.jsonl line 1: 1 validation error detected: Value '<b>x</b>' at 'ExternalImageId'",
    ),
    "ExternalImageId a number": (
        lambda m: [row.update(ExternalImageId=7) for row in (m["images.jsonl"][0], m["faces.jsonl"][0])],
        "at 'ExternalImageId' failed to satisfy constraint: Member must be a string",
    ),
    "ExternalImageId an object": (
        lambda m: [row.update(ExternalImageId={"a": 1}) for row in (m["images.jsonl"][0],)],
        "at 'ExternalImageId' failed to satisfy constraint: Member must be a string",
    ),
    "ExternalImageId too long": (
        lambda m: [row.update(ExternalImageId="a" * 300) for row in (m["images.jsonl"][0],)],
        "Member must have length less than or equal to 255",
    ),
    "UserId with markup": (
        lambda m: [m["users.jsonl"][1].update(UserId="<script>")],
        "users.jsonl line 2: 1 validation error detected: Value '<script>' at 'UserId'",
    ),
    "a user with a vector and no faces": (
        lambda m: m["users.jsonl"][1].update(Vector=b64(unit())),
        "users.jsonl line 2: user nobody has a Vector but no faces",
    ),
    "faces of a user without a vector": (
        lambda m: m["users.jsonl"][0].update(Vector=None),
        "users.jsonl line 1: user alice has 2 faces but no Vector",
    ),
    "a user vector that is not its faces' mean": (
        lambda m: m["users.jsonl"][0].update(Vector=b64(unit())),
        "users.jsonl line 1: the Vector of user alice is not the one face model 2.0 makes of its faces' embeddings",
    ),
    "a NaN embedding": (
        set_face("Embedding", b64(np.full(256, np.nan, np.float32))),
        "faces.jsonl line 1: Embedding: a vector with a NaN or infinite value",
    ),
    "a 1e30 embedding": (
        set_face("Embedding", b64(np.full(256, 1e30, np.float32))),
        "faces.jsonl line 1: Embedding: a vector of norm 1.6e+31",
    ),
    "an embedding not of unit length": (
        set_face("Embedding", b64(unit() * 0.5)),
        "Embedding: a vector of norm 0.5 where the face model's faces have norms in [0.999, 1.001]",
    ),
    "a user vector over the faces' norms": (
        lambda m: m["users.jsonl"][0].update(Vector=b64(unit() * 3)),
        "users.jsonl line 1: Vector: a vector of norm 3",
    ),
    "a face of another image's ExternalImageId": (
        set_face("ExternalImageId", "p2"),
        "faces.jsonl line 1: ExternalImageId 'p2' is not its image's 'p0'",
    ),
    "a face of an unknown user": (
        set_face("UserId", "carol", line=3),
        "faces.jsonl line 3: UserId carol is not in users.jsonl",
    ),
    "a FaceId twice": (
        lambda m: m["faces.jsonl"][1].update(FaceId=m["faces.jsonl"][0]["FaceId"]),
        "faces.jsonl line 2: FaceId",
    ),
}


@pytest.mark.parametrize("case", list(RECORD_CASES))
def test_records_the_api_would_refuse_are_refused(capsys, tmp_path, case):
    edit, expected = RECORD_CASES[case]
    refused(capsys, tmp_path, backup(tmp_path / "bad.zip", edit), expected)


def test_more_than_100_faces_on_a_user_is_refused(capsys, tmp_path):
    file = backup(tmp_path / "crowded.zip", faces=101, user_faces=101)
    refused(capsys, tmp_path, file, "faces.jsonl line 101: user alice has more than 100 faces (AWS's quota)")


def header_with(**changes: Any) -> dict:
    return collection_header(**changes)


HEADER_CASES = {
    "61 tags with 300-character values": (
        header_with(Tags={f"k{n}": "v" * 300 for n in range(61)}),
        "manifest.json: ",
    ),
    "year 0": (header_with(CreationTimestamp="0000-01-01T00:00:00+00:00"), "needs a CreationTimestamp"),
    "year 10000": (header_with(CreationTimestamp="10000-01-01T00:00:00+00:00"), "needs a CreationTimestamp"),
    "year 10000 in UTC": (header_with(CreationTimestamp="9999-12-31T23:30:00-05:00"), "needs a CreationTimestamp"),
    "before 1970": (header_with(CreationTimestamp="1969-12-31T00:00:00+00:00"), "is before 1970 or in the future"),
    "no offset": (header_with(CreationTimestamp="2026-12-01T02:28:45"), "CreationTimestamp has no UTC offset"),
    "a collection id the API refuses": (header_with(CollectionId="a/b"), "at 'CollectionId'"),
}


@pytest.mark.parametrize("case", list(HEADER_CASES))
def test_collection_records_the_api_would_refuse_are_refused(capsys, tmp_path, case):
    header, expected = HEADER_CASES[case]
    if case.startswith("61 tags"):
        expected = "Member must have length less than or equal to 256"
    refused(capsys, tmp_path, backup(tmp_path / "bad.zip", header=header), expected)


def test_a_manifest_without_collection_id_is_refused(capsys, tmp_path):
    header = collection_header()
    del header["Collection"]["CollectionId"]
    refused(capsys, tmp_path, backup(tmp_path / "bad.zip", header=header), "the Collection record needs a CollectionId")
    # Not even with --collection-id: the file is not a complete backup.
    status, error = run_import(capsys, tmp_path / "data", tmp_path / "bad.zip", "--collection-id", "x")
    assert status == 1 and "needs a CollectionId" in error


# Files write_archive never writes: built member by member.


def members_of(file: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(file) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path: Path, members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def manifest_for(members: dict[str, bytes], header: dict | None = None, records: dict[str, int] | None = None) -> bytes:
    files = {
        name: {"SHA256": hashlib.sha256(data).hexdigest(), "Records": (records or {}).get(name, data.count(b"\n"))}
        for name, data in members.items()
        if name != "manifest.json"
    }
    body = {
        "Format": "rekollect-collection-backup",
        "FormatVersion": 2 if "crops.jsonl" in members else 1,
        **(header or collection_header()),
        "Files": files,
    }
    return json.dumps(body).encode()


def test_zip_tricks_are_refused(capsys, tmp_path):
    good = members_of(backup(tmp_path / "good.zip"))
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = write_zip(
            tmp_path / "twice.zip",
            [*((name, data) for name, data in good.items() if name != "users.jsonl"), ("faces.jsonl", b"")],
        )
    refused(capsys, tmp_path, twice, "holds 'faces.jsonl' more than once")
    extra = write_zip(tmp_path / "extra.zip", [*good.items(), ("notes.txt", b"hello")])
    refused(capsys, tmp_path, extra, "lists 6 entries")
    missing = write_zip(tmp_path / "missing.zip", [item for item in good.items() if item[0] != "users.jsonl"])
    refused(capsys, tmp_path, missing, "a backup file of format version 2 holds exactly crops.jsonl, faces.jsonl")

    # Two records on one line, split by a bare carriage return, under a manifest that counts one line.
    faces = good["faces.jsonl"].split(b"\n")
    joined = {**good, "faces.jsonl": faces[0] + b"\r" + faces[1] + b"\n" + faces[2] + b"\n"}
    joined["manifest.json"] = manifest_for(joined)
    refused(capsys, tmp_path, write_zip(tmp_path / "cr.zip", list(joined.items())), "faces.jsonl line 1: not JSON")

    # A number JSON allows that is infinite as a float.
    huge = {**good, "faces.jsonl": good["faces.jsonl"].replace(b'"Confidence":99.9', b'"Confidence":1e400', 1)}
    huge["manifest.json"] = manifest_for(huge)
    refused(
        capsys,
        tmp_path,
        write_zip(tmp_path / "huge.zip", list(huge.items())),
        "faces.jsonl line 1: 1 validation error detected: Value 'inf' at 'Face.Confidence' failed to satisfy constraint: Member must be a number",
    )

    # More records than the manifest says.
    more = {**good, "manifest.json": manifest_for(good, records={"faces.jsonl": 2})}
    refused(
        capsys,
        tmp_path,
        write_zip(tmp_path / "more.zip", list(more.items())),
        "faces.jsonl holds more than the 2 records",
    )

    # Not UTF-8, JSON nested deeper than a parser recurses, and NaN where JSON has no such number.
    for data, expected in (
        (b'{"ImageId": "\xff"}\n', "images.jsonl line 1: not UTF-8"),
        (b"[" * 2000 + b"]" * 2000 + b"\n", "images.jsonl line 1: JSON nested too deeply"),
        (b"[" * 100_000 + b"]" * 100_000 + b"\n", "images.jsonl line 1: longer than 4096 bytes"),
        (b'{"ImageId": NaN}\n', "images.jsonl line 1: not JSON (NaN is not a JSON number)"),
    ):
        odd = {**good, "images.jsonl": data}
        odd["manifest.json"] = manifest_for(odd)
        refused(capsys, tmp_path, write_zip(tmp_path / "odd.zip", list(odd.items())), expected)


def patched(source: Path, target: Path, patch: Callable[[bytearray], None]) -> Path:
    data = bytearray(source.read_bytes())
    patch(data)
    target.write_bytes(bytes(data))
    return target


def central_offsets(data: bytearray) -> dict[bytes, int]:
    """Central directory header offset of every member, by name."""
    offsets, position = {}, data.index(b"PK\x01\x02")
    while data[position : position + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack("<HHH", data[position + 28 : position + 34])
        offsets[bytes(data[position + 46 : position + 46 + name_length])] = position
        position += 46 + name_length + extra_length + comment_length
    return offsets


def test_zip_damage_is_a_one_line_refusal(capsys, tmp_path):
    good = backup(tmp_path / "good.zip", faces=40)
    entry = central_offsets(bytearray(good.read_bytes()))[b"faces.jsonl"]

    def set_method(data: bytearray) -> None:
        data[entry + 10 : entry + 12] = struct.pack("<H", 14)  # LZMA: memory we do not bound

    def set_encrypted(data: bytearray) -> None:
        data[entry + 8] |= 0x1

    def corrupt_deflate(data: bytearray) -> None:
        with zipfile.ZipFile(good) as archive:
            info = archive.getinfo("faces.jsonl")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for offset in range(start + 200, start + 400):
            data[offset] ^= 0x5A

    for patch, expected in (
        (set_method, "faces.jsonl is compressed with method 14, not DEFLATE"),
        (set_encrypted, "faces.jsonl is encrypted"),
        (corrupt_deflate, "faces.jsonl"),
    ):
        refused(capsys, tmp_path, patched(good, tmp_path / "damaged.zip", patch), expected)

    # A stored (uncompressed) member whose sizes reach past the end of the file.
    stored = write_zip(tmp_path / "stored.zip", list(members_of(good).items()), method=zipfile.ZIP_STORED)
    entry = central_offsets(bytearray(stored.read_bytes()))[b"faces.jsonl"]

    def past_the_end(data: bytearray) -> None:
        data[entry + 20 : entry + 28] = struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFF0)

    refused(capsys, tmp_path, patched(stored, tmp_path / "damaged.zip", past_the_end), "faces.jsonl")


def peak_rss_of_import(tmp_path: Path, file: Path) -> tuple[int, str, int]:
    """``rekollect collection import`` of ``file`` in a child process: exit status, stderr, peak RSS in bytes."""
    status, _, error, peak = run_measured(
        ["collection", "import", "--data-dir", str(tmp_path / "data"), "--input", str(file)], tmp_path
    )
    return status, error, peak


def test_a_manifest_bomb_is_refused_in_bounded_memory(tmp_path):
    """A 300 MiB manifest.json (a few hundred KiB compressed)."""
    bomb = tmp_path / "bomb.zip"
    good = members_of(backup(tmp_path / "good.zip"))
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("manifest.json", "w", force_zip64=True) as member:
            member.write(b'{"Format": "rekollect-collection-backup", "padding": "')
            for _ in range(300):
                member.write(b" " * (1 << 20))
            member.write(b'"}')
        for name in ("images.jsonl", "users.jsonl", "faces.jsonl"):
            archive.writestr(name, good[name])
    assert bomb.stat().st_size < 1 << 20
    status, error, peak = peak_rss_of_import(tmp_path, bomb)
    assert status == 1 and "manifest.json is larger than 1048576 bytes" in error and error.count("\n") == 1
    assert peak < MEMORY_BOUND, f"peak RSS {peak / 2**20:.0f} MiB"
    print(f"manifest bomb: peak RSS {peak / 2**20:.0f} MiB")


def test_a_2_gib_line_is_refused_in_bounded_memory(tmp_path):
    """faces.jsonl of one 2 GiB line (a few MiB compressed), under a manifest whose checksums are right."""
    bomb = tmp_path / "line.zip"
    digest, size = hashlib.sha256(), 2 << 30
    block = b"a" * (8 << 20)
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("images.jsonl", b"")
        archive.writestr("users.jsonl", b"")
        with archive.open("faces.jsonl", "w", force_zip64=True) as member:
            for _ in range(size // len(block)):
                member.write(block)
                digest.update(block)
            member.write(b"\n")
            digest.update(b"\n")
        files = {
            name: {"SHA256": hashlib.sha256(b"").hexdigest(), "Records": 0} for name in ("images.jsonl", "users.jsonl")
        }
        files["faces.jsonl"] = {"SHA256": digest.hexdigest(), "Records": 1}
        body = {"Format": "rekollect-collection-backup", "FormatVersion": 1, **collection_header(), "Files": files}
        archive.writestr("manifest.json", json.dumps(body))
    assert bomb.stat().st_size < 16 << 20
    status, error, peak = peak_rss_of_import(tmp_path, bomb)
    assert status == 1 and "faces.jsonl line 1: longer than" in error and error.count("\n") == 1, error
    assert peak < MEMORY_BOUND, f"peak RSS {peak / 2**20:.0f} MiB"
    print(f"2 GiB line: peak RSS {peak / 2**20:.0f} MiB")


class CountingStore:
    """A store that counts the calls made to it, and the writes inside each transaction."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.calls: dict[str, int] = {}
        self.transactions: list[int] = []
        self._depth = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if self._depth and name in ("create_user", "set_user_vector"):
                self.transactions[-1] += 1
            if self._depth and name == "add_faces":
                self.transactions[-1] += len(args[2])
            return method(*args, **kwargs)

        return counted

    def atomic(self):
        outer = self

        class Transaction:
            def __enter__(self) -> None:
                if outer._depth == 0:
                    outer.transactions.append(0)
                outer._depth += 1
                self.inner = outer.store.atomic()
                self.inner.__enter__()

            def __exit__(self, *exc: object) -> None:
                outer._depth -= 1
                self.inner.__exit__(*exc)

        return Transaction()


def test_import_cost_does_not_grow_with_collections_and_writes_in_batches(tmp_path):
    file = backup(tmp_path / "many.zip", faces=2500, user_faces=100)
    counts = []
    for collections in (1, 60):
        store = SqliteStore(tmp_path / f"store-{collections}.sqlite3")
        for number in range(collections):
            store.create_collection(
                CollectionRecord(f"c{number}", f"arn:c{number}", dt.datetime.now(dt.UTC), "2.0"), {}
            )
        counting = CountingStore(store)
        transfer.import_collection(counting, file, "arn:aws:rekognition:us-east-1:000000000000:")
        counts.append(copy.deepcopy(counting.calls))
        assert store.count_faces("imported") == 2500
        assert max(counting.transactions) <= WRITE_BATCH, counting.transactions
        store.close()
    assert counts[0] == counts[1]

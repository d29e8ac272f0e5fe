"""The ``rekollect-extensions`` operations besides clustering: GetFaceCrops (face pictures, kept with
``--face-crops``, deleted with their face and collection, carried by backups), ListJobs, and
UploadVideoPart, through boto3 and the aws CLI with the shipped model."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image
from support import FACES, ServerProcess, image_bytes
from test_cli import AWS
from test_clustering import CREDENTIALS, error_code, extensions_client, finished

from rekollect.wire.service_model import DATA_PATH

GROUP = "groups/t1.jpg"  # six faces
OBAMA = ["people/Barack_Obama/obama.jpg", "people/Barack_Obama/obama1.jpg", "people/Barack_Obama/obama3.jpg"]


@pytest.fixture(scope="module")
def cropping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server run with ``--face-crops``."""
    root = tmp_path_factory.mktemp("crops")
    server = ServerProcess(root / "data", "--face-crops", "--s3-local-root", str(root / "buckets")).start()
    yield server
    server.stop()


def jpeg_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.size


def crop_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "rekollect.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM face_crops").fetchone()[0]


def test_each_indexed_face_has_its_picture_until_it_is_deleted(cropping, monkeypatch):
    rekognition, extensions = cropping.client(), extensions_client(cropping.url, monkeypatch)
    rekognition.create_collection(CollectionId="pictured")
    group = rekognition.index_faces(CollectionId="pictured", Image={"Bytes": image_bytes(GROUP)}, ExternalImageId="g")
    face_ids = [record["Face"]["FaceId"] for record in group["FaceRecords"]]
    assert len(face_ids) == 6
    answer = extensions.get_face_crops(CollectionId="pictured", FaceIds=face_ids)
    assert answer["FaceCropsEnabled"] is True
    assert [crop["FaceId"] for crop in answer["FaceCrops"]] == face_ids
    assert all(jpeg_size(crop["Crop"]) == (128, 128) for crop in answer["FaceCrops"])
    assert len({crop["Crop"] for crop in answer["FaceCrops"]}) == 6  # six different faces

    # Indexed again (same bytes and ExternalImageId): the same faces, no second picture.
    rekognition.index_faces(CollectionId="pictured", Image={"Bytes": image_bytes(GROUP)}, ExternalImageId="g")
    assert crop_rows(cropping.data_dir) == 6

    rekognition.delete_faces(CollectionId="pictured", FaceIds=face_ids[:2])
    kept = extensions.get_face_crops(CollectionId="pictured", FaceIds=face_ids)["FaceCrops"]
    assert [crop["FaceId"] for crop in kept] == face_ids[2:]
    assert crop_rows(cropping.data_dir) == 4
    rekognition.delete_collection(CollectionId="pictured")
    assert crop_rows(cropping.data_dir) == 0
    with pytest.raises(ClientError) as caught:
        extensions.get_face_crops(CollectionId="pictured", FaceIds=face_ids)
    assert error_code(caught) == "ResourceNotFoundException"


def test_a_users_picture_is_its_face_nearest_its_vector(cropping, monkeypatch):
    rekognition, extensions = cropping.client(), extensions_client(cropping.url, monkeypatch)
    rekognition.create_collection(CollectionId="user-pictures")
    try:
        faces = [
            rekognition.index_faces(
                CollectionId="user-pictures", Image={"Bytes": image_bytes(path)}, ExternalImageId=f"o{n}", MaxFaces=1
            )["FaceRecords"][0]["Face"]["FaceId"]
            for n, path in enumerate(OBAMA)
        ]
        rekognition.create_user(CollectionId="user-pictures", UserId="obama")
        rekognition.create_user(CollectionId="user-pictures", UserId="nobody")
        rekognition.associate_faces(CollectionId="user-pictures", UserId="obama", FaceIds=faces)
        answer = extensions.get_face_crops(CollectionId="user-pictures", UserIds=["obama", "nobody", "unknown"])
        (picture,) = answer["FaceCrops"]  # no picture for a user without faces, nor an unknown one
        assert picture["UserId"] == "obama" and picture["FaceId"] in faces
        # The face whose Similarity to the user is highest is the one shown.
        matches = rekognition.search_users(CollectionId="user-pictures", UserId="obama", UserMatchThreshold=0)
        assert matches["UserMatches"] == []  # the only user with faces is the one searched
        similarities = {
            face_id: rekognition.search_users(CollectionId="user-pictures", FaceId=face_id, UserMatchThreshold=0)[
                "UserMatches"
            ][0]["Similarity"]
            for face_id in faces
        }
        assert picture["FaceId"] == max(similarities, key=similarities.__getitem__)
        own = extensions.get_face_crops(CollectionId="user-pictures", FaceIds=[picture["FaceId"]])["FaceCrops"][0]
        assert own["Crop"] == picture["Crop"]
        rekognition.delete_user(CollectionId="user-pictures", UserId="obama")
        assert extensions.get_face_crops(CollectionId="user-pictures", UserIds=["obama"])["FaceCrops"] == []
        with pytest.raises(ClientError) as caught:
            extensions.get_face_crops(CollectionId="user-pictures")
        assert error_code(caught) == "InvalidParameterException"
    finally:
        rekognition.delete_collection(CollectionId="user-pictures")


def test_without_the_setting_no_picture_is_kept(server, rekognition, collection, monkeypatch):
    face = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA[0])})
    face_id = face["FaceRecords"][0]["Face"]["FaceId"]
    answer = extensions_client(server.url, monkeypatch).get_face_crops(CollectionId=collection, FaceIds=[face_id])
    assert answer["FaceCropsEnabled"] is False and answer["FaceCrops"] == []


def test_the_aws_cli_fetches_pictures_with_the_shipped_model(cropping, tmp_path):
    rekognition = cropping.client()
    rekognition.create_collection(CollectionId="cli-pictures")
    try:
        face = rekognition.index_faces(CollectionId="cli-pictures", Image={"Bytes": image_bytes(OBAMA[1])})
        face_id = face["FaceRecords"][0]["Face"]["FaceId"]
        env = {**os.environ, **CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1", "AWS_DATA_PATH": str(DATA_PATH)}
        shown = subprocess.run(
            [AWS, "rekollect-extensions", "get-face-crops", "--collection-id", "cli-pictures", "--face-ids", face_id,
             "--endpoint-url", cropping.url, "--output", "text", "--query", "FaceCrops[0].Crop"],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert jpeg_size(base64.b64decode(shown.stdout.strip())) == (128, 128)
    finally:
        rekognition.delete_collection(CollectionId="cli-pictures")


def rekollect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rekollect", *args], capture_output=True, text=True, timeout=120)


def test_backups_carry_the_pictures(cropping, monkeypatch, tmp_path):
    rekognition, extensions = cropping.client(), extensions_client(cropping.url, monkeypatch)
    rekognition.create_collection(CollectionId="backed-up")
    try:
        group = rekognition.index_faces(CollectionId="backed-up", Image={"Bytes": image_bytes(GROUP)})
        face_ids = [record["Face"]["FaceId"] for record in group["FaceRecords"]]
        pictures = {c["FaceId"]: c["Crop"] for c in extensions.get_face_crops(CollectionId="backed-up", FaceIds=face_ids)["FaceCrops"]}
        file = tmp_path / "backup.zip"
        done = rekollect("collection", "export", "--data-dir", str(cropping.data_dir), "--collection-id", "backed-up", "--output", str(file))
        assert done.returncode == 0, done.stderr
        with zipfile.ZipFile(file) as archive:
            assert len(archive.read("crops.jsonl").splitlines()) == 6
        # Into the same store under another id: new FaceIds, each with its own face's picture.
        done = rekollect("collection", "import", "--data-dir", str(cropping.data_dir), "--input", str(file),
                         "--collection-id", "backed-up-copy", "--new-face-ids")  # fmt: skip
        assert done.returncode == 0, done.stderr
        copies = rekognition.list_faces(CollectionId="backed-up-copy")["Faces"]
        copied = extensions.get_face_crops(CollectionId="backed-up-copy", FaceIds=[face["FaceId"] for face in copies])
        by_box = {str(face["BoundingBox"]): face["FaceId"] for face in rekognition.list_faces(CollectionId="backed-up")["Faces"]}
        copy_box = {face["FaceId"]: str(face["BoundingBox"]) for face in copies}
        assert len(copied["FaceCrops"]) == 6
        assert all(crop["Crop"] == pictures[by_box[copy_box[crop["FaceId"]]]] for crop in copied["FaceCrops"])
    finally:
        for collection in ("backed-up", "backed-up-copy"):
            rekognition.delete_collection(CollectionId=collection)


def test_an_import_refuses_a_picture_that_is_not_a_jpeg_of_the_file(cropping, tmp_path):
    rekognition = cropping.client()
    rekognition.create_collection(CollectionId="bad-pictures")
    try:
        rekognition.index_faces(CollectionId="bad-pictures", Image={"Bytes": image_bytes(OBAMA[0])})
        file = tmp_path / "backup.zip"
        done = rekollect("collection", "export", "--data-dir", str(cropping.data_dir), "--collection-id", "bad-pictures", "--output", str(file))
        assert done.returncode == 0, done.stderr
    finally:
        rekognition.delete_collection(CollectionId="bad-pictures")
    with zipfile.ZipFile(file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    line = json.loads(members["crops.jsonl"])
    line["Crop"] = "aGVsbG8="  # "hello"
    members["crops.jsonl"] = (json.dumps(line) + "\n").encode()
    manifest = json.loads(members["manifest.json"])
    manifest["Files"]["crops.jsonl"]["SHA256"] = hashlib.sha256(members["crops.jsonl"]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(altered, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    done = rekollect("collection", "import", "--data-dir", str(tmp_path / "other"), "--input", str(altered))
    assert done.returncode == 1 and "is not a JPEG" in done.stderr


def test_list_jobs_newest_first_with_progress_and_pages(cropping, monkeypatch):
    rekognition, extensions = cropping.client(), extensions_client(cropping.url, monkeypatch)
    rekognition.create_collection(CollectionId="listed")
    try:
        for path in OBAMA:
            rekognition.index_faces(CollectionId="listed", Image={"Bytes": image_bytes(path)}, MaxFaces=1)
        started = [extensions.start_face_clustering(CollectionId="listed")["JobId"] for _ in range(3)]
        for job_id in started:
            finished(extensions, job_id)
        listed = extensions.list_jobs(JobType="FACE_CLUSTERING")["Jobs"]
        assert [job["JobId"] for job in listed[:3]] == started[::-1]
        assert all(job["JobStatus"] == "SUCCEEDED" and job["Progress"] == 100 for job in listed[:3])
        assert listed[0]["CollectionId"] == "listed" and listed[0]["CompletionTimestamp"] >= listed[0]["CreationTimestamp"]
        first = extensions.list_jobs(JobType="FACE_CLUSTERING", MaxResults=2)
        second = extensions.list_jobs(JobType="FACE_CLUSTERING", MaxResults=2, NextToken=first["NextToken"])
        assert [job["JobId"] for job in first["Jobs"] + second["Jobs"]][:3] == started[::-1]
        assert extensions.list_jobs(JobType="FACE_SEARCH")["Jobs"] == []
        with pytest.raises(ClientError) as caught:  # a token of another listing
            extensions.list_jobs(JobType="FACE_SEARCH", NextToken=first["NextToken"])
        assert error_code(caught) == "InvalidPaginationTokenException"
    finally:
        rekognition.delete_collection(CollectionId="listed")


def test_a_video_uploaded_in_parts_is_searched(cropping, monkeypatch):
    rekognition, extensions = cropping.client(), extensions_client(cropping.url, monkeypatch)
    video = (FACES / "video" / "short_hamilton_clip.mp4").read_bytes()
    part = len(video) // 3 + 1
    for offset in range(0, len(video), part):
        answer = extensions.upload_video_part(
            Bucket="uploads", Name="clips/hamilton.mp4", Offset=offset, Data=video[offset : offset + part],
            Last=offset + part >= len(video),
        )  # fmt: skip
    assert answer["Complete"] is True and answer["Size"] == len(video)
    stored = cropping.data_dir.parent / "buckets" / "uploads" / "clips" / "hamilton.mp4"
    assert stored.read_bytes() == video
    # A part sent again replaces what followed it; a part past what was received is refused.
    extensions.upload_video_part(Bucket="uploads", Name="again.mp4", Offset=0, Data=b"0123456789")
    assert extensions.upload_video_part(Bucket="uploads", Name="again.mp4", Offset=4, Data=b"xy")["Size"] == 6
    with pytest.raises(ClientError) as caught:
        extensions.upload_video_part(Bucket="uploads", Name="again.mp4", Offset=7, Data=b"z")
    assert error_code(caught) == "InvalidParameterException" and "past the 6 bytes" in str(caught.value)
    done = extensions.upload_video_part(Bucket="uploads", Name="again.mp4", Offset=6, Data=b"", Last=True)
    assert done["Size"] == 6 and (stored.parent.parent / "again.mp4").read_bytes() == b"0123xy"
    for bucket, name in (("uploads", "../../outside.mp4"), ("uploads", "../../data/x.mp4"), ("uploads", "clips")):
        with pytest.raises(ClientError) as caught:
            extensions.upload_video_part(Bucket=bucket, Name=name, Offset=0, Data=b"x", Last=True)
        assert error_code(caught) == "InvalidParameterException"

    rekognition.create_collection(CollectionId="uploaded")
    try:
        lin = image_bytes("people/Lin-Manuel_Miranda/lin-manuel-miranda.png")
        rekognition.index_faces(CollectionId="uploaded", Image={"Bytes": lin}, ExternalImageId="lin")
        job_id = rekognition.start_face_search(
            CollectionId="uploaded", Video={"S3Object": {"Bucket": "uploads", "Name": "clips/hamilton.mp4"}}
        )["JobId"]
        listed = extensions.list_jobs(JobType="FACE_SEARCH")["Jobs"][0]
        assert listed["JobId"] == job_id and listed["Video"]["S3Object"]["Name"] == "clips/hamilton.mp4"
        assert 0 <= listed["Progress"] <= 100
        while (result := rekognition.get_face_search(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
            progress = extensions.list_jobs(JobType="FACE_SEARCH")["Jobs"][0]["Progress"]
            assert 0 <= progress <= 100
            time.sleep(0.2)
        assert result["JobStatus"] == "SUCCEEDED"
        assert any(m["Face"]["ExternalImageId"] == "lin" for p in result["Persons"] for m in p.get("FaceMatches", []))
    finally:
        rekognition.delete_collection(CollectionId="uploaded")


def test_uploads_are_refused_when_objects_come_from_s3(tmp_path, monkeypatch):
    server = ServerProcess(tmp_path / "data", "--s3-endpoint-url", "http://127.0.0.1:9").start()
    try:
        with pytest.raises(ClientError) as caught:
            extensions_client(server.url, monkeypatch).upload_video_part(Bucket="videos", Name="v.mp4", Offset=0, Data=b"x")
        assert error_code(caught) == "InvalidParameterException" and "upload the video there" in str(caught.value)
    finally:
        server.stop()


def test_the_picture_is_the_aligned_face():
    """The crop of a frontal face holds it upright and centred: its eyes level, about a third down."""
    from rekollect.core.images import decode_image
    from rekollect.vision.dlib_pack import DlibFaceAnalyzer
    from rekollect.vision.face_crop import face_crop

    pack = DlibFaceAnalyzer()
    image = decode_image(image_bytes(OBAMA[0]), max_bytes=10**8)
    (face,) = pack.detect(image.pixels)[:1]
    crop = np.asarray(Image.open(io.BytesIO(face_crop(image.pixels, face))).convert("RGB"))
    (found,) = pack.detect(crop)[:1]
    left_eye, right_eye = found.landmarks[36:42].mean(axis=0), found.landmarks[42:48].mean(axis=0)
    assert abs(left_eye[1] - right_eye[1]) < 4  # level, in pixels of 128
    assert 0.25 < (left_eye[1] + right_eye[1]) / 2 / 128 < 0.55
    assert 0.4 < (left_eye[0] + right_eye[0]) / 2 / 128 < 0.6

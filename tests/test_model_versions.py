"""Data written by earlier releases keeps working; collections keep the face model they were created with.

The release before face model 2.0 (commit ``PREVIOUS_RELEASE``, face model
``rekollect-dlib-resnet-v1``, before versions were numbered) writes a data directory here; this
release then serves it: its collection reports model 1.0, its stored faces are searched with the
1.0 pack, new faces indexed into it use 1.0, and a new collection gets 2.0, side by side in one
server. The release before the video job queue (``RELEASE_BEFORE_JOB_QUEUE``) is killed with a job
in progress; this release migrates its ``jobs.sqlite3`` and finishes the job.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest
from support import FACES, ServerProcess, image_bytes, release_source

PREVIOUS_RELEASE = "4a016275923cec160a8a2b2996efe4b5d58ba4d7"
"""The last commit on main before face model 2.0."""


RELEASE_BEFORE_JOB_QUEUE = "204b01814a1b6e02b7368983763f978595889be7"
"""The last commit on main before video jobs were claimed under leases (``jobs.sqlite3`` schema 0)."""


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``src`` folder of the release before face model 2.0."""
    return release_source(PREVIOUS_RELEASE, tmp_path_factory.mktemp("previous-release"))


def test_data_from_the_previous_release_stays_on_model_1(tmp_path, previous_release):
    data = tmp_path / "data"
    old = ServerProcess(data, env={"PYTHONPATH": str(previous_release)}).start()
    try:
        client = old.client()
        assert client.create_collection(CollectionId="old")["FaceModelVersion"] == "rekollect-dlib-resnet-v1"
        stored = client.index_faces(
            CollectionId="old", Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")}, ExternalImageId="obama"
        )["FaceRecords"][0]["Face"]["FaceId"]
    finally:
        old.stop()

    new = ServerProcess(data).start()
    try:
        client = new.client()
        assert client.describe_collection(CollectionId="old")["FaceModelVersion"] == "1.0"
        found = client.search_faces_by_image(
            CollectionId="old", Image={"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}
        )
        assert found["FaceModelVersion"] == "1.0"
        assert [match["Face"]["FaceId"] for match in found["FaceMatches"]] == [stored]
        listed = client.list_faces(CollectionId="old")["Faces"]
        assert [face["IndexFacesModelVersion"] for face in listed] == ["1.0"]
        added = client.index_faces(
            CollectionId="old", Image={"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}, ExternalImageId="o2"
        )
        assert added["FaceModelVersion"] == "1.0"
        matches = client.search_faces(CollectionId="old", FaceId=stored)["FaceMatches"]
        assert [match["Face"]["ExternalImageId"] for match in matches] == ["o2"]

        assert client.create_collection(CollectionId="new")["FaceModelVersion"] == "2.0"
        indexed = client.index_faces(
            CollectionId="new", Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")}, ExternalImageId="obama"
        )
        assert indexed["FaceModelVersion"] == "2.0"
        found = client.search_faces_by_image(
            CollectionId="new", Image={"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}
        )
        assert found["FaceModelVersion"] == "2.0" and found["FaceMatches"][0]["Similarity"] >= 80
        listing = client.list_collections()
        assert dict(zip(listing["CollectionIds"], listing["FaceModelVersions"], strict=True)) == {
            "old": "1.0",
            "new": "2.0",
        }
    finally:
        new.stop()


def test_new_collections_can_stay_on_model_1(tmp_path):
    server = ServerProcess(tmp_path / "data", "--face-model-version", "1.0").start()
    try:
        client = server.client()
        assert client.create_collection(CollectionId="c")["FaceModelVersion"] == "1.0"
        indexed = client.index_faces(CollectionId="c", Image={"Bytes": image_bytes("groups/selfie-many-people.jpg")})
        # dlib's HOG stage finds the four frontal faces of the selfie; model 2.0 finds six.
        assert indexed["FaceModelVersion"] == "1.0" and len(indexed["FaceRecords"]) == 4
    finally:
        server.stop()


def test_video_job_left_by_the_previous_release_is_finished(tmp_path):
    release = release_source(RELEASE_BEFORE_JOB_QUEUE, tmp_path / "release")
    (tmp_path / "buckets" / "videos").mkdir(parents=True)
    shutil.copyfile(FACES / "video" / "short_hamilton_clip.mp4", tmp_path / "buckets" / "videos" / "clip.mp4")
    args = ("--s3-local-root", str(tmp_path / "buckets"))
    old = ServerProcess(tmp_path / "data", *args, env={"PYTHONPATH": str(release)}).start()
    try:
        job_id = old.client().start_face_detection(Video={"S3Object": {"Bucket": "videos", "Name": "clip.mp4"}})[
            "JobId"
        ]
    finally:
        old.stop(signal.SIGKILL)
    new = ServerProcess(tmp_path / "data", *args).start()
    try:
        client = new.client()
        deadline = time.monotonic() + 120
        while (job := client.get_face_detection(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert job["JobStatus"] == "SUCCEEDED" and job["Faces"]
    finally:
        new.stop()

"""Data written by earlier releases keeps working; collections keep the face model they were created with.

The release before face model 2.0 (commit ``PREVIOUS_RELEASE``, face model
``rekollect-dlib-resnet-v1``, before versions were numbered) writes a data directory here; this
release then serves it: its collection reports model 1.0, its stored faces are searched with the
1.0 pack, new faces indexed into it use 1.0, and a new collection gets the default, 2.1, side by
side in one server. A 2.0 collection written by the release before 2.1 (``RELEASE_BEFORE_2_1``)
answers with the very same Similarity, and ``rekollect collection upgrade`` moves it to 2.1. The release before the video job queue (``RELEASE_BEFORE_JOB_QUEUE``) is killed with a job
in progress; this release migrates its ``jobs.sqlite3`` and finishes the job.
"""

from __future__ import annotations

import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import FACES, ServerProcess, image_bytes, release_source

from rekollect.vision.calibrated_pack import SIMILARITY as SIMILARITY_2_1
from rekollect.vision.zoo_pack import _SIMILARITY as ZOO_SIMILARITY

PREVIOUS_RELEASE = "4a016275923cec160a8a2b2996efe4b5d58ba4d7"
"""The last commit on main before face model 2.0."""


RELEASE_BEFORE_JOB_QUEUE = "204b01814a1b6e02b7368983763f978595889be7"
"""The last commit on main before video jobs were claimed under leases (``jobs.sqlite3`` schema 0)."""

RELEASE_BEFORE_2_1 = "1a3e4407d842f3117e9bba640bef095571bbba3e"
"""The last commit on main before face model 2.1 (new collections got 2.0)."""


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

        assert client.create_collection(CollectionId="new")["FaceModelVersion"] == "2.1"
        indexed = client.index_faces(
            CollectionId="new", Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")}, ExternalImageId="obama"
        )
        assert indexed["FaceModelVersion"] == "2.1"
        found = client.search_faces_by_image(
            CollectionId="new", Image={"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}
        )
        assert found["FaceModelVersion"] == "2.1" and found["FaceMatches"][0]["Similarity"] >= 80
        listing = client.list_collections()
        assert dict(zip(listing["CollectionIds"], listing["FaceModelVersions"], strict=True)) == {
            "old": "1.0",
            "new": "2.1",
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


def _searches(client) -> dict[str, list[tuple[str, float]]]:
    """What the ``v2`` collection answers: faces and users matching a second photo of Obama."""
    probe = {"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}
    faces = client.search_faces_by_image(CollectionId="v2", Image=probe, FaceMatchThreshold=0, MaxFaces=10)
    users = client.search_users_by_image(CollectionId="v2", Image=probe, UserMatchThreshold=0, MaxUsers=10)
    return {
        "faces": [(match["Face"]["FaceId"], match["Similarity"]) for match in faces["FaceMatches"]],
        "users": [(match["User"]["UserId"], match["Similarity"]) for match in users["UserMatches"]],
        "versions": [faces["FaceModelVersion"]],
    }


def test_a_2_0_collection_answers_as_before_and_upgrades_to_2_1(tmp_path):
    release = release_source(RELEASE_BEFORE_2_1, tmp_path / "release")
    data = tmp_path / "data"
    old = ServerProcess(data, env={"PYTHONPATH": str(release)}).start()
    try:
        client = old.client()
        assert client.create_collection(CollectionId="v2")["FaceModelVersion"] == "2.0"
        ids = [
            client.index_faces(CollectionId="v2", Image={"Bytes": image_bytes(path)}, ExternalImageId=name)[
                "FaceRecords"
            ][0]["Face"]["FaceId"]
            for name, path in (
                ("obama", "people/Barack_Obama/obama.jpg"),
                ("biden", "people/Joe_Biden/biden.jpg"),
            )
        ]
        client.create_user(CollectionId="v2", UserId="obama")
        client.associate_faces(CollectionId="v2", UserId="obama", FaceIds=ids[:1])
        before = _searches(client)
    finally:
        old.stop()
    assert before["versions"] == ["2.0"] and [face for face, _ in before["faces"]] == ids

    new = ServerProcess(data).start()
    try:
        client = new.client()
        assert _searches(client) == before  # the same FaceIds, UserIds and Similarity, to the last digit
        upgraded = subprocess.run(
            [sys.executable, "-m", "rekollect", "collection", "upgrade", "--data-dir", str(data), "--collection-id", "v2"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert upgraded.returncode == 0, upgraded.stderr
        assert "from face model 2.0 to 2.1 (1 user vectors made again)" in upgraded.stdout
        after = _searches(client)
        assert after["versions"] == ["2.1"] and client.describe_collection(CollectionId="v2")["FaceModelVersion"] == "2.1"
        assert [face for face, _ in after["faces"]] == ids
        # The same distances, read on 2.1's false-match-rate scale.
        for (_, similarity_2_0), (_, similarity_2_1) in zip(before["faces"], after["faces"], strict=True):
            distance = ZOO_SIMILARITY.midpoint + ZOO_SIMILARITY.scale * math.log(100.0 / similarity_2_0 - 1.0)
            assert similarity_2_1 == pytest.approx(float(SIMILARITY_2_1.similarity(distance)), abs=1e-3)
        assert after["faces"][0][1] > 99.0 and after["faces"][1][1] < 50.0  # Obama himself; Biden, a stranger
        assert [user for user, _ in after["users"]] == ["obama"] and after["users"][0][1] > 99.0
        listed = client.list_faces(CollectionId="v2")["Faces"]
        assert {face["IndexFacesModelVersion"] for face in listed} == {"2.1"}

        again = subprocess.run(
            [sys.executable, "-m", "rekollect", "collection", "upgrade", "--data-dir", str(data), "--collection-id", "v2"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert again.returncode == 1 and "is on face model 2.1, which has no in-place upgrade" in again.stderr
    finally:
        new.stop()

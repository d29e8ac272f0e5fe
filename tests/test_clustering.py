"""Face clustering (``rekollect-extensions``): StartFaceClustering / GetFaceClustering through boto3
and the aws CLI with the shipped model, accepting clusters as users with ``rekollect cluster``, job
persistence, and the graph clustering itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from email.message import Message
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import ServerProcess, image_bytes
from test_cli import AWS

from rekollect.clustering import graph
from rekollect.clustering.graph import cluster_vectors
from rekollect.clustering.jobs import FACE_CLUSTERING, ClusteringJobs
from rekollect.errors import IdempotentParameterMismatchException, LimitExceededException
from rekollect.storage.jobs import IN_PROGRESS, JobRecord
from rekollect.storage.sqlite_jobs import SqliteJobStore
from rekollect.wire.service_model import DATA_PATH

PHOTOS = {
    "Barack_Obama": ["obama.jpg", "obama1.jpg", "obama2.jpg", "obama3.jpg"],
    "Kit_Harington": ["john1.jpeg", "john2.jpeg", "johnsnow_test1.jpg"],
    "Alex_Lacamoire": ["alex-lacamoire.png", "alex_lacamoire1.jpg", "img1.jpg"],
    "Joe_Biden": ["biden.jpg", "biden2.jpg"],
}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


def extensions_client(url: str, monkeypatch: pytest.MonkeyPatch, **config: object):
    """The documented setup: ``AWS_DATA_PATH`` names the package's data folder, then a new session."""
    monkeypatch.setenv("AWS_DATA_PATH", str(DATA_PATH))
    session = boto3.session.Session(
        region_name="us-east-1", **{key.lower(): value for key, value in CREDENTIALS.items()}
    )
    return session.client(
        "rekollect-extensions", endpoint_url=url, config=Config(retries={"max_attempts": 1}, **config)
    )


def finished(extensions, job_id: str, **page: object) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = extensions.get_face_clustering(JobId=job_id, **page)
        if response["JobStatus"] != "IN_PROGRESS":
            return response
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still in progress")


def index_people(rekognition, collection: str) -> dict[str, str]:
    """Index one face per photo; return FaceId -> identity."""
    identities = {}
    for person, files in PHOTOS.items():
        for name in files:
            response = rekognition.index_faces(
                CollectionId=collection,
                Image={"Bytes": image_bytes(f"people/{person}/{name}")},
                ExternalImageId=f"{person}.{name}",
                MaxFaces=1,
            )
            identities[response["FaceRecords"][0]["Face"]["FaceId"]] = person
    return identities


@pytest.fixture(scope="module")
def people(rekognition) -> tuple[str, dict[str, str]]:
    """A collection holding the photos of four people, and its faces' identities."""
    collection = "clustering-people"
    rekognition.create_collection(CollectionId=collection)
    yield collection, index_people(rekognition, collection)
    rekognition.delete_collection(CollectionId=collection)


@pytest.fixture
def extensions(server, monkeypatch):
    return extensions_client(server.url, monkeypatch)


def test_clusters_are_the_people(extensions, people):
    collection, identities = people
    job_id = extensions.start_face_clustering(CollectionId=collection)["JobId"]
    result = finished(extensions, job_id)
    assert result["JobStatus"] == "SUCCEEDED" and result["Progress"] == 100.0
    assert result["FaceMatchThreshold"] == 82.0  # face model 2.1's default (DEFAULT_CLUSTER_THRESHOLDS)
    assert result["MinClusterSize"] == 2
    assert result["FaceCount"] == len(identities)
    clusters = result["Clusters"]
    by_person = defaultdict(list)
    for cluster in clusters:
        people_in_it = {identities[face_id] for face_id in cluster["FaceIds"]}
        assert len(people_in_it) == 1, cluster  # no cluster mixes people
        by_person[people_in_it.pop()].append(cluster)
        assert cluster["RepresentativeFaceId"] == cluster["FaceIds"][0]
        assert 0 < cluster["Cohesion"] <= 100 and "SuggestedUserId" not in cluster
    assert all(len(found) == 1 for found in by_person.values())  # no person split in two clusters
    assert len(by_person) >= 3
    assert [len(c["FaceIds"]) for c in clusters] == sorted((len(c["FaceIds"]) for c in clusters), reverse=True)
    assert [c["ClusterId"] for c in clusters] == [str(number) for number in range(1, len(clusters) + 1)]
    clustered = {face_id for cluster in clusters for face_id in cluster["FaceIds"]}
    assert clustered | set(result["UnclusteredFaceIds"]) == set(identities)
    assert result["ClusterCount"] == len(clusters) and result["UnclusteredFaceCount"] == len(
        result["UnclusteredFaceIds"]
    )

    pages, token = [], None
    while True:
        page = extensions.get_face_clustering(JobId=job_id, MaxResults=2, **({"NextToken": token} if token else {}))
        assert len(page["Clusters"]) + len(page["UnclusteredFaceIds"]) <= 2
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break
    assert [c for page in pages for c in page["Clusters"]] == clusters
    assert [f for page in pages for f in page["UnclusteredFaceIds"]] == result["UnclusteredFaceIds"]


def test_results_follow_deleted_faces_and_a_deleted_collection(rekognition, extensions):
    """A finished job lists only faces that still exist, and none once its collection is deleted."""
    collection = "clustering-then-deleted"
    rekognition.create_collection(CollectionId=collection)
    identities = index_people(rekognition, collection)
    job_id = extensions.start_face_clustering(CollectionId=collection)["JobId"]
    before = finished(extensions, job_id)
    largest = before["Clusters"][0]
    gone = [largest["RepresentativeFaceId"], *before["UnclusteredFaceIds"][:1]]
    assert rekognition.delete_faces(CollectionId=collection, FaceIds=gone)["DeletedFaces"] == gone
    after = extensions.get_face_clustering(JobId=job_id)
    listed = {face for cluster in after["Clusters"] for face in cluster["FaceIds"]} | set(after["UnclusteredFaceIds"])
    assert listed == set(identities) - set(gone)
    assert after["Clusters"][0]["FaceIds"] == largest["FaceIds"][1:]
    assert "RepresentativeFaceId" not in after["Clusters"][0] and "StatusMessage" not in after
    assert after["JobStatus"] == "SUCCEEDED" and after["FaceCount"] == before["FaceCount"]

    rekognition.delete_collection(CollectionId=collection)
    deleted = extensions.get_face_clustering(JobId=job_id)
    assert deleted["JobStatus"] == "SUCCEEDED" and deleted["Clusters"] == [] and deleted["UnclusteredFaceIds"] == []
    assert "was deleted after the job finished" in deleted["StatusMessage"]
    # A new collection of the same id is another collection: the old job's faces are still gone.
    rekognition.create_collection(CollectionId=collection)
    try:
        again = extensions.get_face_clustering(JobId=job_id)
        assert again["Clusters"] == [] and "was deleted after the job finished" in again["StatusMessage"]
    finally:
        rekognition.delete_collection(CollectionId=collection)


def test_everything_in_one_cluster_at_threshold_zero(extensions, people):
    collection, identities = people
    job_id = extensions.start_face_clustering(CollectionId=collection, FaceMatchThreshold=0, MinClusterSize=3)["JobId"]
    result = finished(extensions, job_id)
    assert result["MinClusterSize"] == 3
    assert all(len(cluster["FaceIds"]) >= 3 for cluster in result["Clusters"])
    assert sum(len(c["FaceIds"]) for c in result["Clusters"]) + len(result["UnclusteredFaceIds"]) == len(identities)


def test_errors(server, extensions, collection, monkeypatch):
    with pytest.raises(ClientError) as caught:
        extensions.start_face_clustering(CollectionId="no-such-collection")
    assert error_code(caught) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        extensions.get_face_clustering(JobId="no-such-job")
    assert error_code(caught) == "ResourceNotFoundException"
    unchecked = extensions_client(server.url, monkeypatch, parameter_validation=False)  # the server checks
    for bad in ({"FaceMatchThreshold": 101}, {"MinClusterSize": 1}, {"ClientRequestToken": "a b"}):
        with pytest.raises(ClientError) as caught:
            unchecked.start_face_clustering(CollectionId=collection, **bad)
        assert error_code(caught) == "InvalidParameterException", bad
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    job_id = extensions.start_face_clustering(CollectionId=collection)["JobId"]
    assert finished(extensions, job_id)["FaceCount"] == 0
    with pytest.raises(ClientError) as caught:
        extensions.get_face_clustering(JobId=job_id, NextToken="forged")
    assert error_code(caught) == "InvalidPaginationTokenException"


def test_client_request_token_is_idempotent(extensions, collection):
    first = extensions.start_face_clustering(CollectionId=collection, ClientRequestToken="cluster-once")["JobId"]
    again = extensions.start_face_clustering(CollectionId=collection, ClientRequestToken="cluster-once")["JobId"]
    assert again == first
    with pytest.raises(ClientError) as caught:
        extensions.start_face_clustering(CollectionId=collection, ClientRequestToken="cluster-once", MinClusterSize=5)
    assert error_code(caught) == "IdempotentParameterMismatchException"


def test_the_aws_cli_calls_it_with_the_shipped_model(server, collection):
    env = {**os.environ, **CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1", "AWS_DATA_PATH": str(DATA_PATH)}
    started = subprocess.run(
        [AWS, "rekollect-extensions", "start-face-clustering", "--collection-id", collection,
         "--endpoint-url", server.url, "--output", "text", "--query", "JobId"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert started.stdout.strip()


def test_accept_a_cluster_as_a_user_with_the_cli(server, rekognition, extensions, people, monkeypatch):
    collection, identities = people
    env = {**os.environ, **CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}
    command = [sys.executable, "-m", "rekollect", "cluster", "--endpoint-url", server.url, "--no-progress"]
    shown = subprocess.run(
        [*command, "--collection-id", collection], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:3] == ["ClusterId", "Faces", "Cohesion"]
    assert any("Barack_Obama." in line for line in lines)  # ExternalImageIds shown
    job_id = lines[-1].split("--job-id ")[1].split()[0]  # the command that accepts this very job's clusters
    listed = {row.split()[0]: row for row in lines[2:] if row.split()[0].isdigit()}

    # --job-id reads that job again (no new job, the same numbering) and accepts its cluster 1.
    jobs_before = len(extensions.list_jobs(JobType="FACE_CLUSTERING")["Jobs"])
    accepted = subprocess.run(
        [*command, "--job-id", job_id, "--accept", "1", "--user-id", "first-person", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stderr
    assert len(extensions.list_jobs(JobType="FACE_CLUSTERING")["Jobs"]) == jobs_before
    result = json.loads(accepted.stdout)
    assert result["JobId"] == job_id and result["Accepted"][0]["UserId"] == "first-person"
    cluster_1 = next(cluster for cluster in result["Clusters"] if cluster["ClusterId"] == "1")
    assert str(len(cluster_1["FaceIds"])) == listed["1"].split()[1]
    users = rekognition.list_users(CollectionId=collection)["Users"]
    assert {"UserId": "first-person", "UserStatus": "ACTIVE"} in users
    faces = rekognition.list_faces(CollectionId=collection, UserId="first-person")["Faces"]
    assert {face["FaceId"] for face in faces} == set(cluster_1["FaceIds"])
    assert len({identities[face["FaceId"]] for face in faces}) == 1 and len(faces) >= 2

    unknown = subprocess.run([*command, "--job-id", job_id, "--accept", "99"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and f"job {job_id} has no cluster 99" in unknown.stderr

    # Associated faces are left out by default, and suggest their user when included.
    result = finished(extensions, extensions.start_face_clustering(CollectionId=collection)["JobId"])
    assert not {face["FaceId"] for face in faces} & {f for c in result["Clusters"] for f in c["FaceIds"]}
    result = finished(
        extensions, extensions.start_face_clustering(CollectionId=collection, IncludeAssociatedFaces=True)["JobId"]
    )
    suggested = [c for c in result["Clusters"] if c.get("SuggestedUserId") == "first-person"]
    assert len(suggested) == 1 and {face["FaceId"] for face in faces} <= set(suggested[0]["FaceIds"])
    rekognition.delete_user(CollectionId=collection, UserId="first-person")


def test_a_clusters_default_user_is_its_dominant_external_image_id(server, rekognition, collection):
    """Faces indexed with one ExternalImageId per person (``rekollect index --external-image-id folder``)
    name their cluster's user; clusters without a majority get ``cluster-<job>-<id>``."""
    for person in ("Joe_Biden", "Kit_Harington"):
        for name in PHOTOS[person]:
            rekognition.index_faces(
                CollectionId=collection, Image={"Bytes": image_bytes(f"people/{person}/{name}")},
                ExternalImageId=person if person == "Joe_Biden" else name, MaxFaces=1,
            )  # fmt: skip
    env = {**os.environ, **CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-m", "rekollect", "cluster", "--collection-id", collection, "--accept", "--json",
         "--no-progress", "--endpoint-url", server.url],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    names = {entry["UserId"] for entry in result["Accepted"]}
    kit = next(c["ClusterId"] for c in result["Clusters"] if len(c["FaceIds"]) == 3)
    assert names == {"Joe_Biden", f"cluster-{result['JobId'][:8]}-{kit}"}
    assert {user["UserId"] for user in rekognition.list_users(CollectionId=collection)["Users"]} == names


def test_an_unfinished_job_is_run_again_after_a_restart(tmp_path, monkeypatch):
    server = ServerProcess(tmp_path / "data").start()
    try:
        rekognition = server.client()
        rekognition.create_collection(CollectionId="c")
        for name in PHOTOS["Kit_Harington"]:
            rekognition.index_faces(
                CollectionId="c", Image={"Bytes": image_bytes(f"people/Kit_Harington/{name}")}, MaxFaces=1
            )
    finally:
        server.stop()
    store = SqliteJobStore(tmp_path / "data" / "jobs.sqlite3")
    request = {"CollectionId": "c", "FaceMatchThreshold": 97.0, "MinClusterSize": 2, "IncludeAssociatedFaces": False}
    store.add(JobRecord("left-by-a-crash", FACE_CLUSTERING, None, request, IN_PROGRESS), 20, (FACE_CLUSTERING,))
    # A worker that died holding it: its lease has not run out, but its process is gone.
    store.claim("999999999@" + socket.gethostname(), 3600, (FACE_CLUSTERING,))
    store.close()
    server.start()
    try:
        result = finished(extensions_client(server.url, monkeypatch), "left-by-a-crash")
        assert result["JobStatus"] == "SUCCEEDED" and result["FaceCount"] == 3
        assert [len(c["FaceIds"]) for c in result["Clusters"]] == [3]
    finally:
        server.stop()


def test_job_limit_and_token_mismatch(tmp_path: Path):
    jobs = ClusteringJobs(None, SqliteJobStore(tmp_path / "jobs.sqlite3"), max_jobs=1)  # type: ignore[arg-type]
    params = {"CollectionId": "c", "FaceMatchThreshold": 97.0, "MinClusterSize": 2, "IncludeAssociatedFaces": False}
    first = jobs.start(params, "t")
    assert jobs.start(params, "t") == first
    with pytest.raises(IdempotentParameterMismatchException):
        jobs.start({**params, "MinClusterSize": 3}, "t")
    with pytest.raises(LimitExceededException):
        jobs.start(params, None)


def _blobs(people: int, per_person: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((people, 64)).astype(np.float32)
    truth = np.repeat(np.arange(people), per_person)
    return centres[truth] + 0.05 * rng.standard_normal((len(truth), 64)).astype(np.float32), truth


def test_graph_clustering_finds_separated_people():
    vectors, truth = _blobs(40, 5)
    clusters = cluster_vectors(vectors, max_distance=1.0)
    assert sorted(sorted(truth[c.members].tolist()) for c in clusters) == [[p] * 5 for p in range(40)]
    assert all(np.all(np.diff(c.distances) >= 0) and c.distances[0] == 0 for c in clusters)
    assert cluster_vectors(vectors, max_distance=0.01) == []  # nothing close enough: all unclustered
    assert len(cluster_vectors(vectors, max_distance=1.0, min_size=6)) == 0


def test_graph_clustering_through_the_ivf_agrees(monkeypatch):
    vectors, _ = _blobs(300, 4, seed=1)
    exact = cluster_vectors(vectors, max_distance=1.0)
    monkeypatch.setattr(graph, "EXACT_LIMIT", 100)
    approximate = cluster_vectors(vectors, max_distance=1.0)
    assert [c.members.tolist() for c in approximate] == [c.members.tolist() for c in exact]
    assert len(exact) == 300


def test_a_browser_calls_it_like_the_rekognition_operations(server):
    """``POST /`` with ``X-Amz-Target: RekollectExtensions.<Op>``, errors in the JSON 1.1 shape (local mode: unsigned)."""

    def post(target: str, body: bytes) -> tuple[int, Message, dict]:
        request = urllib.request.Request(
            server.url, data=body, headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

    status, headers, body = post("RekollectExtensions.GetFaceClustering", b'{"JobId": "nope"}')
    assert status == 400 and body["__type"] == "ResourceNotFoundException" and "nope" in body["message"]
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    status, _, body = post("RekollectExtensions.CreateCollection", b'{"CollectionId": "x"}')
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, _, body = post("RekognitionService.GetFaceClustering", b'{"JobId": "nope"}')
    assert status == 400 and body["__type"] == "UnknownOperationException"

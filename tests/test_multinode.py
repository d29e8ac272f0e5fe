"""Two nodes on one PostgreSQL behind HAProxy, each node in its own network namespace.

Checked here, with real PostgreSQL (Debian's package, run as its own user), real HAProxy and S3
(moto's server), through boto3 as any client: writes acknowledged by one node are seen by the
other at once (and deletes are never undone), idempotency tokens, NextTokens, conflicts and user
checks hold across nodes, a video job of a killed node is taken over and finished by the other
under the cluster-wide job limit, PostgreSQL restarting mid-traffic gives AWS errors and loses no
acknowledged write, a node killed with SIGKILL loses nothing it acknowledged, and a new node
starts from the index snapshot another node published to S3, ready only once caught up.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError
from cluster import LoadBalancer, Network, Node, haproxy_config, signed_client
from postgres_server import PostgresServer, require_postgres
from support import FACES, MotoServer, image_bytes

from rekollect.wire.service_model import DATA_PATH

OBAMA = image_bytes("people/Barack_Obama/obama.jpg")
OBAMA_AGAIN = image_bytes("people/Barack_Obama/obama2.jpg")
BIDEN = image_bytes("people/Joe_Biden/biden.jpg")
LEASE_SECONDS = 3


@dataclass
class Cluster:
    network: Network
    postgres: PostgresServer
    s3: MotoServer
    nodes: list[Node]
    balancer: LoadBalancer

    @property
    def a(self) -> Node:
        return self.nodes[0]

    @property
    def b(self) -> Node:
        return self.nodes[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_postgres()
    root = tmp_path_factory.mktemp("cluster")
    network = Network(nodes=3)
    postgres = s3 = balancer = None
    nodes: list[Node] = []
    try:
        postgres = PostgresServer(listen=network.host_addresses())
        s3 = MotoServer(host="0.0.0.0" if network.isolated else "127.0.0.1").start()
        s3.client("s3").create_bucket(Bucket="shared")
        s3.client("s3").put_object(
            Bucket="shared", Key="clip.mp4", Body=(FACES / "video" / "short_hamilton_clip.mp4").read_bytes()
        )
        for index in (1, 2, 3):
            host = network.host_address(index)
            nodes.append(
                Node(
                    network,
                    index,
                    root,
                    postgres.url_for("rekollect", host),
                    "--s3-endpoint-url",
                    f"http://{host}:{s3.port}",
                    "--snapshot-url",
                    "s3://shared/index-snapshots",
                    "--job-lease",
                    str(LEASE_SECONDS),
                    "--video-max-jobs",
                    "1",
                )
            )
        for node in nodes[:2]:
            node.start(wait=False)
        for node in nodes[:2]:
            node.wait_ready()
        balancer = LoadBalancer(nodes[:2])
        yield Cluster(network, postgres, s3, nodes, balancer)
    finally:
        for node in nodes:
            node.stop(signal.SIGKILL)
        for part in (balancer, postgres):
            if part is not None:
                part.close()
        if s3 is not None:
            s3.stop()
        network.close()


def _face_ids(client, collection_id: str) -> set[str]:
    found, token = set(), None
    while True:
        page = client.list_faces(CollectionId=collection_id, MaxResults=100, **({"NextToken": token} if token else {}))
        found |= {face["FaceId"] for face in page["Faces"]}
        token = page.get("NextToken")
        if not token:
            return found


def _code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def test_nodes_have_their_own_addresses_and_answer_health(cluster):
    for node in cluster.nodes[:2]:
        status, body = node.health()
        assert status == 200, body
        report = json.loads(body)
        assert report["status"] == "ready" and report["indexCursor"] >= report["storeCursor"]
    if cluster.network.isolated:
        assert cluster.a.url != cluster.b.url and cluster.a.url.startswith(f"http://{cluster.network.node_address(1)}:")
    # The balancer forwards signed requests to both nodes.
    client = signed_client(cluster.balancer.url)
    for _ in range(4):
        assert "CollectionIds" in client.list_collections()


def test_writes_on_one_node_are_seen_by_the_other_at_once(cluster):
    a, b = cluster.a.client(), cluster.b.client()
    a.create_collection(CollectionId="visible")
    for _ in range(5):
        face_id = a.index_faces(CollectionId="visible", Image={"Bytes": OBAMA}, MaxFaces=1)["FaceRecords"][0]["Face"][
            "FaceId"
        ]
        matches = b.search_faces_by_image(CollectionId="visible", Image={"Bytes": OBAMA_AGAIN})["FaceMatches"]
        assert face_id in {match["Face"]["FaceId"] for match in matches}
        assert b.search_faces(CollectionId="visible", FaceId=face_id)["SearchedFaceId"] == face_id
        assert b.delete_faces(CollectionId="visible", FaceIds=[face_id])["DeletedFaces"] == [face_id]
        matches = a.search_faces_by_image(CollectionId="visible", Image={"Bytes": OBAMA_AGAIN})["FaceMatches"]
        assert face_id not in {match["Face"]["FaceId"] for match in matches}


def test_tokens_conflicts_and_users_hold_across_nodes(cluster):
    a, b = cluster.a.client(), cluster.b.client()
    a.create_collection(CollectionId="shared-rules")
    with pytest.raises(ClientError) as caught:
        b.create_collection(CollectionId="shared-rules")
    assert _code(caught.value) == "ResourceAlreadyExistsException"

    # The same ClientRequestToken on two nodes: one user, the second call replays the first.
    a.create_user(CollectionId="shared-rules", UserId="obama", ClientRequestToken="token-1")
    b.create_user(CollectionId="shared-rules", UserId="obama", ClientRequestToken="token-1")
    with pytest.raises(ClientError) as caught:
        b.create_user(CollectionId="shared-rules", UserId="someone-else", ClientRequestToken="token-1")
    assert _code(caught.value) == "IdempotentParameterMismatchException"

    ids = [
        a.index_faces(CollectionId="shared-rules", Image={"Bytes": image}, MaxFaces=1)["FaceRecords"][0]["Face"][
            "FaceId"
        ]
        for image in (OBAMA, OBAMA_AGAIN, BIDEN)
    ]
    # A NextToken handed out by one node is valid on the other (one signing key, in the database).
    page = a.list_faces(CollectionId="shared-rules", MaxResults=1)
    rest = b.list_faces(CollectionId="shared-rules", MaxResults=10, NextToken=page["NextToken"])
    assert [face["FaceId"] for face in page["Faces"] + rest["Faces"]] == ids

    # AssociateFaces on A updates the user vector that B searches; DeleteFaces on B sees the association.
    a.associate_faces(CollectionId="shared-rules", UserId="obama", FaceIds=ids[:2])
    users = b.search_users_by_image(CollectionId="shared-rules", Image={"Bytes": OBAMA})["UserMatches"]
    assert [match["User"]["UserId"] for match in users] == ["obama"]
    assert users[0]["User"]["UserStatus"] == "ACTIVE"
    deleted = b.delete_faces(CollectionId="shared-rules", FaceIds=ids[:1])
    assert deleted["DeletedFaces"] == []
    assert deleted["UnsuccessfulFaceDeletions"][0]["Reasons"] == ["ASSOCIATED_TO_AN_EXISTING_USER"]


def _job_owner(cluster: Cluster, job_id: str) -> str | None:
    """The worker (``<pid>@<host>``) holding ``job_id`` in the shared job store, if any."""
    with psycopg.connect(cluster.postgres.url, autocommit=True) as connection:
        row = connection.execute("SELECT owner FROM jobs WHERE job_id = %s", (job_id,)).fetchone()
    return None if row is None else row[0]


def _wait_for_the_balancer(cluster: Cluster) -> None:
    """Until HAProxy's own health checks have a node up again (its /health answers 200)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{cluster.balancer.url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "no node is up behind the balancer"
        time.sleep(0.2)


def test_video_job_of_a_killed_node_is_finished_by_the_other(cluster):
    """No step depends on timing: while the test holds an exclusive lock on the index change log, no
    face search can search (each search first reads that log), so the job is provably in progress
    both at the job limit and when the node holding it is killed."""
    a, b = cluster.a.client(), cluster.b.client()
    a.create_collection(CollectionId="takeover")
    a.index_faces(CollectionId="takeover", Image={"Bytes": OBAMA}, MaxFaces=1)
    video = {"S3Object": {"Bucket": "shared", "Name": "clip.mp4"}}
    blocker = psycopg.connect(cluster.postgres.url)
    blocker.execute("LOCK TABLE index_log IN ACCESS EXCLUSIVE MODE")
    holder = None
    try:
        job_id = a.start_face_search(CollectionId="takeover", Video=video)["JobId"]
        # The job limit (1) is cluster-wide.
        with pytest.raises(ClientError) as caught:
            b.start_face_search(CollectionId="takeover", Video=video)
        assert _code(caught.value) == "LimitExceededException"
        deadline = time.monotonic() + 60
        while (owner := _job_owner(cluster, job_id)) is None:  # a node's worker claims it
            assert time.monotonic() < deadline, "no node claimed the job"
            time.sleep(0.1)
        holder = next(node for node in cluster.nodes[:2] if owner.startswith(f"{node.process.pid}@"))
        holder.stop(signal.SIGKILL)
    finally:
        blocker.rollback()
        blocker.close()
    other = cluster.b if holder is cluster.a else cluster.a
    try:
        survivor = other.client()
        deadline = time.monotonic() + 120
        while (status := survivor.get_face_search(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
            assert time.monotonic() < deadline, "the other node did not take the job over"
            time.sleep(0.5)
        assert status["JobStatus"] == "SUCCEEDED", status.get("StatusMessage")
        assert status["VideoMetadata"]["DurationMillis"] > 0
        assert _job_owner(cluster, job_id) is None
        other.wait_ready()
        _wait_for_the_balancer(cluster)
        through_balancer = signed_client(cluster.balancer.url, retries=5)
        assert through_balancer.get_face_search(JobId=job_id)["Persons"] == status["Persons"]
    finally:
        if holder is not None:
            holder.start()


def test_postgres_restart_mid_traffic_loses_no_acknowledged_write(cluster):
    setup = signed_client(cluster.balancer.url, retries=3)
    setup.create_collection(CollectionId="pg-restart")
    acknowledged: list[str] = []
    errors: list[tuple[str, str]] = []
    stop = threading.Event()

    def traffic() -> None:
        client = signed_client(cluster.balancer.url, retries=1)
        while not stop.is_set():
            try:
                response = client.index_faces(CollectionId="pg-restart", Image={"Bytes": BIDEN}, MaxFaces=1)
                acknowledged.append(response["FaceRecords"][0]["Face"]["FaceId"])
            except ClientError as error:
                errors.append((_code(error), error.response["Error"]["Message"]))
                time.sleep(0.05)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while not acknowledged:  # traffic flows
            assert time.monotonic() < deadline and worker.is_alive()
            time.sleep(0.1)
        cluster.postgres.stop(signal.SIGQUIT)  # immediate shutdown: every backend killed, WAL recovery at start, as after a crash
        while not errors:  # down until a request has met the outage, however slow the traffic
            assert time.monotonic() < deadline, "no request met the database outage"
            time.sleep(0.1)
        cluster.postgres.start()
        before_restart = len(acknowledged)
        deadline = time.monotonic() + 60
        while len(acknowledged) < before_restart + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join()
    assert len(acknowledged) >= before_restart + 2, "the nodes did not reconnect"
    assert errors, "no request met the database outage"
    assert {code for code, _ in errors} == {"InternalServerError"}, errors
    assert all("database is unavailable" in message for _, message in errors), errors
    # The nodes reconnected by themselves; every acknowledged face is there, on both nodes.
    for node in (cluster.a, cluster.b):
        assert set(acknowledged) <= _face_ids(node.client(retries=3), "pg-restart")
    assert len(acknowledged) > 3


def test_killed_node_loses_nothing_it_acknowledged(cluster):
    a = cluster.a.client()
    a.create_collection(CollectionId="node-crash")
    acknowledged: list[str] = []

    def traffic() -> None:
        with pytest.raises(Exception):  # noqa: B017 - any error: the node dies under it
            while True:
                response = a.index_faces(CollectionId="node-crash", Image={"Bytes": OBAMA}, MaxFaces=1)
                acknowledged.append(response["FaceRecords"][0]["Face"]["FaceId"])

    worker = threading.Thread(target=traffic)
    worker.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 3:
        assert time.monotonic() < deadline and worker.is_alive()
        time.sleep(0.1)
    cluster.a.stop(signal.SIGKILL)
    worker.join()
    try:
        assert len(acknowledged) > 2
        assert set(acknowledged) <= _face_ids(cluster.b.client(), "node-crash")
    finally:
        cluster.a.start()


def test_new_node_starts_from_the_published_snapshot(cluster):
    a = cluster.a.client()
    a.create_collection(CollectionId="snapshotted")
    face_id = a.index_faces(CollectionId="snapshotted", Image={"Bytes": OBAMA}, MaxFaces=1)["FaceRecords"][0]["Face"][
        "FaceId"
    ]
    cluster.a.stop()  # a clean stop writes and publishes the last snapshot
    cluster.a.start()
    listing = cluster.s3.client("s3").list_objects_v2(Bucket="shared", Prefix="index-snapshots/")
    assert any(item["Key"].endswith("latest.json") for item in listing.get("Contents", []))
    # A face indexed after the snapshot reaches the new node through the change log.
    later = a.index_faces(CollectionId="snapshotted", Image={"Bytes": BIDEN}, MaxFaces=1)["FaceRecords"][0]["Face"][
        "FaceId"
    ]
    third = cluster.nodes[2]
    third.start(fresh=True)
    try:
        log = third.log.read_text()
        assert "fetched the shared index snapshot" in log and "(snapshot," in log
        client = third.client()
        assert client.search_faces(CollectionId="snapshotted", FaceId=face_id)["SearchedFaceId"] == face_id
        matches = client.search_faces_by_image(CollectionId="snapshotted", Image={"Bytes": BIDEN})["FaceMatches"]
        assert later in {match["Face"]["FaceId"] for match in matches}
    finally:
        third.stop()


def test_deployment_guide_shows_the_tested_balancer_config():
    """docs/deployment.md shows, verbatim, the HAProxy configuration these tests run with."""
    guide = (Path(__file__).resolve().parent.parent / "docs" / "deployment.md").read_text()
    expected = haproxy_config("0.0.0.0:8085", [("node1", "10.0.0.11:8085"), ("node2", "10.0.0.12:8085")])
    assert expected in guide


def test_backup_and_restore_on_the_shared_database(cluster, tmp_path):
    """``rekollect collection export|import --database-url`` while the nodes run: the copy is searchable on every node."""
    a, b = cluster.a.client(), cluster.b.client()
    a.create_collection(CollectionId="to-back-up")
    for image in (OBAMA, BIDEN):
        a.index_faces(CollectionId="to-back-up", Image={"Bytes": image}, MaxFaces=1, ExternalImageId="person")
    backup = tmp_path / "backup.rkbackup"
    database = ("--database-url", cluster.postgres.url)
    command = [sys.executable, "-m", "rekollect", "collection"]
    exported = subprocess.run(
        [*command, "export", "--collection-id", "to-back-up", "--output", str(backup), *database],
        capture_output=True,
        text=True,
    )
    assert exported.returncode == 0, exported.stderr
    imported = subprocess.run(
        [*command, "import", "--input", str(backup), "--collection-id", "restored", "--new-face-ids", *database],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stderr
    original = a.search_faces_by_image(CollectionId="to-back-up", Image={"Bytes": OBAMA_AGAIN})["FaceMatches"]
    copy = b.search_faces_by_image(CollectionId="restored", Image={"Bytes": OBAMA_AGAIN})["FaceMatches"]
    assert [match["Similarity"] for match in copy] == [match["Similarity"] for match in original]
    assert b.describe_collection(CollectionId="restored")["FaceCount"] == 2


def test_a_clustering_job_started_on_one_node_is_answered_by_the_other(cluster, monkeypatch):
    a = cluster.a.client()
    a.create_collection(CollectionId="to-cluster")
    for image in (OBAMA, OBAMA_AGAIN, BIDEN):
        a.index_faces(CollectionId="to-cluster", Image={"Bytes": image}, MaxFaces=1)
    monkeypatch.setenv("AWS_DATA_PATH", str(DATA_PATH))
    on_a, on_b = (signed_client(node.url, service="rekollect-extensions") for node in (cluster.a, cluster.b))
    job_id = on_a.start_face_clustering(CollectionId="to-cluster")["JobId"]
    deadline = time.monotonic() + 60
    while (result := on_b.get_face_clustering(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert result["JobStatus"] == "SUCCEEDED" and result["FaceCount"] == 3
    assert [len(found["FaceIds"]) for found in result["Clusters"]] == [2]  # the two photos of Obama
    assert len(result["UnclusteredFaceIds"]) == 1

"""Two server processes (``--workers 2``) on one port answer as one: a face indexed or deleted
through one is found or gone at once in both (each process's index follows the store's log)."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import ServerProcess, image_bytes

FACE = image_bytes("people/Barack_Obama/obama_small.jpg")
OTHER = image_bytes("people/Tom_Hanks/Tom_Hanks_54745.png")
ROUNDS = 12


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    server = ServerProcess(
        tmp_path_factory.mktemp("workers") / "data", "--workers", "2", "--ann-threshold", "2"
    ).start()
    yield server
    server.stop()


def test_writes_through_one_worker_are_read_through_every_worker(workers):
    workers.client().create_collection(CollectionId="shared")
    indexed = workers.client().index_faces(CollectionId="shared", Image={"Bytes": FACE})["FaceRecords"]
    workers.client().index_faces(CollectionId="shared", Image={"Bytes": OTHER})
    face_id = indexed[0]["Face"]["FaceId"]
    for _ in range(ROUNDS):  # a new client opens a new connection, accepted by either process
        matches = workers.client().search_faces_by_image(CollectionId="shared", Image={"Bytes": FACE})["FaceMatches"]
        assert matches[0]["Face"]["FaceId"] == face_id
    workers.client().delete_faces(CollectionId="shared", FaceIds=[face_id])
    for _ in range(ROUNDS):
        client = workers.client()
        matches = client.search_faces_by_image(
            CollectionId="shared", Image={"Bytes": FACE}, FaceMatchThreshold=0, MaxFaces=10
        )["FaceMatches"]
        assert face_id not in {match["Face"]["FaceId"] for match in matches} and len(matches) == 1
        with pytest.raises(client.exceptions.InvalidParameterException):
            client.search_faces(CollectionId="shared", FaceId=face_id)


def test_both_workers_serve(workers):
    log = workers.log.read_text()
    assert log.count("vector index ready") == 2


def test_metrics_add_up_over_the_workers(workers):
    """Counters live in prometheus-client's multiprocess files: any process's scrape sums them all."""
    for _ in range(ROUNDS):  # new clients: new connections, accepted by either process
        workers.client().list_collections()
    for _ in range(4):
        with urllib.request.urlopen(f"{workers.url}/metrics", timeout=30) as response:
            families = text_string_to_metric_families(response.read().decode())
        counts = {
            sample.labels.get("operation"): sample.value
            for family in families
            for sample in family.samples
            if sample.name == "SuccessfulRequestCount_total"
        }
        assert counts["ListCollections"] == ROUNDS

"""``GET /metrics`` (CloudWatch's Rekognition metric names, the service's gauges), who may read it,
and the one JSON log line per request (``--log-format json``)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from email.message import Message
from types import SimpleNamespace

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families
from support import ServerProcess, image_bytes

from rekollect.errors import InternalServerError, ThrottlingException
from rekollect.gauges import ServiceGauges
from rekollect.index.tiered import TieredIndex
from rekollect.server import load_metrics_token
from rekollect.storage.base import CollectionRecord, FaceRecord
from rekollect.storage.sqlite import SqliteStore
from rekollect.storage.sqlite_jobs import SqliteJobStore
from rekollect.wire.exchange import Exchange
from rekollect.wire.metrics import MetricsAccess, WireMetrics

TOKEN = "metrics-token-0123456789abcdef"
SIGNER = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
"""The key ``ServerProcess.client()`` signs with."""
THROTTLED = ("AKIDSLOW", "slow-secret-0123456789")
GROUP = "groups/t1.jpg"
GROUP_FACES = 6
"""Faces in ``GROUP`` (the shared data set's manifest)."""
COUPLE = "groups/couple.jpg"


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A server with credentials (one of them limited to 1 request a second), a metrics token and JSON logs."""
    root = tmp_path_factory.mktemp("metrics")
    credentials = root / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "credentials": [
                    {"access_key_id": SIGNER[0], "secret_access_key": SIGNER[1]},
                    {"access_key_id": THROTTLED[0], "secret_access_key": THROTTLED[1], "requests_per_second": 1},
                ]
            }
        )
    )
    token = root / "metrics-token"
    token.write_text(TOKEN + "\n")
    server = ServerProcess(
        root / "data",
        "--credentials-file",
        str(credentials),
        "--metrics-token-file",
        str(token),
        "--log-format",
        "json",
    ).start()
    yield server
    server.stop()


def fetch(url: str, token: str | None = None) -> tuple[int, Message, str]:
    """``GET url`` (with ``Authorization: Bearer token``): status, headers (case-insensitive), body."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus text page, keyed by name and label set."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(page: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float | None:
    return page.get((name, frozenset(labels.items())))


def scrape(server: ServerProcess, token: str | None = TOKEN) -> dict[tuple[str, frozenset], float]:
    status, _, body = fetch(f"{server.url}/metrics", token)
    assert status == 200, body
    return samples(body)


def log_line(server: ServerProcess, request_id: str) -> dict:
    """The JSON log line of the request ``request_id`` (waiting up to 5 s for it)."""
    deadline = time.monotonic() + 5
    while True:
        for line in server.log.read_text().splitlines():
            if line.startswith("{") and (record := json.loads(line)).get("request_id") == request_id:
                return record
        assert time.monotonic() < deadline, f"no log line for request {request_id}"
        time.sleep(0.1)


def test_counts_requests_and_faces_under_cloudwatch_names(signed):
    rekognition = signed.client()
    rekognition.create_collection(CollectionId="metered")
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.describe_collection(CollectionId="missing")
    details = rekognition.detect_faces(Image={"Bytes": image_bytes(GROUP)})["FaceDetails"]
    indexed = rekognition.index_faces(CollectionId="metered", Image={"Bytes": image_bytes(COUPLE)}, MaxFaces=1)
    slow = boto3.client(
        "rekognition",
        endpoint_url=signed.url,
        region_name="us-east-1",
        aws_access_key_id=THROTTLED[0],
        aws_secret_access_key=THROTTLED[1],
        config=Config(retries={"total_max_attempts": 1}),
    )
    throttled = 0
    for _ in range(4):
        try:
            slow.list_collections()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ThrottlingException"
            throttled += 1

    page = scrape(signed)
    assert len(details) == GROUP_FACES
    for operation in ("CreateCollection", "DetectFaces", "IndexFaces"):
        assert value(page, "SuccessfulRequestCount_total", operation=operation) == 1
    assert value(page, "UserErrorCount_total", operation="DescribeCollection") == 1
    assert value(page, "SuccessfulRequestCount_total", operation="DescribeCollection") is None
    assert throttled >= 1
    assert value(page, "ThrottledCount_total", operation="ListCollections") == throttled
    assert value(page, "SuccessfulRequestCount_total", operation="ListCollections") == 4 - throttled
    assert value(page, "DetectedFaceCount_total", operation="DetectFaces") == GROUP_FACES
    assert value(page, "DetectedFaceCount_total", operation="IndexFaces") == len(indexed["FaceRecords"]) + len(
        indexed["UnindexedFaces"]
    )
    assert len(indexed["FaceRecords"]) == 1 and len(indexed["UnindexedFaces"]) >= 1
    assert value(page, "ResponseTime_count", operation="DetectFaces") == 1
    assert 0 < value(page, "ResponseTime_sum", operation="DetectFaces") < 120_000  # milliseconds
    assert value(page, "rekollect_collection_faces", collection="metered") == 1
    assert value(page, "rekollect_index_memory_bytes") > 0
    assert value(page, "rekollect_video_jobs_in_progress") == 0


def test_one_json_log_line_per_request(signed):
    rekognition = signed.client()
    created = rekognition.create_collection(CollectionId="logged")
    with pytest.raises(ClientError) as caught:
        rekognition.describe_collection(CollectionId="not-there")

    ok = log_line(signed, created["ResponseMetadata"]["RequestId"])
    assert ok["operation"] == "CreateCollection" and ok["status"] == 200 and ok["error"] is None
    assert ok["key_id"] == SIGNER[0] and ok["latency_ms"] > 0 and ok["client"] == "127.0.0.1"
    assert ok["level"] == "INFO" and ok["logger"] == "rekollect.requests"
    failed = log_line(signed, caught.value.response["ResponseMetadata"]["RequestId"])
    assert failed["operation"] == "DescribeCollection" and failed["status"] == 400
    assert failed["error"] == "ResourceNotFoundException" and failed["key_id"] == SIGNER[0]
    assert SIGNER[1] not in signed.log.read_text()


def test_with_credentials_metrics_need_the_token(signed):
    for token in (None, "wrong-token-0123456789abcdef", TOKEN[:-1]):
        status, headers, _ = fetch(f"{signed.url}/metrics", token)
        assert status == 401 and headers.get("WWW-Authenticate") == "Bearer"
    assert fetch(f"{signed.url}/metrics", TOKEN)[0] == 200


def test_in_local_mode_loopback_clients_read_metrics(server, rekognition, collection):
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(COUPLE)})
    page = scrape(server, token=None)
    assert value(page, "rekollect_collection_faces", collection=collection) == 2
    assert value(page, "SuccessfulRequestCount_total", operation="CreateCollection") >= 1


def test_access_rule():
    signed_no_token = MetricsAccess(token=None, local_mode=False)
    assert signed_no_token.refusal(None, "127.0.0.1").status_code == 403
    local = MetricsAccess(token=None, local_mode=True)
    assert local.refusal(None, "127.0.0.1") is None and local.refusal(None, "::ffff:127.0.0.1") is None
    assert local.refusal(None, "10.0.0.1").status_code == 403 and local.refusal(None, None).status_code == 403
    with_token = MetricsAccess(token=TOKEN, local_mode=False)
    assert with_token.refusal(f"Bearer {TOKEN}", "203.0.113.9") is None
    assert with_token.refusal(f"Basic {TOKEN}", "203.0.113.9").status_code == 401
    assert with_token.refusal(None, "127.0.0.1").status_code == 401


def test_errors_are_counted_by_kind():
    metrics = WireMetrics(MetricsAccess(token=None, local_mode=True))
    for error in (ThrottlingException("Rate exceeded"), InternalServerError("boom"), None):
        exchange = Exchange("id", "127.0.0.1", operation="ListFaces")
        exchange.error = error
        metrics.record(exchange, 1.5)
    page = samples(metrics.render().decode())
    for name in ("ThrottledCount_total", "ServerErrorCount_total", "SuccessfulRequestCount_total"):
        assert value(page, name, operation="ListFaces") == 1
    assert value(page, "UserErrorCount_total", operation="ListFaces") is None
    assert value(page, "ResponseTime_sum", operation="ListFaces") == 4.5


def test_a_short_metrics_token_stops_the_server(tmp_path):
    token = tmp_path / "token"
    token.write_text("short")
    completed = subprocess.run(
        [sys.executable, "-m", "rekollect", "serve", "--data-dir", str(tmp_path), "--metrics-token-file", str(token)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode != 0 and "at least 16 characters" in completed.stderr


@pytest.mark.parametrize("text", ["é" * 20, "metrics-token-\u00a0-0123456789", "metrics-token\x07-0123456789"])
def test_a_metrics_token_no_request_could_present_stops_the_server(tmp_path, text):
    token = tmp_path / "token"
    token.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        load_metrics_token(token)
    assert "printable ASCII without spaces" in str(stopped.value)
    token.write_text("metrics-token-!~0123456789")
    assert load_metrics_token(token) == "metrics-token-!~0123456789"


def test_per_collection_series_are_bounded(tmp_path):
    """150 collections: the 100 largest have a series each, the other 50 one series together."""
    store = SqliteStore(tmp_path / "rekollect.sqlite3")
    for number in range(150):
        collection = f"c{number:03d}"
        store.create_collection(CollectionRecord(collection, f"arn:{collection}", dt.datetime.now(dt.UTC), "2.0"), {})
        image = str(uuid.uuid4())
        faces = [
            FaceRecord(str(uuid.uuid4()), image, None, (0.1, 0.1, 0.1, 0.1), 99.0, "2.0", np.ones(2, np.float32))
            for _ in range(number % 7)
        ]
        store.add_faces(collection, image, faces)
    service = SimpleNamespace(store=store, index=SimpleNamespace(inner=TieredIndex()))
    gauges = ServiceGauges(service, SqliteJobStore(tmp_path / "jobs.sqlite3"))
    families = {family.name: family for family in gauges.collect()}
    series = {sample.labels["collection"]: sample.value for sample in families["rekollect_collection_faces"].samples}
    assert len(series) == 100 + 1 and families["rekollect_collections"].samples[0].value == 150
    counts = sorted(((number % 7, f"c{number:03d}") for number in range(150)), key=lambda item: (-item[0], item[1]))
    assert {collection: count for count, collection in counts[:100]} == {
        key: value for key, value in series.items() if key != "(other)"
    }
    assert series["(other)"] == sum(count for count, _ in counts[100:])


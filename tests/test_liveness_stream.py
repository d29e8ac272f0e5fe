"""Face Liveness without a browser: boto3 for the control plane, ``tools.liveness_stream`` for the
stream, against ``rekollect serve`` with TLS and credentials, and the scenes of ``liveness_scenes``.

The live scene passes with high Confidence; the replay, the still photo and the face that never
reaches the oval score low; unknown, expired and used sessions, bad signatures, broken chains and
oversized frames are refused with AWS's errors.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from liveness_scenes import render
from support import ServerProcess, make_certificate
from websockets.exceptions import InvalidStatus

from rekollect.liveness.sessions import EXPIRY_SECONDS
from rekollect.tools.liveness_stream import LivenessStreamClient
from rekollect.wire import eventstream

KEY, SECRET = "AKIDLIVENESS", "liveness-secret-key-for-tests"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("liveness")
    cert, key = make_certificate(root)
    (root / "buckets" / "liveness-out").mkdir(parents=True)
    credentials = root / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "credentials": [
                    {"access_key_id": KEY, "secret_access_key": SECRET},
                    {
                        "access_key_id": "AKIDNOSTREAM",
                        "secret_access_key": "no-stream-secret",
                        "policy": {
                            "Statement": [
                                {"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"},
                                {"Effect": "Deny", "Action": "rekognition:StartFaceLivenessSession", "Resource": "*"},
                            ]
                        },
                    },
                ]
            }
        )
    )
    process = ServerProcess(
        root / "data",
        "--header-timeout",
        "60",  # the suite shares two cores: a starved client may take seconds to send its headers
        "--tls-certificate",
        str(cert),
        "--tls-key",
        str(key),
        "--credentials-file",
        str(credentials),
        "--s3-local-root",
        str(root / "buckets"),
    ).start()
    yield process, cert
    for client in CLIENTS:  # an idle HTTPS connection would hold the shutdown for asyncio's 30 s TLS close
        client.close()
    process.stop()


CLIENTS: list = []


def rekognition(server: tuple[ServerProcess, Path], key: str = KEY, secret: str = SECRET):
    process, cert = server
    client = boto3.client(
        "rekognition",
        endpoint_url=process.url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        verify=str(cert),
        config=Config(retries={"max_attempts": 1}),
    )
    CLIENTS.append(client)
    return client


def streamer(server: tuple[ServerProcess, Path], key: str = KEY, secret: str = SECRET) -> LivenessStreamClient:
    process, cert = server
    return LivenessStreamClient(process.url, REGION, key, secret, ssl.create_default_context(cafile=str(cert)))


def run_scene(server, kind: str, *, settings: dict | None = None, lit_by=None) -> dict:
    client = rekognition(server)
    session_id = client.create_face_liveness_session(Settings=settings or {"AuditImagesLimit": 2})["SessionId"]
    start = int(time.time() * 1000)
    with streamer(server).open(session_id, 640, 480) as stream:

        def send(piece: bytes) -> None:
            stream.send("VideoEvent", {"VideoChunk": base64.b64encode(piece).decode(), "TimestampMillis": start})

        _, events, final = render(kind, stream.session_information, start, lit_by=lit_by, on_chunk=send)
        for event in [*events, *final]:
            stream.send("ClientSessionInformationEvent", event)
        sent = time.perf_counter()
        stream.finish()
        waited = time.perf_counter() - sent
    result = client.get_face_liveness_session_results(SessionId=session_id)
    result["seconds_to_result"] = waited
    result["information"] = stream.session_information
    return result


def test_live_person_passes_with_reference_and_audit_images(server) -> None:
    result = run_scene(server, "live")
    print(f"live: Confidence {result['Confidence']:.1f}, {result['seconds_to_result']:.2f} s from the last chunk")
    assert result["Status"] == "SUCCEEDED"
    assert result["Confidence"] >= 90
    assert result["Challenge"] == {"Type": "FaceMovementAndLightChallenge", "Version": "2.0.0"}
    reference = result["ReferenceImage"]
    assert reference["Bytes"][:2] == b"\xff\xd8" and len(reference["Bytes"]) <= 204_800
    assert 0 < reference["BoundingBox"]["Width"] < 1
    assert len(result["AuditImages"]) == 2


def test_spoofs_score_low(server) -> None:
    live = run_scene(server, "live")
    colours = live["information"]["Challenge"]["FaceMovementAndLightChallenge"]["ColorSequences"]
    for kind in ("replay", "still", "never"):
        result = run_scene(server, kind, lit_by=colours if kind == "replay" else None)
        sequence = result["information"]["Challenge"]["FaceMovementAndLightChallenge"]["ColorSequences"]
        print(f"{kind}: Confidence {result['Confidence']:.1f}")
        if kind == "replay":
            assert sequence != colours  # a new session's random order (7! orders)
        assert result["Status"] == "SUCCEEDED"
        assert result["Confidence"] < 50, kind


def test_images_go_to_the_output_bucket(server, tmp_path) -> None:
    result = run_scene(server, "live", settings={"OutputConfig": {"S3Bucket": "liveness-out", "S3KeyPrefix": "run"}})
    name = result["ReferenceImage"]["S3Object"]["Name"]
    assert name == f"run/{result['SessionId']}/reference.jpg"
    process, _ = server
    assert (process.data_dir.parent / "buckets" / "liveness-out" / name).read_bytes()[:2] == b"\xff\xd8"
    assert "Bytes" not in result["ReferenceImage"]


def test_control_plane_validation_and_idempotency(server) -> None:
    client = rekognition(server)
    first = client.create_face_liveness_session(ClientRequestToken="token-1")["SessionId"]
    assert client.create_face_liveness_session(ClientRequestToken="token-1")["SessionId"] == first
    assert client.create_face_liveness_session(ClientRequestToken="token-2")["SessionId"] != first
    assert client.get_face_liveness_session_results(SessionId=first)["Status"] == "CREATED"
    with pytest.raises(ClientError) as error:
        client.get_face_liveness_session_results(SessionId="00000000-0000-4000-8000-000000000000")
    assert error.value.response["Error"]["Code"] == "SessionNotFoundException"
    with pytest.raises(ClientError) as error:
        client.create_face_liveness_session(Settings={"AuditImagesLimit": 5})
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as error:
        client.create_face_liveness_session(KmsKeyId="alias/key")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_streams_refused_with_aws_errors(server) -> None:
    client = rekognition(server)
    with pytest.raises(InvalidStatus) as refused:
        streamer(server).open("00000000-0000-4000-8000-000000000000", 640, 480)
    assert refused.value.response.headers["x-amzn-ErrorType"] == "SessionNotFoundException"
    session_id = client.create_face_liveness_session()["SessionId"]
    with pytest.raises(InvalidStatus) as refused:
        streamer(server, KEY, "wrong-secret").open(session_id, 640, 480)
    assert refused.value.response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as refused:
        streamer(server, "AKIDNOSTREAM", "no-stream-secret").open(session_id, 640, 480)
    assert refused.value.response.headers["x-amzn-ErrorType"] == "AccessDeniedException"

    with streamer(server).open(session_id, 640, 480) as stream:  # a chain signed from the wrong signature
        stream.send_raw(stream.signed("VideoEvent", {"VideoChunk": "AAAA", "TimestampMillis": 1}, prior="0" * 64))
        assert stream.receive()[:2] == ("exception", "InvalidSignatureException")
    assert client.get_face_liveness_session_results(SessionId=session_id)["Status"] == "FAILED"
    with pytest.raises(InvalidStatus) as refused:  # used once
        streamer(server).open(session_id, 640, 480)
    assert refused.value.response.headers["x-amzn-ErrorType"] == "ValidationException"

    session_id = client.create_face_liveness_session()["SessionId"]
    with streamer(server).open(session_id, 640, 480) as stream:
        stream.send("VideoEvent", {"VideoChunk": base64.b64encode(bytes(1_700_000)).decode(), "TimestampMillis": 1})
        kind, name, members = stream.receive()
        assert (kind, name) == ("exception", "ValidationException") and "exceeds" in members["Message"]

    session_id = client.create_face_liveness_session()["SessionId"]
    with streamer(server).open(session_id, 640, 480) as stream:
        stream.send_raw(eventstream.encode({":date": dt.datetime.now(dt.UTC)}, b"not signed"))
        assert stream.receive()[:2] == ("exception", "InvalidSignatureException")


def test_an_expired_session_cannot_stream(server) -> None:
    """The expiry is read from the stored creation time: a session stored as created 3 minutes ago."""
    from rekollect.storage.liveness import LivenessSessionRecord
    from rekollect.storage.sqlite import SqliteStore

    process, _ = server
    store = SqliteStore(process.data_dir / "rekollect.sqlite3")
    old = LivenessSessionRecord(
        "0f0e0d0c-0000-4000-8000-000000000001", None, {}, time.time() - EXPIRY_SECONDS - 1, "CREATED"
    )
    store.add_liveness_session(old, token_after=0, prune_before=0)
    store.close()
    assert rekognition(server).get_face_liveness_session_results(SessionId=old.session_id)["Status"] == "EXPIRED"
    with pytest.raises(InvalidStatus) as refused:
        streamer(server).open(old.session_id, 640, 480)
    assert refused.value.response.headers["x-amzn-ErrorType"] == "ValidationException"

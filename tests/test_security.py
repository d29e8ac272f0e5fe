"""SigV4 authentication, IAM-style policies, throttling and the loopback-only local mode."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.error
import urllib.request
from email.message import Message

import boto3
import pytest
from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from support import ServerProcess, image_bytes

ADMIN = ("AKIDADMIN", "admin-secret-0123456789")
READER = ("AKIDREADER", "reader-secret-0123456789")
THROTTLED = ("AKIDSLOW", "slow-secret-0123456789")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    root = tmp_path_factory.mktemp("secured")
    credentials = {
        "credentials": [
            {"access_key_id": ADMIN[0], "secret_access_key": ADMIN[1]},
            {
                "access_key_id": READER[0],
                "secret_access_key": READER[1],
                "policy": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["rekognition:Describe*", "rekognition:Search*", "rekognition:ListFaces"],
                            "Resource": "arn:aws:rekognition:*:*:collection/prod-*",
                        },
                        {"Effect": "Allow", "Action": "rekognition:ListCollections", "Resource": "*"},
                        {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:rekognition:*:*:collection/prod-secret"},
                    ]
                },
            },
            {"access_key_id": THROTTLED[0], "secret_access_key": THROTTLED[1], "requests_per_second": 1},
        ]
    }
    path = root / "credentials.json"
    path.write_text(json.dumps(credentials))
    server = ServerProcess(root / "data", "--credentials-file", str(path)).start()
    yield server
    server.stop()


def client(server: ServerProcess, key: str, secret: str):
    return boto3.client(
        "rekognition",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


def code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


def send(request: AWSRequest) -> tuple[int, Message, dict]:
    raw = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers), method=request.method)
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def signed(server, operation: str, body: dict, key: str, secret: str, *, when: dt.datetime | None = None) -> AWSRequest:
    """A request signed with botocore's signer, at ``when`` (default now)."""
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"RekognitionService.{operation}"},
    )
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = stamp
    request.headers["Host"] = server.url.removeprefix("http://")
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(key, secret), "rekognition", "us-east-1")
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    headers = signer.signed_headers(signer.headers_to_sign(request))
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key}/{signer.credential_scope(request)}, "
        f"SignedHeaders={headers}, Signature={signature}"
    )
    return request


def test_valid_signature_is_accepted(secured):
    admin = client(secured, *ADMIN)
    admin.create_collection(CollectionId="prod-1")
    assert "prod-1" in admin.list_collections()["CollectionIds"]


def test_wrong_secret_unknown_key_and_missing_signature(secured):
    with pytest.raises(ClientError) as caught:
        client(secured, ADMIN[0], "not-the-secret").list_collections()
    assert code(caught) == "InvalidSignatureException"
    with pytest.raises(ClientError) as caught:
        client(secured, "AKIDNOBODY", "whatever").list_collections()
    assert code(caught) == "UnrecognizedClientException"
    request = AWSRequest(
        method="POST",
        url=secured.url + "/",
        data=b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "RekognitionService.ListCollections"},
    )
    status, headers, body = send(request)
    assert body["__type"] == "MissingAuthenticationTokenException" == headers["x-amzn-ErrorType"]
    assert status == 403


def test_stale_or_future_dates_are_refused(secured):
    now = dt.datetime.now(dt.UTC)
    for when in (now - dt.timedelta(minutes=6), now + dt.timedelta(minutes=6)):
        status, _, body = send(signed(secured, "ListCollections", {}, *ADMIN, when=when))
        assert (status, body["__type"]) == (400, "InvalidSignatureException")
        assert "expired" in body["message"]
    status, _, body = send(signed(secured, "ListCollections", {}, *ADMIN, when=now - dt.timedelta(minutes=4)))
    assert status == 200


def test_a_body_changed_after_signing_is_refused(secured):
    request = signed(secured, "CreateCollection", {"CollectionId": "prod-2"}, *ADMIN)
    request.data = json.dumps({"CollectionId": "prod-3"}).encode()
    _, _, body = send(request)
    assert body["__type"] == "InvalidSignatureException"


def test_query_string_signature(secured):
    request = AWSRequest(
        method="POST",
        url=secured.url + "/",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "RekognitionService.ListCollections"},
    )

    class UnsignedPayload(SigV4QueryAuth):
        def payload(self, request):
            return UNSIGNED_PAYLOAD

    UnsignedPayload(Credentials(*ADMIN), "rekognition", "us-east-1", expires=60).add_auth(request)
    request.data = b"{}"
    status, _, body = send(request)
    assert status == 200 and "CollectionIds" in body
    request.url = request.url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    _, _, body = send(request)
    assert body["__type"] == "InvalidSignatureException"


def test_policies_allow_and_deny(secured):
    admin, reader = client(secured, *ADMIN), client(secured, *READER)
    admin.create_collection(CollectionId="prod-read")
    admin.create_collection(CollectionId="prod-secret")
    admin.create_collection(CollectionId="staging")
    admin.index_faces(CollectionId="prod-read", Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")})

    assert reader.describe_collection(CollectionId="prod-read")["FaceCount"] == 1
    assert "prod-read" in reader.list_collections()["CollectionIds"]
    matches = reader.search_faces_by_image(
        CollectionId="prod-read", Image={"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}
    )
    assert len(matches["FaceMatches"]) == 1
    for call in (
        lambda: reader.index_faces(
            CollectionId="prod-read", Image={"Bytes": image_bytes("people/Joe_Biden/biden.jpg")}
        ),
        lambda: reader.delete_collection(CollectionId="prod-read"),
        lambda: reader.describe_collection(CollectionId="staging"),
        lambda: reader.describe_collection(CollectionId="prod-secret"),
        lambda: reader.detect_faces(Image={"Bytes": image_bytes("people/Joe_Biden/biden.jpg")}),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert code(caught) == "AccessDeniedException"
    assert admin.describe_collection(CollectionId="prod-read")["FaceCount"] == 1


def test_rate_limit_answers_throttling(secured):
    slow = client(secured, *THROTTLED)
    codes = []
    for _ in range(4):
        try:
            slow.list_collections()
            codes.append("ok")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    assert codes[0] == "ok" and "ThrottlingException" in codes


def test_secrets_are_not_logged(secured):
    client(secured, *ADMIN).list_collections()
    log = secured.log.read_text()
    assert ADMIN[1] not in log and READER[1] not in log


def test_refuses_to_listen_beyond_loopback_without_credentials(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "rekollect", "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert completed.returncode != 0
    assert "refusing to listen on 0.0.0.0 without credentials" in completed.stderr

"""SigV4 authentication, IAM-style policies, throttling and the loopback-only local mode."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import subprocess
import sys
import urllib.parse
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
NETWORK = ("AKIDNETWORK", "network-secret-0123456789")
TLS_ONLY = ("AKIDTLS", "tls-secret-0123456789")
PROXY = "127.0.0.2"
"""The one trusted proxy (``--trusted-proxies``): a loopback address tests can send from."""


def allow_all_if(condition: dict) -> dict:
    return {"Statement": [{"Effect": "Allow", "Action": "rekognition:*", "Resource": "*", "Condition": condition}]}


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
            {
                "access_key_id": NETWORK[0],
                "secret_access_key": NETWORK[1],
                "policy": allow_all_if({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
            },
            {
                "access_key_id": TLS_ONLY[0],
                "secret_access_key": TLS_ONLY[1],
                "policy": allow_all_if({"Bool": {"aws:SecureTransport": "true"}}),
            },
        ]
    }
    path = root / "credentials.json"
    path.write_text(json.dumps(credentials))
    server = ServerProcess(root / "data", "--credentials-file", str(path), "--trusted-proxies", PROXY).start()
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


def send(request: AWSRequest, source: str | None = None) -> tuple[int, Message, dict]:
    """Send ``request`` (from the address ``source``, default the usual loopback one)."""
    url = urllib.parse.urlsplit(request.url)
    connection = http.client.HTTPConnection(
        url.hostname, url.port, timeout=30, source_address=(source, 0) if source else None
    )
    try:
        target = url.path + (f"?{url.query}" if url.query else "")
        connection.request(request.method, target, body=request.body, headers=dict(request.headers))
        response = connection.getresponse()
        return response.status, response.headers, json.loads(response.read())
    finally:
        connection.close()


class ScopedSigner(SigV4Auth):
    """botocore's signer, with an optional forged credential scope and headers left unsigned."""

    def __init__(self, key: str, secret: str, service: str, region: str, scope: str | None, unsigned: tuple[str, ...]):
        super().__init__(Credentials(key, secret), service, region)
        self.scope, self.unsigned = scope, unsigned

    def credential_scope(self, request):
        return self.scope or super().credential_scope(request)

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        for name in self.unsigned:
            del headers[name]
        return headers


def signed(
    server,
    operation: str,
    body: dict,
    key: str,
    secret: str,
    *,
    when: dt.datetime | None = None,
    region: str = "us-east-1",
    service: str = "rekognition",
    scope: str | None = None,
    unsigned: tuple[str, ...] = (),
) -> AWSRequest:
    """A request signed with botocore's signer, at ``when`` (default now), for ``region`` and ``service``.

    ``scope`` replaces the credential scope's ``<date>/<region>/<service>/aws4_request``;
    ``unsigned`` headers are sent but left out of the signature.
    """
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
    signer = ScopedSigner(key, secret, service, region, scope, unsigned)
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


def presigned(server, operation: str | None, body: bytes, *, payload: str | None = None, **scope) -> AWSRequest:
    """A presigned URL made by botocore's ``SigV4QueryAuth`` (which signs the body's SHA-256 over
    http), or with ``payload`` (e.g. ``UNSIGNED-PAYLOAD``) in its place; ``scope`` may set
    ``region`` and ``service``. Without ``operation`` only ``host`` is signed."""
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"RekognitionService.{operation}"}
    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers=headers if operation else {})

    class Presigner(SigV4QueryAuth):
        def _modify_request_before_signing(self, request):
            # botocore moves a body into the query string (the query protocol's way); the JSON
            # protocol keeps it in the body.
            request.data = b""
            super()._modify_request_before_signing(request)
            request.data = body

        def payload(self, request):
            return payload or super().payload(request)

    region, service = scope.get("region", "us-east-1"), scope.get("service", "rekognition")
    Presigner(Credentials(*ADMIN), service, region, expires=60).add_auth(request)
    return request


def test_query_string_signature(secured):
    request = presigned(secured, "ListCollections", b"{}")
    status, _, body = send(request)
    assert status == 200 and "CollectionIds" in body
    request.url = request.url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    _, _, body = send(request)
    assert body["__type"] == "InvalidSignatureException"


def test_a_presigned_url_covers_one_body(secured):
    admin = client(secured, *ADMIN)
    for name in ("presign-mine", "presign-other"):
        admin.create_collection(CollectionId=name)
    request = presigned(secured, "DescribeCollection", b'{"CollectionId": "presign-mine"}')
    assert send(request)[0] == 200
    request.data = b'{"CollectionId": "presign-other"}'
    _, _, body = send(request)
    assert body["__type"] == "InvalidSignatureException"
    # A URL signed over UNSIGNED-PAYLOAD (S3's presigned form) would take any body: refused.
    request = presigned(secured, "DescribeCollection", b"", payload=UNSIGNED_PAYLOAD)
    request.data = b'{"CollectionId": "presign-other"}'
    status, _, body = send(request)
    assert (status, body["__type"]) == (400, "InvalidSignatureException")


def test_a_signature_covers_one_operation(secured):
    admin = client(secured, *ADMIN)
    admin.create_collection(CollectionId="unsigned-target")
    request = presigned(secured, None, b"")  # a ListCollections URL that signs only host
    request.headers["X-Amz-Target"] = "RekognitionService.DeleteCollection"
    request.headers["Content-Type"] = "application/x-amz-json-1.1"
    request.data = b'{"CollectionId": "unsigned-target"}'
    _, _, body = send(request)
    assert body["__type"] == "IncompleteSignatureException" and "missing: x-amz-target" in body["message"]
    for unsigned in (("x-amz-target",), ("host",)):
        request = signed(secured, "DeleteCollection", {"CollectionId": "unsigned-target"}, *ADMIN, unsigned=unsigned)
        _, _, body = send(request)
        assert body["__type"] == "IncompleteSignatureException" and f"missing: {unsigned[0]}" in body["message"]
    assert admin.describe_collection(CollectionId="unsigned-target")["FaceCount"] == 0


def test_the_body_hash_must_be_the_bodys(secured):
    for claimed in (UNSIGNED_PAYLOAD, "0" * 64, hashlib.sha256(b"{}").hexdigest()):
        request = signed(secured, "ListCollections", {}, *ADMIN)
        request.headers["X-Amz-Content-Sha256"] = claimed
        status, _, body = send(request)
        if claimed == hashlib.sha256(request.body).hexdigest():
            assert status == 200
        else:
            assert body["__type"] == "InvalidSignatureException"


def _today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d")


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"service": "s3"}, "scoped to correct service: 'rekognition'"),
        ({"service": "sts", "region": "xx-nowhere-9"}, "scoped to correct service: 'rekognition'"),
        ({"region": "xx-nowhere-9"}, "scoped to a valid region, not 'xx-nowhere-9'"),
        ({"region": "eu-west-1"}, "scoped to a valid region, not 'eu-west-1'"),
        ({"scope": "20200101/us-east-1/rekognition/aws4_request"}, "Date in Credential scope does not match"),
        ({"scope": f"{_today()}/us-east-1/rekognition/aws5_request"}, "valid terminator: 'aws4_request'"),
    ],
)
def test_the_credential_scope_must_be_the_servers(secured, scope, expected):
    admin = client(secured, *ADMIN)
    admin.create_collection(CollectionId="scoped")
    try:
        status, _, body = send(signed(secured, "DeleteCollection", {"CollectionId": "scoped"}, *ADMIN, **scope))
        assert (status, body["__type"]) == (400, "InvalidSignatureException")
        assert expected in body["message"] and "/us-east-1/rekognition/aws4_request" in body["message"]
        if "scope" not in scope:
            request = presigned(secured, "DeleteCollection", b'{"CollectionId": "scoped"}', **scope)
            _, _, body = send(request)
            assert body["__type"] == "InvalidSignatureException" and expected in body["message"]
        assert admin.describe_collection(CollectionId="scoped")["FaceCount"] == 0
    finally:
        admin.delete_collection(CollectionId="scoped")


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


def _list_collections(server, credential, source: str | None = None, **forwarded: str) -> str:
    request = signed(server, "ListCollections", {}, *credential)
    for name, value in forwarded.items():
        request.headers[f"X-Forwarded-{name.title()}"] = value
    status, _, body = send(request, source)
    return "ok" if status == 200 else body["__type"]


def test_policy_conditions_are_evaluated(secured):
    # Allowed from 10.0.0.0/8 and 2001:db8::/32 only: the tests' own 127.0.0.1 is neither.
    assert _list_collections(secured, NETWORK) == "AccessDeniedException"
    assert _list_collections(secured, NETWORK, PROXY, **{"for": "10.1.2.3"}) == "ok"
    assert _list_collections(secured, NETWORK, PROXY, **{"for": "2001:db8::1"}) == "ok"
    assert _list_collections(secured, NETWORK, PROXY, **{"for": "192.168.1.1"}) == "AccessDeniedException"
    # Plain HTTP is not secure transport, unless a trusted proxy says the client came over TLS.
    assert _list_collections(secured, TLS_ONLY) == "AccessDeniedException"
    assert _list_collections(secured, TLS_ONLY, PROXY, proto="https") == "ok"
    assert _list_collections(secured, TLS_ONLY, PROXY, proto="http") == "AccessDeniedException"


def test_forwarded_headers_count_only_from_trusted_proxies(secured):
    assert _list_collections(secured, NETWORK, **{"for": "10.1.2.3"}) == "AccessDeniedException"
    assert _list_collections(secured, TLS_ONLY, proto="https") == "AccessDeniedException"
    assert _list_collections(secured, TLS_ONLY, "127.0.0.3", proto="https") == "AccessDeniedException"


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ({"StringEquals": {"aws:SourceIp": "10.0.0.1"}}, "'StringEquals'"),
        ({"IpAddress": {"aws:SourceVpc": "vpc-1"}}, "'aws:SourceVpc'"),
    ],
)
def test_a_policy_with_a_condition_it_cannot_evaluate_stops_the_server(tmp_path, condition, named):
    path = tmp_path / "credentials.json"
    entry = {"access_key_id": "AKIDX", "secret_access_key": "x" * 20, "policy": allow_all_if(condition)}
    path.write_text(json.dumps({"credentials": [entry]}))
    completed = subprocess.run(
        [sys.executable, "-m", "rekollect", "serve", "--data-dir", str(tmp_path), "--credentials-file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode != 0
    assert "cannot load credentials" in completed.stderr and named in completed.stderr


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

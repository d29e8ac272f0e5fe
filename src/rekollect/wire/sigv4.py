"""AWS Signature Version 4 verification of incoming requests.

The expected signature is computed with botocore's own ``SigV4Auth`` (canonical request, string
to sign, signing key), over exactly the headers the client says it signed, so the server agrees
with every AWS SDK byte for byte. Two forms are accepted, as AWS documents them ("Signature
Version 4 signing process"):

- the ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``
  header with ``X-Amz-Date``;
- the query-string (presigned) form with ``X-Amz-Algorithm``, ``X-Amz-Credential``,
  ``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders`` and ``X-Amz-Signature``.

In both forms the payload hash is the SHA-256 of the body actually received, as botocore's
``SigV4Auth`` and ``SigV4QueryAuth`` sign it for AWS JSON services: ``UNSIGNED-PAYLOAD`` (S3's
presigned form) is refused, so a signature covers exactly one body. ``Host`` and ``X-Amz-Target``
(which names the operation in the AWS JSON protocol) must be among the signed headers, so a
signature covers exactly one operation. The credential scope ``<date>/<region>/<service>/aws4_request``
must name the server's region and service and the date of ``X-Amz-Date``, as AWS requires.

Errors carry AWS's types: ``MissingAuthenticationTokenException`` (no signature at all),
``IncompleteSignatureException`` (a malformed one, or one that leaves ``Host`` or ``X-Amz-Target``
unsigned), ``UnrecognizedClientException`` (unknown access key), ``InvalidSignatureException``
(wrong signature, a scope of another region, service or date, stale or future date, expired
presigned URL, body hash mismatch or ``UNSIGNED-PAYLOAD``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ..errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_PRESIGNED_EXPIRY_SECONDS = 7 * 24 * 3600
SCOPE_TERMINATOR = "aws4_request"
REQUIRED_SIGNED_HEADERS = ("host", "x-amz-target")
"""Headers every signature must cover: where the request goes and which operation it runs."""


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that SigV4 covers (``query`` is the raw query string), plus,
    unsigned, where it came from: the client's address (``None`` when unknown) and whether it
    reached the server over TLS, after any trusted proxy's ``X-Forwarded-For``/``-Proto``."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    client_host: str | None = None
    secure: bool = False


@dataclass(frozen=True)
class Signer:
    """Who signed a verified request: access key id and the region of its credential scope; and,
    for chaining the signatures of a stream's frames (``eventstream.verify_chunk``), the request's
    hex signature and its credential scope ``<yyyymmdd>/<region>/<service>/aws4_request``."""

    access_key_id: str
    region: str
    signature: str = ""
    scope: str = ""


@dataclass(frozen=True)
class _Claim:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    timestamp: str
    query_form: bool
    expires: int | None
    terminator: str


def verify_request(
    request: SignedRequest,
    secret_for: Callable[[str], str | None],
    *,
    now: dt.datetime,
    max_skew: dt.timedelta,
    region: str,
    service: str,
    required_headers: tuple[str, ...] = REQUIRED_SIGNED_HEADERS,
) -> Signer:
    """Check ``request``'s SigV4 signature; ``secret_for(access_key_id)`` returns the secret or ``None``.

    ``max_skew`` bounds the difference between ``X-Amz-Date`` and ``now`` (AWS uses 5 minutes);
    the credential scope must name ``region`` and ``service`` (the signing name, ``rekognition``).
    ``required_headers`` must be among the signed headers: ``host`` and ``x-amz-target`` for the
    JSON protocol; a WebSocket upgrade, whose URL names the operation, signs ``host`` only (as the
    AWS SDKs pre-sign it). Raises the ``RekognitionError`` subclasses listed in the module docstring.
    """
    claim = _claim(request, required_headers)
    secret = secret_for(claim.access_key_id)
    if secret is None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")
    _check_scope(claim, region, service)
    _check_time(claim, now, max_skew)
    expected = _expected_signature(request, claim, secret)
    if not hmac.compare_digest(expected, claim.signature):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return Signer(
        access_key_id=claim.access_key_id,
        region=claim.region,
        signature=claim.signature,
        scope=f"{claim.date}/{claim.region}/{claim.service}/{claim.terminator}",
    )


def _claim(request: SignedRequest, required: tuple[str, ...]) -> _Claim:
    headers = {name.lower(): value for name, value in request.headers.items()}
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    authorization = headers.get("authorization")
    if authorization is not None:
        algorithm, _, rest = authorization.strip().partition(" ")
        if algorithm != ALGORITHM:
            raise IncompleteSignatureException(f"Unsupported authorization algorithm {algorithm!r}")
        fields = {}
        for part in rest.split(","):
            key, _, value = part.strip().partition("=")
            fields[key] = value
        timestamp = headers.get("x-amz-date")
        if not all(fields.get(key) for key in ("Credential", "SignedHeaders", "Signature")) or not timestamp:
            raise IncompleteSignatureException(
                "Authorization header requires Credential, SignedHeaders and Signature, and X-Amz-Date"
            )
        return _build_claim(
            fields["Credential"], fields["SignedHeaders"], fields["Signature"], timestamp, False, None, required
        )
    if "X-Amz-Signature" in query:
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise IncompleteSignatureException("X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        try:
            expires = int(query.get("X-Amz-Expires", ""))
        except ValueError:
            raise IncompleteSignatureException("X-Amz-Expires must be a number of seconds") from None
        if not 1 <= expires <= MAX_PRESIGNED_EXPIRY_SECONDS:
            raise IncompleteSignatureException(f"X-Amz-Expires must be 1 to {MAX_PRESIGNED_EXPIRY_SECONDS} seconds")
        return _build_claim(
            query.get("X-Amz-Credential", ""),
            query.get("X-Amz-SignedHeaders", ""),
            query["X-Amz-Signature"],
            query.get("X-Amz-Date", ""),
            True,
            expires,
            required,
        )
    raise MissingAuthenticationTokenException("Missing Authentication Token")


def _build_claim(
    credential: str,
    signed_headers: str,
    signature: str,
    timestamp: str,
    query_form: bool,
    expires: int | None,
    required: tuple[str, ...],
) -> _Claim:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise IncompleteSignatureException(
            f"Credential must be <key>/<date>/<region>/<service>/{SCOPE_TERMINATOR}: {credential!r}"
        )
    names = [name.strip().lower() for name in signed_headers.split(";") if name.strip()]
    unsigned = [name for name in required if name not in names]
    if unsigned:
        raise IncompleteSignatureException(
            f"SignedHeaders must include {' and '.join(required)}; missing: {', '.join(unsigned)}"
        )
    return _Claim(
        access_key_id=parts[0],
        date=parts[1],
        region=parts[2],
        service=parts[3],
        signed_headers=names,
        signature=signature,
        timestamp=timestamp,
        query_form=query_form,
        expires=expires,
        terminator=parts[4],
    )


def _check_scope(claim: _Claim, region: str, service: str) -> None:
    """AWS's checks of the credential scope, with AWS's messages plus the scope expected."""
    expected = f"{claim.timestamp[:8]}/{region}/{service}/{SCOPE_TERMINATOR}"
    given = f"{claim.date}/{claim.region}/{claim.service}/{claim.terminator}"
    if claim.terminator != SCOPE_TERMINATOR:
        problem = (
            f"Credential should be scoped with a valid terminator: '{SCOPE_TERMINATOR}', not '{claim.terminator}'."
        )
    elif claim.service != service:
        problem = f"Credential should be scoped to correct service: '{service}'."
    elif claim.region != region:
        problem = f"Credential should be scoped to a valid region, not '{claim.region}'."
    elif claim.date != claim.timestamp[:8]:
        problem = (
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{claim.date}' != '{claim.timestamp[:8]}', from '{claim.timestamp}'."
        )
    else:
        return
    raise InvalidSignatureException(f"{problem} Expected scope {expected}, got {given}")


def _check_time(claim: _Claim, now: dt.datetime, max_skew: dt.timedelta) -> None:
    try:
        signed_at = dt.datetime.strptime(claim.timestamp, TIMESTAMP_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise IncompleteSignatureException(f"X-Amz-Date must be {TIMESTAMP_FORMAT}: {claim.timestamp!r}") from None
    if claim.query_form:
        if signed_at - now > max_skew:
            raise InvalidSignatureException("Signature not yet current")
        if now > signed_at + dt.timedelta(seconds=claim.expires or 0):
            raise InvalidSignatureException("Signature expired: the presigned request is past X-Amz-Expires")
    elif abs(now - signed_at) > max_skew:
        raise InvalidSignatureException(
            f"Signature expired: {claim.timestamp} is not within {int(max_skew.total_seconds())} seconds "
            f"of the server time {now.strftime(TIMESTAMP_FORMAT)}"
        )


def _expected_signature(request: SignedRequest, claim: _Claim, secret: str) -> str:
    lowered = {name.lower(): value for name, value in request.headers.items()}
    missing = [name for name in claim.signed_headers if name not in lowered]
    if missing:
        raise IncompleteSignatureException(f"Signed headers are missing from the request: {', '.join(missing)}")
    payload_hash = hashlib.sha256(request.body).hexdigest()
    claimed = lowered.get("x-amz-content-sha256")
    if claimed == UNSIGNED_PAYLOAD:
        raise InvalidSignatureException(
            f"{UNSIGNED_PAYLOAD} is not accepted: sign the SHA-256 of the request body (AWS JSON services do)"
        )
    if claimed is not None and claimed != payload_hash:
        raise InvalidSignatureException("The provided X-Amz-Content-Sha256 does not match the request body")
    if claim.query_form:
        query = "&".join(
            f"{quote(key, safe='-_.~')}={quote(value, safe='-_.~')}"
            for key, value in parse_qsl(request.query, keep_blank_values=True)
            if key != "X-Amz-Signature"
        )
    else:
        query = request.query
    signed = AWSRequest(
        method=request.method,
        url=f"http://{lowered['host']}{request.path}" + (f"?{query}" if query else ""),
        headers={name: lowered[name] for name in claim.signed_headers},
    )
    signed.headers["X-Amz-Content-SHA256"] = payload_hash
    signed.context["timestamp"] = claim.timestamp
    signer = _VerifyingSigner(Credentials(claim.access_key_id, secret), claim.service, claim.region)
    signer.signed_names = claim.signed_headers
    return signer.signature(signer.string_to_sign(signed, signer.canonical_request(signed)), signed)


class _VerifyingSigner(SigV4Auth):
    """botocore's signer, restricted to the headers the client declared as signed."""

    signed_names: list[str]

    def headers_to_sign(self, request: AWSRequest):  # type: ignore[no-untyped-def]
        headers = super().headers_to_sign(request)
        for name in list(headers.keys()):
            if name not in self.signed_names:
                del headers[name]
        return headers

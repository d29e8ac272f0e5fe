"""The request guard: SigV4 authentication, rate limits and policy checks for every request.

Policy conditions see the request's context (``conditions.RequestContext``): ``aws:SourceIp`` is
the client's address, ``aws:SecureTransport`` whether it came over TLS (the server's own, with
``--tls-certificate``, or a trusted proxy's ``X-Forwarded-Proto: https``: see ``--trusted-proxies``),
``aws:CurrentTime`` the time of authentication.

With no credentials configured the guard is off (local mode): every request is accepted, as the
server then only listens on a loopback address (``check_binding``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..addresses import ip_address, is_loopback
from ..errors import AccessDeniedException, ThrottlingException
from ..wire.service_model import rekognition_model
from ..wire.sigv4 import REQUIRED_SIGNED_HEADERS, SignedRequest, Signer, verify_request
from ..wire.streaming import ChunkChain
from .conditions import RequestContext
from .credentials import Credential
from .throttle import TokenBucket


@dataclass(frozen=True)
class Caller:
    """An authenticated request's signer, and what policy conditions may test about the request."""

    signer: Signer
    context: RequestContext


class RequestGuard:
    """Implements the wire layer's ``Guard`` for a set of credentials.

    ``arn_prefix`` is ``arn:aws:rekognition:<region>:<account>:``, used to name the collection an
    operation acts on as the policy ``Resource``; operations without a collection act on ``*``.
    Signatures must be scoped to ``region`` and to Rekognition's signing name.
    """

    def __init__(
        self,
        credentials: dict[str, Credential],
        arn_prefix: str,
        region: str,
        max_clock_skew: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        self._credentials = credentials
        self._arn_prefix = arn_prefix
        self._region = region
        self._service = rekognition_model().signing_name
        self._max_skew = max_clock_skew
        self._buckets = {
            key: TokenBucket(credential.requests_per_second)
            for key, credential in credentials.items()
            if credential.requests_per_second
        }

    @property
    def enabled(self) -> bool:
        """False in local mode (no credentials configured)."""
        return bool(self._credentials)

    def authenticate(
        self, request: SignedRequest, required_headers: tuple[str, ...] = REQUIRED_SIGNED_HEADERS
    ) -> Caller | None:
        """Verify the signature and the caller's rate; ``None`` in local mode. ``required_headers``
        must be signed (``host`` alone for a pre-signed WebSocket upgrade: ``sigv4.verify_request``)."""
        if not self.enabled:
            return None
        now = dt.datetime.now(dt.UTC)
        signer = verify_request(
            request,
            lambda key: credential.secret_access_key if (credential := self._credentials.get(key)) else None,
            now=now,
            max_skew=self._max_skew,
            region=self._region,
            service=self._service,
            required_headers=required_headers,
        )
        bucket = self._buckets.get(signer.access_key_id)
        if bucket is not None and not bucket.take():
            raise ThrottlingException("Rate exceeded")
        return Caller(signer, RequestContext(ip_address(request.client_host), request.secure, now))

    def authorize(self, caller: Caller | None, operation: str, params: dict[str, Any]) -> None:
        """``AccessDeniedException`` unless the signer's policy allows ``operation`` on its resource
        for this request (conditions included)."""
        if caller is None:
            return
        key = caller.signer.access_key_id
        action = f"rekognition:{operation}"
        for resource in filter(None, (self.resource_of(operation, params), self.searched_collection(params))):
            if not self._credentials[key].policy.allows(action, resource, caller.context):
                raise AccessDeniedException(
                    f"User: {key} is not authorized to perform: {action} on resource: {resource}"
                )

    def chunk_chain(self, caller: Caller | None) -> ChunkChain:
        """The verifier of a stream's frame signatures, chained from ``caller``'s request signature
        (in local mode it only unwraps the frames)."""
        if caller is None:
            return ChunkChain(None, "", "", "", self._max_skew)
        signer = caller.signer
        secret = self._credentials[signer.access_key_id].secret_access_key
        return ChunkChain(secret, signer.access_key_id, signer.scope, signer.signature, self._max_skew)

    def key_id(self, caller: Caller | None) -> str | None:
        """The access key id ``caller`` signed with (verified); ``None`` in local mode."""
        return None if caller is None else caller.signer.access_key_id

    def resource_of(self, operation: str, params: dict[str, Any]) -> str:
        """The ARN ``operation`` acts on: its ``ResourceArn``, its stream processor's ARN (the stream
        processor operations name it by ``Name``; UploadVideoPart's ``Name`` is an object key), its
        collection's ARN, or ``*``."""
        if isinstance(params.get("ResourceArn"), str):
            return params["ResourceArn"]
        if "StreamProcessor" in operation and isinstance(params.get("Name"), str):
            return f"{self._arn_prefix}streamprocessor/{params['Name']}"
        if isinstance(params.get("CollectionId"), str):
            return f"{self._arn_prefix}collection/{params['CollectionId']}"
        return "*"

    def searched_collection(self, params: dict[str, Any]) -> str | None:
        """The ARN of the collection a CreateStreamProcessor's ``Settings.FaceSearch`` names (its
        sessions search it, so the caller must be allowed the action on it too, as IAM requires both
        resources), or ``None``."""
        settings = params.get("Settings")
        face_search = settings.get("FaceSearch") if isinstance(settings, dict) else None
        collection_id = face_search.get("CollectionId") if isinstance(face_search, dict) else None
        return f"{self._arn_prefix}collection/{collection_id}" if isinstance(collection_id, str) else None


def check_binding(host: str, guard: RequestGuard) -> None:
    """Refuse to listen beyond loopback without credentials (``SystemExit`` with the reason)."""
    if not guard.enabled and not is_loopback(host):
        raise SystemExit(
            f"refusing to listen on {host} without credentials: anyone who reaches the port could read "
            "and change the face collections. Configure --credentials-file or REKOLLECT_ACCESS_KEY_ID/"
            "REKOLLECT_SECRET_ACCESS_KEY, or bind to 127.0.0.1 for local mode."
        )

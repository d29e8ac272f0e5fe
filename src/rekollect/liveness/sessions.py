"""Face Liveness sessions: ``CreateFaceLivenessSession``, ``GetFaceLivenessSessionResults`` and the
stream of ``StartFaceLivenessSession`` (``LivenessStream``, a ``wire.streaming.StreamSession``).

AWS's rules ("Face Liveness" in the Rekognition developer guide, and the operations' documentation
in botocore's model): a session expires 3 minutes after it is created (``EXPIRY_SECONDS``) and can
be streamed once; the same ``ClientRequestToken`` within 10 minutes gives the same session;
``AuditImagesLimit`` (0–4, default 0) audit images; images are returned as bytes (at most 204,800
each), or written to ``OutputConfig``'s bucket under ``<S3KeyPrefix><SessionId>/reference.jpg`` and
``.../audit_images/<n>.jpg`` and returned as ``S3Object``s. Sessions are kept 24 hours
(``KEEP_SECONDS``, Rekollect's choice: they hold face images), then deleted when a later session is
created.

A stream must begin within the 3 minutes; it then has ``STREAM_SECONDS`` to finish, and its video
may be ``MAX_VIDEO_BYTES`` at most. It ends when the client sends an empty ``VideoChunk`` (Amplify
does, after its last ``ClientSessionInformationEvent``): the server then decides
(``checks.decide``), stores the result, and answers ``DisconnectionEvent``. A stream that breaks off
leaves its session ``FAILED``.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from ..core.service import FaceService
from ..errors import (
    InvalidParameterException,
    RekognitionError,
    SessionNotFoundException,
    ValidationException,
)
from ..storage.liveness import LivenessSessionRecord, LivenessStore
from .challenge import Challenge, choose_kind, new_challenge
from .checks import Verdict, decide
from .recording import ClientReport, decode_recording

log = logging.getLogger(__name__)

EXPIRY_SECONDS = 180.0
TOKEN_SECONDS = 600.0
KEEP_SECONDS = 24 * 3600.0
STREAM_SECONDS = 120.0
MAX_VIDEO_BYTES = 16 * 1024 * 1024
MAX_IMAGE_BYTES = 204_800
"""``LivenessImageBlob``'s maximum in botocore's model."""


class LivenessSessions:
    """The sessions of one server: ``store`` keeps them (any node can answer), ``service`` gives
    the face model that finds faces in the video and the object store images are written to."""

    def __init__(self, service: FaceService, store: LivenessStore, clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.store = store
        self.clock = clock

    def create(self, request: dict[str, Any]) -> dict[str, Any]:
        """``CreateFaceLivenessSession`` (request validated against the model)."""
        settings = dict(request.get("Settings") or {})
        if request.get("KmsKeyId") is not None:
            settings["KmsKeyId"] = request["KmsKeyId"]
            if "OutputConfig" not in settings:
                raise InvalidParameterException("KmsKeyId encrypts the images written to OutputConfig: give both")
        kinds = [preference["Type"] for preference in settings.get("ChallengePreferences") or []]
        if len(kinds) != len(set(kinds)):
            raise InvalidParameterException("ChallengePreferences names a challenge type more than once")
        now = self.clock()
        record = LivenessSessionRecord(str(uuid.uuid4()), request.get("ClientRequestToken"), settings, now, "CREATED")
        stored = self.store.add_liveness_session(
            record, token_after=now - TOKEN_SECONDS, prune_before=now - KEEP_SECONDS
        )
        return {"SessionId": stored.session_id}

    def results(self, request: dict[str, Any]) -> dict[str, Any]:
        """``GetFaceLivenessSessionResults``."""
        record = self._session(request["SessionId"])
        status = self._status(record)
        response: dict[str, Any] = {"SessionId": record.session_id, "Status": status}
        if record.challenge is not None:
            challenge = Challenge.from_json(record.challenge)
            response["Challenge"] = {"Type": challenge.kind, "Version": challenge.version}
        result = record.result or {}
        if status == "SUCCEEDED":
            response["Confidence"] = result["Confidence"]
            response["ReferenceImage"] = _image_member(result.get("ReferenceImage"))
            response["AuditImages"] = [_image_member(image) for image in result.get("AuditImages", [])]
        return response

    def open_stream(self, members: dict[str, str]) -> LivenessStream:
        """Claim session ``members["SessionId"]`` for a stream (``StartFaceLivenessSession``'s query
        members): ``SessionNotFoundException`` for an unknown one, ``ValidationException`` for one
        that expired or was used, or whose challenge the client cannot run."""
        record = self._session(members.get("SessionId", ""))
        status = self._status(record)
        if status == "EXPIRED":
            raise ValidationException(f"Session {record.session_id} has expired")
        if status != "CREATED":
            raise ValidationException(f"Session {record.session_id} was already used")
        kind, version = choose_kind(
            record.settings.get("ChallengePreferences") or [], members.get("ChallengeVersions", "")
        )
        challenge = new_challenge(kind, version, members.get("VideoWidth"), members.get("VideoHeight"))
        now = self.clock()
        if not self.store.claim_liveness_session(record.session_id, now - EXPIRY_SECONDS, now, challenge.to_json()):
            raise ValidationException(f"Session {record.session_id} was already used or has expired")
        return LivenessStream(self, record, challenge)

    def _session(self, session_id: str) -> LivenessSessionRecord:
        record = self.store.get_liveness_session(session_id)
        if record is None:
            raise SessionNotFoundException(f"Session {session_id} not found")
        return record

    def _status(self, record: LivenessSessionRecord) -> str:
        age = self.clock() - record.created
        if record.status == "CREATED" and age > EXPIRY_SECONDS:
            return "EXPIRED"
        if record.status == "IN_PROGRESS" and age > EXPIRY_SECONDS + STREAM_SECONDS:
            return "EXPIRED"  # its stream never finished (its node stopped)
        return record.status

    def finish(self, record: LivenessSessionRecord, verdict: Verdict | None, analysis_ms: float) -> None:
        """Store the outcome: ``SUCCEEDED`` with ``verdict``'s Confidence and images, or ``FAILED``."""
        if verdict is None:
            self.store.finish_liveness_session(record.session_id, "FAILED", {"analysis_ms": analysis_ms})
            return
        output = record.settings.get("OutputConfig")
        limit = int(record.settings.get("AuditImagesLimit", 0))
        stored = []
        for number, pick in enumerate([verdict.reference, *verdict.audits[:limit]]):
            if pick is None:
                stored.append(None)
                continue
            pixels, box = pick
            name = "reference.jpg" if number == 0 else f"audit_images/{number}.jpg"
            stored.append(self._image(pixels, box, record, output, name))
        result = {
            "Confidence": verdict.confidence,
            "ReferenceImage": stored[0],
            "AuditImages": [image for image in stored[1:] if image is not None],
            "checks": verdict.summary(),
            "analysis_ms": round(analysis_ms, 1),
        }
        self.store.finish_liveness_session(record.session_id, "SUCCEEDED", result)

    def _image(
        self,
        pixels: np.ndarray,
        box: tuple[float, float, float, float],
        record: LivenessSessionRecord,
        output: dict[str, Any] | None,
        name: str,
    ) -> dict[str, Any]:
        height, width = pixels.shape[:2]
        left, top, right, bottom = box
        left, top = max(0.0, left), max(0.0, top)
        right, bottom = min(float(width), right), min(float(height), bottom)
        bounding = {
            "Width": (right - left) / width,
            "Height": (bottom - top) / height,
            "Left": left / width,
            "Top": top / height,
        }
        data = jpeg_at_most(pixels, MAX_IMAGE_BYTES)
        if output is None:
            return {"Bytes": base64.b64encode(data).decode("ascii"), "BoundingBox": bounding}
        prefix = output.get("S3KeyPrefix", "")
        key = f"{prefix}{'' if not prefix or prefix.endswith('/') else '/'}{record.session_id}/{name}"
        self.service.objects.write(output["S3Bucket"], key, data, "image/jpeg", record.settings.get("KmsKeyId"))
        return {"S3Object": {"Bucket": output["S3Bucket"], "Name": key}, "BoundingBox": bounding}


def jpeg_at_most(pixels: np.ndarray, limit: int) -> bytes:
    """``pixels`` (RGB) as a JPEG of at most ``limit`` bytes: quality 90, lowered in steps of 10 to 50,
    then the picture halved in size and tried again."""
    image = Image.fromarray(pixels)
    while True:
        for quality in (90, 80, 70, 60, 50):
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=quality)
            if buffer.tell() <= limit:
                return buffer.getvalue()
        image = image.resize((max(1, image.width // 2), max(1, image.height // 2)))


def _image_member(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    member = dict(stored)
    if "Bytes" in member:
        member["Bytes"] = base64.b64decode(member["Bytes"])
    return member


class LivenessStream:
    """One claimed session's stream (``wire.streaming.StreamSession``): sends the challenge, gathers
    the video chunks and the client's events, and on the empty chunk decides and disconnects."""

    def __init__(self, sessions: LivenessSessions, record: LivenessSessionRecord, challenge: Challenge) -> None:
        self._sessions = sessions
        self._record = record
        self.challenge = challenge
        self._video = bytearray()
        self._report = ClientReport()
        self._done = False

    def opening_events(self) -> list[tuple[str, dict[str, Any]]]:
        """``ServerSessionInformationEvent`` with the challenge."""
        return [("ServerSessionInformationEvent", {"SessionInformation": self.challenge.session_information()})]

    @property
    def finished(self) -> bool:
        """True after the ``DisconnectionEvent``."""
        return self._done

    def on_event(self, event_type: str, members: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Take a ``VideoEvent`` or ``ClientSessionInformationEvent``; ``ValidationException`` for
        anything else, a chunk past ``MAX_VIDEO_BYTES`` or events of another challenge."""
        if event_type == "ClientSessionInformationEvent":
            challenge = (members.get("Challenge") or {}).get(self.challenge.kind)
            if not isinstance(challenge, dict):
                raise ValidationException(f"ClientSessionInformationEvent must carry Challenge.{self.challenge.kind}")
            self._report.take(challenge)
            return []
        if event_type != "VideoEvent":
            raise ValidationException(
                f"Unknown event {event_type!r}: expected VideoEvent or ClientSessionInformationEvent"
            )
        chunk = members.get("VideoChunk") or ""
        try:
            data = base64.b64decode(chunk, validate=True) if isinstance(chunk, str) else b""
        except binascii.Error:
            raise ValidationException("VideoChunk is not base64") from None
        if data:
            if len(self._video) + len(data) > MAX_VIDEO_BYTES:
                raise ValidationException(f"The video exceeds {MAX_VIDEO_BYTES} bytes")
            self._video += data
            return []
        return self._end()

    def _end(self) -> list[tuple[str, dict[str, Any]]]:
        started = time.perf_counter()
        if self._report.video_start is None:
            raise ValidationException(
                "The stream ended before a ClientSessionInformationEvent with VideoStartTimestamp"
            )
        frames = decode_recording(bytes(self._video))
        limit = int(self._record.settings.get("AuditImagesLimit", 0))
        verdict = decide(frames, self.challenge, self._report, self._sessions.service.pack(), limit)
        self._sessions.finish(self._record, verdict, (time.perf_counter() - started) * 1000.0)
        self._done = True
        log.info(
            "liveness session %s: Confidence %.1f, checks %s, %.0f ms from the last chunk",
            self._record.session_id,
            verdict.confidence,
            verdict.summary(),
            (time.perf_counter() - started) * 1000.0,
        )
        return [("DisconnectionEvent", {"TimestampMillis": int(time.time() * 1000)})]

    def abandon(self) -> None:
        """The stream broke off (or failed) before the end: the session is ``FAILED``."""
        if not self._done:
            self._done = True
            try:
                self._sessions.finish(self._record, None, 0.0)
            except RekognitionError:
                log.exception("liveness session %s: could not record the failure", self._record.session_id)

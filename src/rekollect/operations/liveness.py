"""Face Liveness operations: ``CreateFaceLivenessSession`` and ``GetFaceLivenessSessionResults``
(the stream, ``StartFaceLivenessSession``, is served by ``wire.streaming`` over WebSocket)."""

from __future__ import annotations

from typing import Any

from ..liveness.sessions import LivenessSessions


def create_face_liveness_session(sessions: LivenessSessions, request: dict[str, Any]) -> dict[str, Any]:
    """``CreateFaceLivenessSession`` → ``{SessionId}`` (``LivenessSessions.create``)."""
    return sessions.create(request)


def get_face_liveness_session_results(sessions: LivenessSessions, request: dict[str, Any]) -> dict[str, Any]:
    """``GetFaceLivenessSessionResults`` → status, Confidence, images (``LivenessSessions.results``);
    ``SessionNotFoundException`` for an unknown session."""
    return sessions.results(request)


LIVENESS_OPERATIONS = {
    "CreateFaceLivenessSession": create_face_liveness_session,
    "GetFaceLivenessSessionResults": get_face_liveness_session_results,
}

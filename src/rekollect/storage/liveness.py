"""Face Liveness sessions in the metadata store: the ``liveness_sessions`` table (``sqlite.py``
schema version 2, ``postgres_schema.py`` version 2) and ``LivenessRows``, the ``SqlStore`` methods
that read and write it, in SQL both databases run.

A row is one session: its id, the ``ClientRequestToken`` it was created with (if any) and when,
the request's ``Settings`` (JSON), its state (``CREATED``, ``IN_PROGRESS``, ``SUCCEEDED``,
``FAILED``: ``EXPIRED`` is never stored, it is read from ``created``), when its stream started, the
challenge the server chose for it (JSON), and its result (JSON, with the reference and audit
images). Being in the store, any node behind a load balancer can answer for any session, and
``claim`` makes "used once" hold across nodes: the ``CREATED`` → ``IN_PROGRESS`` step is one
conditional ``UPDATE``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

SESSION_COLUMNS = "session_id, client_token, settings, created, status, started, challenge, result"


@dataclass(frozen=True)
class LivenessSessionRecord:
    """One stored session (times in Unix seconds; ``settings``, ``challenge`` and ``result`` parsed JSON)."""

    session_id: str
    client_token: str | None
    settings: dict[str, Any]
    created: float
    status: str
    started: float | None = None
    challenge: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


def _record(row: tuple) -> LivenessSessionRecord:
    session_id, token, settings, created, status, started, challenge, result = row
    return LivenessSessionRecord(
        session_id,
        token,
        json.loads(settings),
        float(created),
        status,
        None if started is None else float(started),
        None if challenge is None else json.loads(challenge),
        None if result is None else json.loads(result),
    )


class LivenessStore(Protocol):
    """The session methods of the metadata store (``LivenessRows``)."""

    def add_liveness_session(
        self, record: LivenessSessionRecord, token_after: float, prune_before: float
    ) -> LivenessSessionRecord:
        """Store ``record``; see ``LivenessRows.add_liveness_session``."""
        ...

    def get_liveness_session(self, session_id: str) -> LivenessSessionRecord | None:
        """The session, or ``None``."""
        ...

    def claim_liveness_session(
        self, session_id: str, created_after: float, now: float, challenge: dict[str, Any]
    ) -> bool:
        """See ``LivenessRows.claim_liveness_session``."""
        ...

    def finish_liveness_session(self, session_id: str, status: str, result: dict[str, Any]) -> None:
        """See ``LivenessRows.finish_liveness_session``."""
        ...


class LivenessRows:
    """``LivenessStore`` on the ``liveness_sessions`` table (mixed into ``SqlStore``)."""

    db: Any
    """``SqlStore``'s ``sql.SqlDatabase`` (not imported here: ``sql.py`` imports this module)."""

    def add_liveness_session(
        self, record: LivenessSessionRecord, token_after: float, prune_before: float
    ) -> LivenessSessionRecord:
        """Store ``record`` and return it, unless a session created after ``token_after`` has its
        ``client_token``: then return that one instead (AWS: the same token within 10 minutes gives
        the same session). Sessions created before ``prune_before`` are deleted in the same
        transaction (with their images)."""
        with self.db.transaction() as db:
            db.run("DELETE FROM liveness_sessions WHERE created < ?", (prune_before,))
            if record.client_token is not None:
                row = db.one(
                    f"SELECT {SESSION_COLUMNS} FROM liveness_sessions WHERE client_token = ? AND created > ?"
                    " ORDER BY created DESC LIMIT 1",
                    (record.client_token, token_after),
                )
                if row is not None:
                    return _record(row)
            db.run(
                "INSERT INTO liveness_sessions (session_id, client_token, settings, created, status)"
                " VALUES (?, ?, ?, ?, ?)",
                (record.session_id, record.client_token, json.dumps(record.settings), record.created, record.status),
            )
        return record

    def get_liveness_session(self, session_id: str) -> LivenessSessionRecord | None:
        """The session ``session_id``, or ``None``."""
        with self.db.connection() as db:
            row = db.one(f"SELECT {SESSION_COLUMNS} FROM liveness_sessions WHERE session_id = ?", (session_id,))
        return None if row is None else _record(row)

    def claim_liveness_session(
        self, session_id: str, created_after: float, now: float, challenge: dict[str, Any]
    ) -> bool:
        """Move the session from ``CREATED`` to ``IN_PROGRESS`` (started ``now``, with ``challenge``)
        if it is still ``CREATED`` and was created after ``created_after``; whether it was moved."""
        with self.db.transaction() as db:
            changed = db.run(
                "UPDATE liveness_sessions SET status = 'IN_PROGRESS', started = ?, challenge = ?"
                " WHERE session_id = ? AND status = 'CREATED' AND created > ?",
                (now, json.dumps(challenge), session_id, created_after),
            )
        return changed == 1

    def finish_liveness_session(self, session_id: str, status: str, result: dict[str, Any]) -> None:
        """Record the outcome of an ``IN_PROGRESS`` session: ``SUCCEEDED`` or ``FAILED``, and ``result``."""
        with self.db.transaction() as db:
            db.run(
                "UPDATE liveness_sessions SET status = ?, result = ? WHERE session_id = ? AND status = 'IN_PROGRESS'",
                (status, json.dumps(result), session_id),
            )

"""What ``rekollect index`` has already indexed, so an interrupted run resumes without repeats.

One JSON object a line (appended and flushed after each indexed image): ``source`` (path or
``s3://`` URL), ``fingerprint`` (``sha256:<hex>`` of a file's bytes, ``etag:<ETag>`` of an S3
object), ``external_image_id`` and ``face_ids``. An image is skipped when the same source with the
same fingerprint is in the file, so a changed file is indexed again. A line cut short by a crash is
ignored. The default file is per collection *instance* (endpoint, CollectionArn and
CreationTimestamp), under ``$XDG_STATE_HOME/rekollect/index/`` (``~/.local/state``), so a
collection deleted and created again starts from nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from datetime import datetime
from pathlib import Path


def default_state_path(endpoint_url: str | None, collection_id: str, arn: str, created: datetime) -> Path:
    """``$XDG_STATE_HOME/rekollect/index/<collection>-<16 hex of endpoint, ARN, creation time>.jsonl``."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    key = hashlib.sha256(f"{endpoint_url or 'aws'}|{arn}|{created.isoformat()}".encode()).hexdigest()[:16]
    return base / "rekollect" / "index" / f"{collection_id}-{key}.jsonl"


class IndexState:
    """The done list in ``path`` (created with its folder when missing); safe across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._done: set[tuple[str, str]] = set()
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    entry = json.loads(line)
                    self._done.add((entry["source"], entry["fingerprint"]))
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()

    def done(self, source: str, fingerprint: str) -> bool:
        """Whether ``source`` with this ``fingerprint`` was indexed before."""
        with self._lock:
            return (source, fingerprint) in self._done

    def record(self, source: str, fingerprint: str, external_image_id: str | None, face_ids: list[str]) -> None:
        """Note ``source`` as indexed (one line, flushed at once)."""
        entry = {"source": source, "fingerprint": fingerprint, "external_image_id": external_image_id}
        line = json.dumps({**entry, "face_ids": face_ids})  # ASCII: a file name that is not UTF-8 survives
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            self._done.add((source, fingerprint))

    def close(self) -> None:
        """Close the file."""
        self._file.close()

"""Server settings, from command-line flags or ``REKOLLECT_*`` environment variables."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

FACE_MODEL_VERSIONS = ("1.0", "2.0", "2.1")
"""Face models a server holds (``vision/packs.py``): 1.0 is dlib's, 2.0 YuNet + SFace, 2.1 the same
networks with Similarity on the false-match-rate scale."""

LOG_FORMATS = ("text", "json")
"""``--log-format``: lines of text, or one JSON object a line (``server.configure_logging``)."""


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/rekollect`` (``~/.local/share/rekollect`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "rekollect"


@dataclass(frozen=True)
class Settings:
    """Everything the server is configured with.

    ``s3_endpoint_url`` selects an S3-compatible server for ``Image.S3Object``; without it objects
    are read from ``s3_local_root/<Bucket>/<Name>`` (default ``<data_dir>/s3``).
    ``region`` and ``account_id`` form collection ARNs; SigV4 signatures must be scoped to ``region``.
    Stored-video jobs analyse ``video_sample_rate`` frames per second of video, at most
    ``video_max_jobs`` at once in progress; completion messages go to SNS at ``sns_endpoint_url``
    (boto3's default endpoint when unset) and, when set, are POSTed to ``video_webhook_url``.
    ``credentials_file`` (plus ``REKOLLECT_ACCESS_KEY_ID``/``REKOLLECT_SECRET_ACCESS_KEY``) turns on
    SigV4 authentication; ``X-Amz-Date`` may differ from the server clock by
    ``max_clock_skew_seconds``. ``trusted_proxies`` (comma-separated addresses or CIDR blocks, empty:
    none) are the reverse proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed
    (uvicorn's proxy-headers middleware): they set the client address and TLS status that policy
    conditions (``aws:SourceIp``, ``aws:SecureTransport``) see; from anyone else they are ignored.
    A client must send a request's headers within ``header_timeout_seconds`` (of connecting, or of
    the request's first byte) and its body within ``body_timeout_seconds`` of the headers, or the
    connection is closed (``wire/connection.py``).
    ``workers`` server processes share the port; a space with ``ann_threshold`` or more vectors is
    searched through the approximate index (exactly below). Each process runs its neural
    networks (BlazeFace, the embedding ResNet) on ``vision_threads`` threads (0: the cores it may use divided among the workers).
    New collections get face model ``face_model_version`` (one of ``FACE_MODEL_VERSIONS``).
    ``database_url`` (``postgresql://...``) keeps all shared state in PostgreSQL, for several nodes;
    without it the store is SQLite in ``data_dir``. ``snapshot_url`` (``s3://bucket/prefix``, read
    through ``s3_endpoint_url``) is where index snapshots are shared between nodes. A video job is
    held by its worker for ``job_lease_seconds`` at a time (renewed while it runs); a dead worker's
    job is taken over after that.
    ``accept_data_loss`` serves a store that lost acknowledged writes (it is behind its own index
    snapshot) instead of refusing to start (``core.index_sync``).
    Logs are written as ``log_format`` (one of ``LOG_FORMATS``). ``GET /metrics`` may be read with
    the bearer token in ``metrics_token_file`` (``wire.metrics.MetricsAccess``).
    """

    host: str = "127.0.0.1"
    port: int = 8085
    data_dir: Path = field(default_factory=default_data_dir)
    s3_endpoint_url: str | None = None
    s3_local_root: Path | None = None
    region: str = "us-east-1"
    account_id: str = "000000000000"
    video_sample_rate: float = 5.0
    video_max_jobs: int = 20
    sns_endpoint_url: str | None = None
    video_webhook_url: str | None = None
    credentials_file: Path | None = None
    max_clock_skew_seconds: int = 300
    trusted_proxies: str = ""
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 120.0
    workers: int = 1
    ann_threshold: int = 20_000
    vision_threads: int = 0
    face_model_version: str = "2.1"
    accept_data_loss: bool = False
    database_url: str | None = None
    snapshot_url: str | None = None
    job_lease_seconds: float = 30.0
    log_format: str = "text"
    metrics_token_file: Path | None = None

    _PATHS = ("data_dir", "s3_local_root", "credentials_file", "metrics_token_file")

    def to_json(self) -> str:
        """These settings as JSON (for ``from_json`` in a worker process)."""
        values = dataclasses.asdict(self)
        return json.dumps(
            {key: str(value) if key in self._PATHS and value is not None else value for key, value in values.items()}
        )

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """Settings written by ``to_json``."""
        values = json.loads(text)
        return cls(
            **{key: Path(value) if key in cls._PATHS and value is not None else value for key, value in values.items()}
        )

    @property
    def local_object_root(self) -> Path:
        """Folder whose sub-folders act as buckets when no S3 endpoint is set."""
        return self.s3_local_root or self.data_dir / "s3"

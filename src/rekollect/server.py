"""Assembles the service from settings and serves it with uvicorn."""

from __future__ import annotations

import datetime as dt
import logging
import os

import uvicorn
from starlette.applications import Starlette

from .config import Settings
from .core.objects import LocalObjectSource, ObjectSource, S3ObjectSource
from .core.pagination import TokenSigner
from .core.service import FaceService
from .index.exact import ExactIndex
from .operations import bind_operations
from .security.credentials import load_credentials
from .security.guard import RequestGuard, check_binding
from .storage.jobs import JobStore
from .storage.sqlite import SqliteStore
from .video.jobs import VideoJobs
from .video.notify import Notifier
from .vision.dlib_pack import DlibFaceAnalyzer
from .wire.http import create_wire_app

log = logging.getLogger(__name__)


def build_service(settings: Settings) -> FaceService:
    """The embedded default: SQLite store, exact in-memory index, dlib models, local or S3 objects."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    objects: ObjectSource
    if settings.s3_endpoint_url:
        objects = S3ObjectSource(settings.s3_endpoint_url, settings.region)
    else:
        settings.local_object_root.mkdir(parents=True, exist_ok=True)
        objects = LocalObjectSource(settings.local_object_root)
    service = FaceService(
        store=SqliteStore(settings.data_dir / "rekollect.sqlite3"),
        index=ExactIndex(),
        analyzer=DlibFaceAnalyzer(),
        objects=objects,
        tokens=TokenSigner.for_data_dir(settings.data_dir),
        arn_prefix=arn_prefix(settings),
    )
    service.load_index()
    service.videos = VideoJobs(
        service,
        JobStore(settings.data_dir / "jobs.sqlite3"),
        settings.data_dir / "video-spool",
        Notifier(settings.sns_endpoint_url, settings.video_webhook_url),
        sample_rate=settings.video_sample_rate,
        max_jobs=settings.video_max_jobs,
    )
    service.videos.run_worker()
    return service


def build_guard(settings: Settings) -> RequestGuard:
    """The request guard for the configured credentials (off without any)."""
    try:
        credentials = load_credentials(settings.credentials_file, os.environ)
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot load credentials: {error}") from None
    return RequestGuard(
        credentials,
        arn_prefix(settings),
        max_clock_skew=dt.timedelta(seconds=settings.max_clock_skew_seconds),
    )


def arn_prefix(settings: Settings) -> str:
    """``arn:aws:rekognition:<region>:<account>:`` for this server's resources."""
    return f"arn:aws:rekognition:{settings.region}:{settings.account_id}:"


def build_app(settings: Settings, guard: RequestGuard) -> Starlette:
    """The ASGI app for ``settings``."""
    return create_wire_app(bind_operations(build_service(settings)), guard=guard)


def serve(settings: Settings) -> None:
    """Run the server until interrupted; refuses to listen beyond loopback without credentials."""
    guard = build_guard(settings)
    check_binding(settings.host, guard)
    if not guard.enabled:
        log.warning("no credentials configured: local mode, authentication is off (loopback only)")
    app = build_app(settings, guard)
    log.info("serving on http://%s:%d with data in %s", settings.host, settings.port, settings.data_dir)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")

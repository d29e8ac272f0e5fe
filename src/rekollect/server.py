"""Assembles the service from settings and serves it with uvicorn."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from starlette.applications import Starlette

from .clustering.jobs import ClusteringJobs
from .config import Settings
from .console.app import console_app
from .core.index_sync import SyncedIndex, check_store_not_behind, read_manifest
from .core.objects import LocalObjectSource, ObjectSource, S3ObjectSource
from .core.pagination import TokenSigner
from .core.service import FaceService
from .cores import available_cores
from .index.tiered import TieredIndex
from .operations import bind_operations
from .operations.clustering import EXTENSION_OPERATIONS
from .security.credentials import load_credentials
from .security.guard import RequestGuard, check_binding
from .startup import StartupRefused
from .storage.jobs import JobStore
from .storage.sqlite import SqliteStore
from .video.jobs import VideoJobs
from .video.notify import Notifier
from .vision.attributes.model_files import models_dir
from .vision.dlib_pack import DlibFaceAnalyzer
from .vision.packs import ModelPacks
from .vision.zoo_pack import ZooFaceAnalyzer
from .wire.connection import DeadlineH11Protocol
from .wire.http import create_wire_app
from .wire.service_model import extensions_model, rekognition_model

log = logging.getLogger(__name__)

T = TypeVar("T")


def build_service(settings: Settings) -> FaceService:
    """The embedded default: SQLite store, tiered in-memory index following the store's change log
    (snapshots in ``<data-dir>/index``), face models 1.0 (dlib) and 2.0 (YuNet + SFace, the default
    for new collections), local or S3 objects."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    objects: ObjectSource
    if settings.s3_endpoint_url:
        objects = S3ObjectSource(settings.s3_endpoint_url, settings.region)
    else:
        settings.local_object_root.mkdir(parents=True, exist_ok=True)
        objects = LocalObjectSource(settings.local_object_root)
    store = SqliteStore(settings.data_dir / "rekollect.sqlite3")
    cores = max(1, available_cores() // settings.workers)
    vectors = TieredIndex(ann_threshold=settings.ann_threshold, search_threads=cores)
    index = SyncedIndex(store, vectors, settings.data_dir / "index", accept_data_loss=settings.accept_data_loss)
    threads = settings.vision_threads or cores
    dlib_pack = DlibFaceAnalyzer(threads=threads)
    service = FaceService(
        store=store,
        index=index,
        packs=ModelPacks([dlib_pack, ZooFaceAnalyzer(dlib_pack, threads=threads)], default=settings.face_model_version),
        objects=objects,
        tokens=TokenSigner.for_data_dir(settings.data_dir),
        arn_prefix=arn_prefix(settings),
    )
    index.open()
    jobs = JobStore(settings.data_dir / "jobs.sqlite3")
    service.videos = VideoJobs(
        service,
        jobs,
        settings.data_dir / "video-spool",
        Notifier(settings.sns_endpoint_url, settings.video_webhook_url),
        sample_rate=settings.video_sample_rate,
        max_jobs=settings.video_max_jobs,
        analysis_threads=cores,
    )
    service.videos.run_worker(resume=index.is_writer)
    service.clustering = ClusteringJobs(service, jobs)
    service.clustering.run_worker(resume=index.is_writer)
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
        settings.region,
        max_clock_skew=dt.timedelta(seconds=settings.max_clock_skew_seconds),
    )


def arn_prefix(settings: Settings) -> str:
    """``arn:aws:rekognition:<region>:<account>:`` for this server's resources."""
    return f"arn:aws:rekognition:{settings.region}:{settings.account_id}:"


def build_app(settings: Settings, guard: RequestGuard) -> Starlette:
    """The ASGI app for ``settings``: the API on ``POST /``, the web console under ``/console``.
    Shutting it down (SIGTERM or SIGINT) runs ``shut_down``."""
    service = build_service(settings)
    services = [
        (rekognition_model(), bind_operations(service)),
        (extensions_model(), bind_operations(service, EXTENSION_OPERATIONS)),
    ]
    app = create_wire_app(services, guard=guard, on_shutdown=lambda: shut_down(service))
    app.mount("/console", console_app(models_dir()))  # static pages; the API they call is guarded as always
    return app


def shut_down(service: FaceService) -> None:
    """Write the last index snapshot (snapshot-writer process), as the README promises at shutdown."""
    if isinstance(service.index, SyncedIndex):
        service.index.close()


_WORKER_SETTINGS = "REKOLLECT_WORKER_SETTINGS"
"""Environment variable carrying the parent's settings (JSON) to worker processes."""


def configure_logging() -> None:
    """INFO-level logs with time, level and logger name on standard error."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def worker_app() -> Starlette:
    """ASGI app factory of one of ``--workers`` processes (uvicorn spawns them; settings from the parent)."""
    configure_logging()
    settings = Settings.from_json(os.environ[_WORKER_SETTINGS])
    return refusing_start(lambda: build_app(settings, build_guard(settings)))


def check_data_dir(settings: Settings) -> None:
    """What would make every worker refuse to start (``StartupRefused``), checked once before spawning them."""
    TokenSigner.for_data_dir(settings.data_dir)
    store = SqliteStore(settings.data_dir / "rekollect.sqlite3")
    try:
        with contextlib.suppress(OSError, ValueError):  # a damaged snapshot is only rebuilt
            manifest = read_manifest(settings.data_dir / "index")
            if manifest is not None:
                check_store_not_behind(
                    store, manifest, settings.data_dir / "index", accept_data_loss=settings.accept_data_loss
                )
    finally:
        store.close()


def refusing_start(build: Callable[[], T]) -> T:
    """``build()``; a ``StartupRefused`` exits the process with status 1 and its message (no traceback)."""
    try:
        return build()
    except StartupRefused as error:
        log.critical("refusing to start: %s", error)
        raise SystemExit(1) from None


def serve(settings: Settings) -> None:
    """Run the server until interrupted; refuses to listen beyond loopback without credentials.

    With ``settings.workers`` > 1, uvicorn runs that many processes on the one port, each with its
    own models and index (kept equal to the store by ``SyncedIndex``).
    """
    guard = build_guard(settings)
    check_binding(settings.host, guard)
    if not guard.enabled:
        log.warning("no credentials configured: local mode, authentication is off (loopback only)")
    log.info(
        "serving on http://%s:%d with data in %s, %d worker(s)",
        settings.host,
        settings.port,
        settings.data_dir,
        settings.workers,
    )
    options = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        # X-Forwarded-For/-Proto only from the configured proxies (uvicorn trusts loopback by default).
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies,
        "http": functools.partial(
            DeadlineH11Protocol,
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
        ),
    }
    if settings.workers > 1:
        refusing_start(lambda: check_data_dir(settings))
        os.environ[_WORKER_SETTINGS] = settings.to_json()
        uvicorn.run("rekollect.server:worker_app", factory=True, workers=settings.workers, **options)
    else:
        app = refusing_start(lambda: build_app(settings, guard))
        uvicorn.run(app, **options)

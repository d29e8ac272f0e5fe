"""Assembles the service from settings and serves it with uvicorn."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from .clustering.jobs import ClusteringJobs
from .config import Settings
from .console.app import console_app, root_redirect
from .core.index_sync import SyncedIndex, check_store_not_behind, read_manifest
from .core.objects import LocalObjectSource, ObjectSource, S3ObjectSource
from .core.pagination import KEY_BYTES, TokenSigner
from .core.rules import space_rules
from .core.service import FaceService
from .cores import available_cores
from .gauges import ServiceGauges
from .health import health_route
from .index.tiered import TieredIndex
from .liveness.sessions import STREAM_SECONDS, LivenessSessions
from .operations import TALLIES, bind_extension_operations, bind_operations
from .operations.stream_processors import record_of as stream_record_of
from .operations.video import result_of as video_result_of
from .security.credentials import load_credentials
from .security.guard import RequestGuard, check_binding
from .startup import StartupRefused
from .storage.base import MetadataStore
from .storage.jobs import JobStore
from .storage.postgres import PostgresStore
from .storage.postgres_db import PostgresDatabase
from .storage.postgres_jobs import PostgresJobStore
from .storage.snapshot_mirror import SnapshotMirror
from .storage.sqlite import SqliteStore
from .storage.sqlite_jobs import SqliteJobStore
from .storage.streams import SqlStreamStore
from .streams.outputs import LocalObjectWriter, ObjectWriter, S3ObjectWriter
from .streams.processors import StreamProcessors
from .streams.sources import StreamSources
from .video.jobs import VideoJobs
from .video.notify import Notifier
from .vision.calibrated_pack import CalibratedFaceAnalyzer
from .vision.dlib_pack import DlibFaceAnalyzer
from .vision.packs import ModelPacks
from .vision.zoo_pack import ZooFaceAnalyzer
from .wire.connection import DeadlineH11Protocol
from .wire.http import create_wire_app
from .wire.metrics import MetricsAccess, WireMetrics
from .wire.service_model import extensions_model, rekognition_model
from .wire.streaming import StreamLimits, stream_route

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class Stores:
    """Where a node keeps its state: metadata, jobs (video, clustering, stream processor sessions),
    stream processors, and the pagination key."""

    metadata: MetadataStore
    jobs: JobStore
    streams: SqlStreamStore
    tokens: TokenSigner
    follow_changes: Callable[[Callable[[], None], threading.Event], None] | None = None
    """Runs a callback at each change-log commit until the event is set (PostgreSQL only)."""


def open_stores(settings: Settings) -> Stores:
    """PostgreSQL when ``database_url`` is set (all shared state in one database, for several
    nodes), else the embedded default: SQLite files and a key file in ``data_dir``."""
    if settings.database_url:
        database = PostgresDatabase(settings.database_url, max_connections=max(8, 2 * available_cores()))
        store = PostgresStore(database)
        jobs = PostgresJobStore(database)
        return Stores(
            store,
            jobs,
            SqlStreamStore(jobs),
            TokenSigner(store.secret("pagination", KEY_BYTES)),
            store.follow_changes,
        )
    sqlite_jobs = SqliteJobStore(settings.jobs_path)
    return Stores(
        SqliteStore(settings.store_path),
        sqlite_jobs,
        SqlStreamStore(sqlite_jobs),
        TokenSigner.for_data_dir(settings.data_dir),
    )


def build_service(settings: Settings, stores: Stores) -> FaceService:
    """The face service on ``stores``: a tiered in-memory index following the store's change log
    (snapshots in ``<data-dir>/index``, shared through ``snapshot_url`` when set), face models 1.0
    (dlib), 2.0 (YuNet + SFace) and 2.1 (2.0's networks, Similarity on the false-match-rate scale;
    the default for new collections), local or S3 objects."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    objects: ObjectSource
    if settings.s3_endpoint_url:
        objects = S3ObjectSource(settings.s3_endpoint_url, settings.region)
    else:
        settings.local_object_root.mkdir(parents=True, exist_ok=True)
        objects = LocalObjectSource(settings.local_object_root)
    cores = max(1, available_cores() // settings.workers)
    vectors = TieredIndex(ann_threshold=settings.ann_threshold, search_threads=cores)
    mirror = (
        SnapshotMirror(settings.snapshot_url, settings.s3_endpoint_url, settings.region)
        if settings.snapshot_url
        else None
    )
    threads = settings.vision_threads or cores
    dlib_pack = DlibFaceAnalyzer(threads=threads)
    zoo_pack = ZooFaceAnalyzer(dlib_pack, threads=threads)
    packs = ModelPacks([dlib_pack, zoo_pack, CalibratedFaceAnalyzer(zoo_pack)], default=settings.face_model_version)
    index = SyncedIndex(
        stores.metadata,
        vectors,
        settings.data_dir / "index",
        accept_data_loss=settings.accept_data_loss,
        mirror=mirror,
        rules=space_rules(stores.metadata, packs),
    )
    service = FaceService(
        store=stores.metadata,
        index=index,
        packs=packs,
        objects=objects,
        tokens=stores.tokens,
        arn_prefix=settings.arn_prefix,
        face_crops=settings.face_crops,
    )
    index.open()
    return service


def build_jobs(settings: Settings, service: FaceService, stores: Stores) -> tuple[VideoJobs, ClusteringJobs]:
    """The stored-video and face clustering jobs of ``service``, with this process's workers running."""
    videos = VideoJobs(
        service,
        stores.jobs,
        settings.data_dir / "video-spool",
        Notifier(settings.sns_endpoint_url, settings.video_webhook_url),
        result_of=video_result_of,
        sample_rate=settings.video_sample_rate,
        max_jobs=settings.video_max_jobs,
        analysis_threads=max(1, available_cores() // settings.workers),
        lease_seconds=settings.job_lease_seconds,
    )
    videos.run_worker()
    clustering = ClusteringJobs(service, stores.jobs, lease_seconds=settings.job_lease_seconds)
    clustering.run_worker()
    return videos, clustering


def build_streams(settings: Settings, service: FaceService, stores: Stores) -> StreamProcessors:
    """The stream processors of ``service``, with this process's stream workers running
    (``--stream-slots`` of them). ``StartupRefused`` when ``--stream-sources`` cannot be read."""
    objects: ObjectWriter = (
        S3ObjectWriter(settings.s3_endpoint_url, settings.region)
        if settings.s3_endpoint_url
        else LocalObjectWriter(settings.local_object_root)
    )
    streams = StreamProcessors(
        service,
        stores.streams,
        StreamSources(settings.stream_sources),
        Notifier(settings.sns_endpoint_url, None),
        objects,
        record_of=stream_record_of,
        kinesis_endpoint_url=settings.kinesis_endpoint_url,
        webhook_url=settings.stream_webhook_url,
        sample_rate=settings.stream_sample_rate,
        slots=settings.stream_slots,
        lease_seconds=settings.job_lease_seconds,
    )
    streams.run_workers()
    return streams


def build_guard(settings: Settings) -> RequestGuard:
    """The request guard for the configured credentials (off without any)."""
    try:
        credentials = load_credentials(settings.credentials_file, os.environ)
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot load credentials: {error}") from None
    return RequestGuard(
        credentials,
        settings.arn_prefix,
        settings.region,
        max_clock_skew=dt.timedelta(seconds=settings.max_clock_skew_seconds),
    )


LIVENESS_STREAM_PATH = "/start-face-liveness-session-websocket"
"""Where the AWS SDKs open ``StartFaceLivenessSession`` (its REST path with ``-websocket``)."""
LIVENESS_QUERY = {
    "session-id": "SessionId",
    "video-width": "VideoWidth",
    "video-height": "VideoHeight",
    "challenge-versions": "ChallengeVersions",
}
"""``StartFaceLivenessSession``'s header members (``x-amz-rekognition-streaming-liveness-*``), moved
into the query string by ``@aws-sdk/middleware-websocket``."""
LIVENESS_LIMITS = StreamLimits(max_frame_bytes=2 * 1024 * 1024, idle_seconds=15.0, total_seconds=STREAM_SECONDS)
"""A frame holds about a second of video (Amplify records 1 Mbit/s): 2 MiB leaves room for 16 Mbit/s."""


def build_app(settings: Settings, guard: RequestGuard) -> Starlette:
    """The ASGI app for ``settings``: the API (Rekognition's and the ``rekollect-extensions``
    operations) on ``POST /``, Face Liveness streams (WebSocket) at ``LIVENESS_STREAM_PATH``,
    ``GET /health`` for load balancers, ``GET /metrics``, the web console under ``/console``
    (``GET /`` redirects there). Shutting it down (SIGTERM or SIGINT) runs ``shut_down``."""
    stores = open_stores(settings)
    service = build_service(settings, stores)
    videos, clustering = build_jobs(settings, service, stores)
    streams = build_streams(settings, service, stores)
    stop = threading.Event()
    if stores.follow_changes is not None:
        follow = functools.partial(stores.follow_changes, service.index.sync, stop)
        threading.Thread(target=follow, name="change-log", daemon=True).start()
    metrics = WireMetrics(
        MetricsAccess(token=load_metrics_token(settings.metrics_token_file), local_mode=not guard.enabled),
        tallied=TALLIES,
        collectors=[ServiceGauges(service, stores.jobs)],
    )
    liveness = LivenessSessions(service, stores.metadata)  # type: ignore[arg-type]  # SqlStore keeps sessions
    services = [
        (rekognition_model(), bind_operations(service, videos, liveness, streams)),
        (
            extensions_model(),
            bind_extension_operations(service, videos, clustering, local_objects(service), streams),
        ),
    ]
    app = create_wire_app(
        services,
        guard=guard,
        metrics=metrics,
        on_shutdown=lambda: shut_down(service, stop),
        extra_routes=[
            health_route(service.index),
            root_redirect(),
            stream_route(
                LIVENESS_STREAM_PATH,
                "StartFaceLivenessSession",
                LIVENESS_QUERY,
                liveness.open_stream,
                guard if guard.enabled else None,
                LIVENESS_LIMITS,
            ),
        ],
    )
    app.mount("/console", console_app(settings.models_dir))  # static pages; the API they call is guarded as always
    return app


def local_objects(service: FaceService) -> LocalObjectSource | None:
    """The local object folder the service reads objects from, or ``None`` when it reads an S3 endpoint."""
    return service.objects if isinstance(service.objects, LocalObjectSource) else None


MIN_METRICS_TOKEN_CHARS = 16
"""A metrics bearer token shorter than this is refused at start-up (it could be guessed)."""


def load_metrics_token(path: Path | None) -> str | None:
    """The bearer token in ``path`` (surrounding whitespace stripped), ``None`` without a path;
    ``SystemExit`` with the reason when it cannot be read, is shorter than ``MIN_METRICS_TOKEN_CHARS``,
    or holds anything but printable ASCII without spaces: an HTTP header carries no other
    characters as such (RFC 9110), so no request could present such a token."""
    if path is None:
        return None
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise SystemExit(f"cannot read the metrics token file: {error}") from None
    if len(token) < MIN_METRICS_TOKEN_CHARS or not all("!" <= char <= "~" for char in token):
        raise SystemExit(
            f"the metrics token in {path} must be at least {MIN_METRICS_TOKEN_CHARS} characters of printable"
            " ASCII without spaces"
        )
    return token


def shut_down(service: FaceService, stop: threading.Event) -> None:
    """Stop following the change log and write the last index snapshot (snapshot-writer process),
    as the README promises at shutdown."""
    stop.set()
    service.index.close()


_WORKER_SETTINGS = "REKOLLECT_WORKER_SETTINGS"
"""Environment variable carrying the parent's settings (JSON) to worker processes."""


def configure_logging(log_format: str = "text") -> None:
    """INFO-level logs on standard error, with time, level and logger name: as text, or (``json``)
    one JSON object a line (python-json-logger) with the fields ``time`` (ISO 8601, UTC), ``level``,
    ``logger``, ``message`` and those the line carries (``wire/exchange.py``'s request lines)."""
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}",
                style="{",
                timestamp="time",
                rename_fields={"levelname": "level", "name": "logger"},
                reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy with terminal colours
            )
        )
        logging.basicConfig(level=logging.INFO, handlers=[handler])
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def worker_app() -> Starlette:
    """ASGI app factory of one of ``--workers`` processes (uvicorn spawns them; settings from the parent)."""
    settings = Settings.from_json(os.environ[_WORKER_SETTINGS])
    configure_logging(settings.log_format)
    return refusing_start(lambda: build_app(settings, build_guard(settings)))


def check_data_dir(settings: Settings) -> None:
    """What would make every worker refuse to start (``StartupRefused``), checked once before spawning them."""
    if settings.database_url:
        return  # each node checks its own snapshot against the shared database
    TokenSigner.for_data_dir(settings.data_dir)
    store = SqliteStore(settings.store_path)
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


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` as uvicorn binds one (``SO_REUSEADDR``, IPv6 for an
    address with ``:``), made before the models load, so that a port in use stops the server at once
    with one message saying what to do (``SystemExit`` 1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            reason = (
                f"port {port} on {host} is already in use (another `rekollect serve`, or another program):"
                f" stop it, or start this server on another port with --port (or REKOLLECT_PORT)"
            )
        elif error.errno == errno.EACCES:
            reason = f"no permission to listen on port {port}: use a port from 1024 up (--port)"
        else:
            reason = f"cannot listen on {host}:{port} ({error.strerror}): check --host and --port"
        log.critical("refusing to start: %s", reason)
        raise SystemExit(1) from None
    sock.set_inheritable(True)
    return sock


def base_url(host: str, port: int, tls: bool = False) -> str:
    """The URL a browser on this machine opens the server at (a wildcard address is reached on
    loopback; ``https`` when it serves TLS)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    scheme = "https" if tls else "http"
    return f"{scheme}://[{shown}]:{port}" if ":" in shown else f"{scheme}://{shown}:{port}"


def serve(settings: Settings) -> None:
    """Run the server until interrupted; refuses to listen beyond loopback without credentials, and
    on a port in use (``listening_socket``), before loading anything.

    With ``settings.workers`` > 1, uvicorn runs that many processes on the one port, each with its
    own models and index (kept equal to the store by ``SyncedIndex``). Once the app is ready, the log
    names the server's and the web console's URLs.
    """
    guard = build_guard(settings)
    check_binding(settings.host, guard)
    if not guard.enabled:
        log.warning("no credentials configured: local mode, authentication is off (loopback only)")
    load_metrics_token(settings.metrics_token_file)  # refuse a bad token file before spawning workers
    sock = listening_socket(settings.host, settings.port)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "access_log": False,  # the wire layer logs each request, with its id, operation and key
        # X-Forwarded-For/-Proto only from the configured proxies (uvicorn trusts loopback by default).
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies,
        "http": functools.partial(
            DeadlineH11Protocol,
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
        ),
        "ws": "websockets-sansio",
        "ws_max_size": 2 * LIVENESS_LIMITS.max_frame_bytes,  # larger frames are refused by the stream itself
        **tls_options(settings),
    }
    if settings.log_format == "json":
        options["log_config"] = None  # uvicorn's loggers propagate to the JSON handler
    url = base_url(settings.host, settings.port, settings.tls_certificate_file is not None)
    ready = (
        "serving on %s with data in %s, %d worker(s); web console: %s/console/",
        url,
        settings.data_dir,
        settings.workers,
        url,
    )
    if settings.workers > 1:
        refusing_start(lambda: check_data_dir(settings))
        os.environ[_WORKER_SETTINGS] = settings.to_json()
        with _multiprocess_metrics():
            config = uvicorn.Config("rekollect.server:worker_app", factory=True, workers=settings.workers, **options)
            log.info(*ready)
            Multiprocess(config, sockets=[sock]).run()
    else:
        app = refusing_start(lambda: build_app(settings, guard))
        log.info(*ready)
        uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS options for ``--tls-certificate``/``--tls-key`` (both or neither: ``SystemExit``
    otherwise, or when a file cannot be read): HTTPS and WSS on the one port. Browsers open Face
    Liveness streams only as ``wss:``."""
    certificate, key = settings.tls_certificate_file, settings.tls_key_file
    if certificate is None and key is None:
        return {}
    if certificate is None or key is None:
        raise SystemExit("--tls-certificate and --tls-key go together: give both files, or neither")
    for path in (certificate, key):
        if not path.is_file():
            raise SystemExit(f"cannot read the TLS file {path}")
    return {"ssl_certfile": str(certificate), "ssl_keyfile": str(key)}


@contextlib.contextmanager
def _multiprocess_metrics() -> Iterator[None]:
    """prometheus-client's multiprocess mode for the workers: each writes its counters to files in
    ``PROMETHEUS_MULTIPROC_DIR`` and a scrape sums them. Without it set, a new empty folder is used
    for the server's lifetime (a given folder must be emptied before each start, as the library asks)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="rekollect-metrics-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]

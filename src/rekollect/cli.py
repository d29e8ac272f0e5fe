"""``rekollect`` command line: ``rekollect serve [options]``, the API client tools
``rekollect index|search|compare|detect|paths`` (``rekollect.tools``) and ``rekollect cluster``
(``clustering.command``), and ``rekollect collection export|import`` (back up and restore one
collection: ``rekollect.backup.cli``).

Each option can also be set by an environment variable (the flag wins):

=======================  ===============================  ================================
flag                     variable                         default
=======================  ===============================  ================================
``--host``               ``REKOLLECT_HOST``               ``127.0.0.1``
``--port``               ``REKOLLECT_PORT``               ``8085``
``--data-dir``           ``REKOLLECT_DATA_DIR``           ``$XDG_DATA_HOME/rekollect``
``--s3-endpoint-url``    ``REKOLLECT_S3_ENDPOINT_URL``    none: read the local folder
``--s3-local-root``      ``REKOLLECT_S3_LOCAL_ROOT``      ``<data-dir>/s3``
``--region``             ``REKOLLECT_REGION``             ``us-east-1``
``--account-id``         ``REKOLLECT_ACCOUNT_ID``         ``000000000000``
``--video-sample-rate``  ``REKOLLECT_VIDEO_SAMPLE_RATE``  ``5`` frames per second of video
``--video-max-jobs``     ``REKOLLECT_VIDEO_MAX_JOBS``     ``20`` video jobs in progress
``--sns-endpoint-url``   ``REKOLLECT_SNS_ENDPOINT_URL``   none: boto3's SNS endpoint
``--video-webhook-url``  ``REKOLLECT_VIDEO_WEBHOOK_URL``  none: no webhook
``--credentials-file``   ``REKOLLECT_CREDENTIALS_FILE``   none: local mode, loopback only
``--max-clock-skew``     ``REKOLLECT_MAX_CLOCK_SKEW``     ``300`` seconds
``--trusted-proxies``    ``REKOLLECT_TRUSTED_PROXIES``    none: ``X-Forwarded-*`` ignored
``--header-timeout``     ``REKOLLECT_HEADER_TIMEOUT``     ``10`` seconds to send a request's headers
``--body-timeout``       ``REKOLLECT_BODY_TIMEOUT``       ``120`` seconds to send a request's body
``--workers``            ``REKOLLECT_WORKERS``            ``1`` server process
``--ann-threshold``      ``REKOLLECT_ANN_THRESHOLD``      ``20000`` vectors per collection
``--vision-threads``     ``REKOLLECT_VISION_THREADS``     ``0``: cores available / workers
``--face-model-version`` ``REKOLLECT_FACE_MODEL_VERSION`` ``2.1`` for new collections
``--database-url``       ``REKOLLECT_DATABASE_URL``       none: SQLite in the data directory
``--snapshot-url``       ``REKOLLECT_SNAPSHOT_URL``       none: index snapshots only on local disk
``--job-lease``          ``REKOLLECT_JOB_LEASE``          ``30`` seconds a video job is held
``--log-format``         ``REKOLLECT_LOG_FORMAT``         ``text`` (or ``json``)
``--metrics-token-file`` ``REKOLLECT_METRICS_TOKEN_FILE`` none: ``/metrics`` without a token
=======================  ===============================  ================================

``REKOLLECT_ACCESS_KEY_ID`` with ``REKOLLECT_SECRET_ACCESS_KEY`` adds one full-access credential.

``--accept-data-loss`` (flag only, for one start) serves a store that lost acknowledged writes
instead of refusing to start on it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import FACE_MODEL_VERSIONS, LOG_FORMATS, Settings, default_data_dir
from .tools import COMMANDS as TOOL_COMMANDS


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"REKOLLECT_{name}", default)


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Parse ``serve`` arguments (with environment defaults) into ``Settings``."""
    parser = argparse.ArgumentParser(
        prog="rekollect",
        description="Amazon Rekognition-compatible face service",
        epilog=f"Client tools: {', '.join(TOOL_COMMANDS)}, cluster; backups: collection export|import"
        " (rekollect COMMAND --help).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(_env("PORT", "8085") or 8085))
    serve.add_argument("--data-dir", type=Path, default=Path(_env("DATA_DIR") or default_data_dir()))
    serve.add_argument("--s3-endpoint-url", default=_env("S3_ENDPOINT_URL"))
    serve.add_argument("--s3-local-root", type=Path, default=_env("S3_LOCAL_ROOT"))
    serve.add_argument("--region", default=_env("REGION", "us-east-1"))
    serve.add_argument("--account-id", default=_env("ACCOUNT_ID", "000000000000"))
    serve.add_argument("--video-sample-rate", type=float, default=float(_env("VIDEO_SAMPLE_RATE", "5") or 5))
    serve.add_argument("--video-max-jobs", type=int, default=int(_env("VIDEO_MAX_JOBS", "20") or 20))
    serve.add_argument("--sns-endpoint-url", default=_env("SNS_ENDPOINT_URL"))
    serve.add_argument("--video-webhook-url", default=_env("VIDEO_WEBHOOK_URL"))
    serve.add_argument("--credentials-file", type=Path, default=_env("CREDENTIALS_FILE"))
    serve.add_argument("--max-clock-skew", type=int, default=int(_env("MAX_CLOCK_SKEW", "300") or 300))
    serve.add_argument("--trusted-proxies", default=_env("TRUSTED_PROXIES", ""))
    serve.add_argument("--header-timeout", type=float, default=float(_env("HEADER_TIMEOUT", "10") or 10))
    serve.add_argument("--body-timeout", type=float, default=float(_env("BODY_TIMEOUT", "120") or 120))
    serve.add_argument("--workers", type=int, default=int(_env("WORKERS", "1") or 1))
    serve.add_argument("--ann-threshold", type=int, default=int(_env("ANN_THRESHOLD", "20000") or 20000))
    serve.add_argument("--vision-threads", type=int, default=int(_env("VISION_THREADS", "0") or 0))
    serve.add_argument("--face-model-version", choices=FACE_MODEL_VERSIONS, default=_env("FACE_MODEL_VERSION", "2.1"))
    serve.add_argument("--database-url", default=_env("DATABASE_URL"), help="postgresql://... for several nodes")
    serve.add_argument("--snapshot-url", default=_env("SNAPSHOT_URL"), help="s3://bucket/prefix for index snapshots")
    serve.add_argument("--job-lease", type=float, default=float(_env("JOB_LEASE", "30") or 30))
    serve.add_argument("--log-format", choices=LOG_FORMATS, default=_env("LOG_FORMAT", "text"))
    serve.add_argument("--metrics-token-file", type=Path, default=_env("METRICS_TOKEN_FILE"))
    serve.add_argument(
        "--accept-data-loss",
        action="store_true",
        help="start even though the store lost writes it had acknowledged (it is behind its index snapshot)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1 or args.ann_threshold < 1:
        parser.error("--workers and --ann-threshold must be at least 1")
    if not (args.header_timeout > 0 and args.body_timeout > 0):
        parser.error("--header-timeout and --body-timeout must be positive numbers of seconds")
    if args.job_lease <= 0:
        parser.error("--job-lease must be a positive number of seconds")
    if args.snapshot_url and not args.snapshot_url.startswith("s3://"):
        parser.error("--snapshot-url must be s3://bucket/prefix")
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be a postgresql:// URL")
    if args.vision_threads < 0:
        parser.error("--vision-threads must be at least 0 (0: automatic)")
    for proxy in filter(None, (item.strip() for item in args.trusted_proxies.split(","))):
        try:
            ipaddress.ip_network(proxy)
        except ValueError:
            parser.error(f"--trusted-proxies: {proxy!r} is not an IP address or CIDR block (host bits must be zero)")
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        s3_endpoint_url=args.s3_endpoint_url,
        s3_local_root=args.s3_local_root,
        region=args.region,
        account_id=args.account_id,
        video_sample_rate=args.video_sample_rate,
        video_max_jobs=args.video_max_jobs,
        sns_endpoint_url=args.sns_endpoint_url,
        video_webhook_url=args.video_webhook_url,
        credentials_file=args.credentials_file,
        max_clock_skew_seconds=args.max_clock_skew,
        trusted_proxies=args.trusted_proxies,
        header_timeout_seconds=args.header_timeout,
        body_timeout_seconds=args.body_timeout,
        workers=args.workers,
        ann_threshold=args.ann_threshold,
        vision_threads=args.vision_threads,
        face_model_version=args.face_model_version,
        accept_data_loss=args.accept_data_loss,
        database_url=args.database_url,
        snapshot_url=args.snapshot_url,
        job_lease_seconds=args.job_lease,
        log_format=args.log_format,
        metrics_token_file=args.metrics_token_file,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``rekollect`` console script: a client tool's command, ``cluster``,
    ``collection``, else ``serve``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in TOOL_COMMANDS:
        from .tools.main import run

        raise SystemExit(run(arguments))
    if arguments[:1] == ["cluster"]:
        from .clustering.command import main as cluster

        cluster(arguments[1:])
        return
    if arguments[:1] == ["collection"]:
        from .backup.cli import main as collection_main

        collection_main(arguments[1:])
        return
    from .server import configure_logging, serve

    settings = parse_settings(arguments)
    configure_logging(settings.log_format)
    serve(settings)

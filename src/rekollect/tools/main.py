"""Argument parsing and dispatch for the client tools (``rekollect index|search|compare|detect|cluster|paths``).

Every tool takes the same connection flags (``--endpoint-url``, ``--region``, ``--aws``) and
``--json``, and every error of every tool goes through ``run``'s one handler: a message on
standard error, never a traceback. Exit status: 0 done; 1 an AWS error, an unreachable endpoint,
or (``index``) any image failed; 2 bad arguments, a file that cannot be read, or a path that is
neither a regular file nor a folder; 130 interrupted (SIGINT); 143 stopped by SIGTERM. Both
signals stop ``index`` the same way: after the requests in flight are answered and recorded.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

from ..config import SERVE, add_options, settings_from
from . import cluster, photos
from .client import extensions_client, rekognition_client, resolve_endpoint, s3_client
from .index import Totals, describe_error, index_all, summary
from .recognise import ASSOCIATED, DEFAULT_USER_MATCH_THRESHOLD, NO_MATCH
from .sources import ID_MODES, collect
from .state import IndexState, default_state_path
from .tables import printable, table

_QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")


class UsageError(Exception):
    """Arguments that do not go together (exit status 2, as argparse's own errors)."""
_PATH_NAMES = ("data-dir", "s3-local-root")


def _parser() -> argparse.ArgumentParser:
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument(
        "--endpoint-url",
        help="Rekognition endpoint (default: $REKOLLECT_ENDPOINT_URL, $AWS_ENDPOINT_URL_REKOGNITION, "
        "$AWS_ENDPOINT_URL, else http://127.0.0.1:8085). Region and credentials come from boto3's usual chain; "
        "on a loopback endpoint without any, us-east-1 and the dummy key 'local'",
    )
    api.add_argument("--region", help="AWS region of the requests (default: boto3's configured region, else us-east-1 on a loopback endpoint)")
    api.add_argument("--aws", action="store_true", help="use Amazon Rekognition's own endpoint, ignoring the above")
    api.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser = argparse.ArgumentParser(prog="rekollect")
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", parents=[api], help="index every JPEG/PNG under folders and s3:// prefixes")
    index.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or s3://bucket/prefix")
    index.add_argument("--collection-id", required=True)
    index.add_argument("--create", action="store_true", help="create the collection if it does not exist")
    index.add_argument(
        "--external-image-id",
        choices=ID_MODES,
        default="file",
        help="ExternalImageId from the file name (default), its parent folder's name, or none (sanitized to the "
        "service's pattern [a-zA-Z0-9_.\\-:]+)",
    )
    index.add_argument("--workers", type=int, default=4, help="requests in flight (default 4)")
    index.add_argument("--max-faces", type=int, help="IndexFaces MaxFaces (1-100)")
    index.add_argument("--quality-filter", choices=_QUALITY_FILTERS, help="IndexFaces QualityFilter")
    index.add_argument("--state", type=Path, help="resume file (default: per collection, under ~/.local/state)")
    index.add_argument("--s3-endpoint-url", help="S3 endpoint for listing s3:// sources (default: boto3's)")
    index.add_argument("--no-progress", action="store_true", help="no progress bar")
    index.add_argument(
        "--associate-users",
        action="store_true",
        help="associate each new face with the user it matches (SearchUsers, then AssociateFaces), and say so",
    )
    index.add_argument(
        "--user-match-threshold",
        type=float,
        default=DEFAULT_USER_MATCH_THRESHOLD,
        help=f"UserMatchThreshold of --associate-users, 0-100 (default {DEFAULT_USER_MATCH_THRESHOLD:g}, AssociateFaces')",
    )

    search = commands.add_parser("search", parents=[api], help="search a collection with each face of a photo")
    search.add_argument("photo", type=Path)
    search.add_argument("--collection-id", required=True)
    search.add_argument("--users", action="store_true", help="search users (SearchUsersByImage), not faces")
    search.add_argument("--threshold", type=float, default=80.0, help="match threshold, 0-100 (default 80)")
    search.add_argument("--max", type=int, default=10, help="most matches of each face (default 10)")
    search.add_argument("--draw", type=Path, metavar="OUT.jpg", help="write a JPEG copy with each face labelled by its best match")

    compare = commands.add_parser("compare", parents=[api], help="compare the largest face of A with the faces of B")
    compare.add_argument("source", type=Path, metavar="A")
    compare.add_argument("target", type=Path, metavar="B")
    compare.add_argument("--threshold", type=float, default=80.0, help="SimilarityThreshold, 0-100 (default 80)")

    detect = commands.add_parser("detect", parents=[api], help="detect faces and their attributes")
    detect.add_argument("photo", type=Path)
    detect.add_argument("--draw", type=Path, metavar="OUT.jpg", help="write a JPEG copy with the faces drawn on it")

    cluster = commands.add_parser(
        "cluster", parents=[api], help="group a collection's faces by person and accept groups as users (Rekollect only)"
    )
    cluster.add_argument("--collection-id", help="start a new clustering job on this collection")
    cluster.add_argument("--job-id", help="show (and with --accept, act on) this job instead of starting one")
    cluster.add_argument(
        "--threshold", type=float, help="FaceMatchThreshold (default: the collection's face model's: 82 for 2.1, 97 for 1.0 and 2.0)"
    )
    cluster.add_argument("--min-cluster-size", type=int, help="MinClusterSize (default 2)")
    cluster.add_argument("--include-associated", action="store_true", help="also cluster faces that belong to users")
    cluster.add_argument("--accept", nargs="*", metavar="CLUSTER_ID", help="make users of these clusters of the job (none named: all)")
    cluster.add_argument("--user-id", help="UserId for the one accepted cluster")
    cluster.add_argument("--no-progress", action="store_true", help="no progress bar")

    commands.add_parser(
        "paths",
        help="print the server's data directory and local S3 root: `rekollect paths [data-dir|s3-local-root] "
        "[--json] [serve's flags]` (serve's flags and variables apply)",
    )
    return parser


def _paths(argv: Sequence[str]) -> int:
    name = argv[0] if argv and argv[0] in _PATH_NAMES else None
    flags = [arg for arg in argv[1 if name else 0 :] if arg != "--json"]
    parser = argparse.ArgumentParser(prog="rekollect paths")
    add_options(parser, SERVE)
    settings = settings_from(parser, parser.parse_args(flags))
    found = {"data-dir": str(settings.data_dir), "s3-local-root": str(settings.local_object_root)}
    if name is not None:
        print(found[name])
    elif "--json" in argv:
        print(json.dumps(found))
    else:
        print(table(["Path", "Where"], list(found.items())))
    return 0


def _collection(client: Any, collection_id: str, create: bool) -> dict[str, Any]:
    try:
        return client.describe_collection(CollectionId=collection_id)
    except ClientError as error:
        if not create or error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    client.create_collection(CollectionId=collection_id)
    return client.describe_collection(CollectionId=collection_id)


def _index(args: argparse.Namespace, endpoint: str | None) -> int:
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    client = rekognition_client(endpoint, args.workers, args.region)
    collection = _collection(client, args.collection_id, args.create)
    sources = collect(args.paths, args.external_image_id, lambda: s3_client(args.s3_endpoint_url, args.region))
    state_path = args.state or default_state_path(
        endpoint, args.collection_id, collection["CollectionARN"], collection["CreationTimestamp"]
    )
    extra: dict[str, Any] = {}
    if args.max_faces is not None:
        extra["MaxFaces"] = args.max_faces
    if args.quality_filter is not None:
        extra["QualityFilter"] = args.quality_filter
    state = IndexState(state_path)
    started = time.monotonic()
    try:
        threshold = args.user_match_threshold if args.associate_users else None
        totals = index_all(
            client, args.collection_id, sources, state, args.workers, extra, not args.no_progress, threshold
        )
    finally:
        state.close()
    seconds = time.monotonic() - started
    face_count = client.describe_collection(CollectionId=args.collection_id)["FaceCount"]
    result = {
        "collection_id": args.collection_id,
        "endpoint": endpoint or "aws",
        "state_file": str(state_path),
        **summary(totals, seconds, face_count),
    }
    associated = sum(association.outcome == ASSOCIATED for _, association in totals.associations)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        rows = [
            ["images found", result["images"]],
            ["indexed now", result["indexed"]],
            ["indexed before (skipped)", result["skipped"]],
            ["failed", result["failed"]],
            ["faces indexed", result["faces_indexed"]],
            ["faces not indexed (QualityFilter, MaxFaces)", result["faces_not_indexed"]],
            ["images without a face indexed", len(totals.without_faces)],
            *(
                [[f"faces associated with users (UserMatchThreshold {args.user_match_threshold:g})", associated]]
                if args.associate_users
                else []
            ),
            ["faces in the collection", face_count],
            ["seconds", f"{seconds:.1f}"],
            ["images/s", result["images_per_second"] or "-"],
        ]
        print(table([f"Collection {args.collection_id}", "Count"], rows))
        if totals.without_faces:
            print()
            print(table(["Image without a face indexed", "Why"], totals.without_faces))
        if totals.associations:
            print()
            print(table(["Image", "Face", "User", "Similarity", "Outcome"], association_rows(totals)))
        if totals.failures:
            print()
            print(table(["Failed image", "Error"], totals.failures))
        print(f"\nresume state: {printable(str(state_path))}")
    return 1 if totals.failed else 0


def association_rows(totals: Totals) -> list[list[object]]:
    """What ``--associate-users`` did to each new face that matched a user."""
    return [
        [label, a.face_id, a.user_id, f"{a.similarity:.1f}", a.outcome + (f" ({a.reason})" if a.reason else "")]
        for label, a in totals.associations
        if a.outcome != NO_MATCH
    ]


def _cluster(args: argparse.Namespace, endpoint: str | None) -> int:
    if (args.collection_id is None) == (args.job_id is None):
        raise UsageError("give --collection-id (a new job) or --job-id (a job already run), not both")
    if args.user_id is not None and (args.accept is None or len(args.accept) != 1):
        raise UsageError("--user-id needs --accept with exactly one ClusterId")
    if args.aws:
        raise UsageError("face clustering is Rekollect's own: Amazon Rekognition has no such operation")
    result, text = cluster.run(rekognition_client(endpoint, region=args.region), extensions_client(endpoint, args.region), args)
    print(json.dumps(result, indent=2, default=str) if args.json else text)
    return 0


def _one_request(args: argparse.Namespace, endpoint: str | None) -> int:
    client = rekognition_client(endpoint, region=args.region)
    if args.command == "search":
        response = photos.search(
            client, args.collection_id, args.photo, args.users, args.threshold, args.max, args.draw
        )
        text = photos.search_text(response) + (f"\ndrawn on {args.draw}" if args.draw else "")
    elif args.command == "compare":
        response = photos.compare(client, args.source, args.target, args.threshold)
        text = photos.compare_text(response)
    else:
        response = photos.detect(client, args.photo, args.draw)
        text = photos.detect_text(response) + (f"\ndrawn on {args.draw}" if args.draw else "")
    print(json.dumps(response, indent=2, default=str) if args.json else text)
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like SIGINT's ``KeyboardInterrupt``, so both stop a run alike."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def run(argv: Sequence[str]) -> int:
    """Run one tool command (``argv`` without the program name); returns the exit status."""
    if argv and argv[0] == "paths" and not {"-h", "--help"} & set(argv):
        return _paths(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    endpoint = resolve_endpoint(args.endpoint_url, args.aws)
    run_command = {"index": _index, "cluster": _cluster}.get(args.command, _one_request)
    try:
        return run_command(args, endpoint)
    except UsageError as error:
        parser.error(f"{args.command}: {error}")
    except ClientError as error:
        print(f"rekollect {args.command}: {describe_error(error)}", file=sys.stderr)
    except EndpointConnectionError:
        print(f"rekollect {args.command}: cannot reach {endpoint} (is `rekollect serve` running?)", file=sys.stderr)
    except (NoCredentialsError, NoRegionError) as error:
        print(
            f"rekollect {args.command}: {str(error).rstrip('.')}: set AWS_DEFAULT_REGION and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "(or use a loopback --endpoint-url, where the tools default to us-east-1 and the key 'local')",
            file=sys.stderr,
        )
    except (OSError, ValueError) as error:
        print(f"rekollect {args.command}: {printable(str(error))}", file=sys.stderr)
        return 2
    except BotoCoreError as error:  # a timeout, a malformed endpoint URL...
        print(f"rekollect {args.command}: {printable(str(error))}", file=sys.stderr)
    except KeyboardInterrupt as interruption:
        stopped = "stopped (SIGTERM)" if isinstance(interruption, Terminated) else "interrupted"
        print(f"rekollect {args.command}: {stopped}; run it again to go on where it stopped", file=sys.stderr)
        return 143 if isinstance(interruption, Terminated) else 130
    return 1

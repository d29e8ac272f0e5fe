"""``rekollect cluster``: cluster a collection's faces on a running server, show the clusters, and
accept chosen ones as Rekognition users.

Everything goes over the wire with boto3, as any client would: StartFaceClustering and
GetFaceClustering through the ``rekollect-extensions`` model shipped in the package (added to
botocore's search path here), a progress bar (tqdm) while the job runs, then a table of the
clusters (ClusterId, faces, cohesion, suggested user, a few ExternalImageIds from ListFaces).
``--accept`` (all clusters, or the ClusterIds given) makes each accepted cluster a user: its
``SuggestedUserId`` when it has one, ``--user-id`` (one cluster only), or
``cluster-<first 8 characters of the JobId>-<ClusterId>``; the user is created (CreateUser; an
existing one is kept) and the cluster's faces associated (AssociateFaces, at most 100 ids per call
and 100 faces per user, AWS's quotas; the faces most similar to the representative first).

Credentials, region and profile come from boto3's usual sources; with no credentials at all the
requests go unsigned, which a server in local mode (no credentials configured) accepts.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import boto3
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from tqdm import tqdm

from ..wire.service_model import DATA_PATH, EXTENSIONS

MAX_FACES_PER_USER = 100
"""AWS quota: faces associated with one user."""
MAX_IDS_PER_ASSOCIATION = 100
"""AssociateFaces takes at most 100 FaceIds."""
POLL_SECONDS = 0.5
SHOWN_IMAGE_IDS = 3
"""ExternalImageIds shown per cluster in the table."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The ``cluster`` subcommand's options."""
    parser = argparse.ArgumentParser(prog="rekollect cluster", description="Group a collection's faces by person")
    parser.add_argument("--collection-id", required=True)
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:8085")
    parser.add_argument("--region", default=None, help="default: boto3's configured region, else us-east-1")
    parser.add_argument("--threshold", type=float, help="FaceMatchThreshold (default: the collection's face model's: 82 for 2.1, 97 for 1.0 and 2.0)")
    parser.add_argument("--min-cluster-size", type=int, help="MinClusterSize (default 2)")
    parser.add_argument("--include-associated", action="store_true", help="also cluster faces that belong to users")
    parser.add_argument("--accept", nargs="*", metavar="CLUSTER_ID", help="make users of these clusters (none: all)")
    parser.add_argument("--user-id", help="UserId for the one accepted cluster")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.user_id is not None and (args.accept is None or len(args.accept) != 1):
        parser.error("--user-id needs --accept with exactly one ClusterId")
    return args


def clients(endpoint_url: str, region: str | None) -> tuple[Any, Any]:
    """``(rekognition, rekollect-extensions)`` boto3 clients for ``endpoint_url``."""
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.append(str(DATA_PATH))
    session = boto3.session.Session(botocore_session=core)
    region = region or session.region_name or "us-east-1"
    config = Config(retries={"max_attempts": 3})
    if session.get_credentials() is None:
        config = config.merge(Config(signature_version=UNSIGNED))
    return tuple(
        session.client(name, endpoint_url=endpoint_url, region_name=region, config=config)
        for name in ("rekognition", EXTENSIONS)
    )


def run_job(extensions: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Start the job, follow it with a progress bar, and return the final status with every cluster
    (``Clusters``) and unclustered face (``UnclusteredFaceIds``) of all pages."""
    request: dict[str, Any] = {"CollectionId": args.collection_id, "IncludeAssociatedFaces": args.include_associated}
    if args.threshold is not None:
        request["FaceMatchThreshold"] = args.threshold
    if args.min_cluster_size is not None:
        request["MinClusterSize"] = args.min_cluster_size
    job_id = extensions.start_face_clustering(**request)["JobId"]
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}"
    with tqdm(total=100.0, bar_format=bar_format, disable=args.no_progress, file=sys.stderr, desc="clustering") as bar:
        while True:
            status = extensions.get_face_clustering(JobId=job_id)
            bar.update(status.get("Progress", 0.0) - bar.n)
            if status["JobStatus"] != "IN_PROGRESS":
                break
            time.sleep(POLL_SECONDS)
    clusters, unclustered = list(status.get("Clusters", [])), list(status.get("UnclusteredFaceIds", []))
    while status.get("NextToken"):
        status = extensions.get_face_clustering(JobId=job_id, NextToken=status["NextToken"])
        clusters += status.get("Clusters", [])
        unclustered += status.get("UnclusteredFaceIds", [])
    return {**status, "Clusters": clusters, "UnclusteredFaceIds": unclustered}


def image_ids(rekognition: Any, collection_id: str, face_ids: list[str]) -> list[str]:
    """The ExternalImageIds (without repeats, in order) of ``face_ids``' faces."""
    faces = rekognition.list_faces(CollectionId=collection_id, FaceIds=face_ids)["Faces"]
    return list(dict.fromkeys(face["ExternalImageId"] for face in faces if face.get("ExternalImageId")))


def print_table(rekognition: Any, collection_id: str, result: dict[str, Any]) -> None:
    """The clusters as a text table on standard output, then the counts."""
    print(f"{'ClusterId':>9}  {'Faces':>5}  {'Cohesion':>8}  {'SuggestedUserId':<20}  ExternalImageIds")
    for cluster in result["Clusters"]:
        shown = image_ids(rekognition, collection_id, cluster["FaceIds"][:SHOWN_IMAGE_IDS])
        print(
            f"{cluster['ClusterId']:>9}  {len(cluster['FaceIds']):>5}  {cluster['Cohesion']:>8.2f}  "
            f"{cluster.get('SuggestedUserId', '-'):<20}  {', '.join(shown)}"
        )
    print(
        f"{result.get('FaceCount', 0)} faces: {len(result['Clusters'])} clusters, "
        f"{len(result['UnclusteredFaceIds'])} unclustered (job {result['JobId']})"
    )


def accept(rekognition: Any, collection_id: str, cluster: dict[str, Any], user_id: str) -> tuple[int, int]:
    """Make ``cluster`` the user ``user_id`` (created unless it exists); return (faces associated, faces not)."""
    try:
        rekognition.create_user(CollectionId=collection_id, UserId=user_id)
        existing: set[str] = set()
    except rekognition.exceptions.ConflictException:
        pages = rekognition.get_paginator("list_faces").paginate(CollectionId=collection_id, UserId=user_id)
        existing = {face["FaceId"] for page in pages for face in page["Faces"]}
    wanted = [face_id for face_id in cluster["FaceIds"] if face_id not in existing]
    wanted = wanted[: max(0, MAX_FACES_PER_USER - len(existing))]
    associated = 0
    for start in range(0, len(wanted), MAX_IDS_PER_ASSOCIATION):
        response = rekognition.associate_faces(
            CollectionId=collection_id, UserId=user_id, FaceIds=wanted[start : start + MAX_IDS_PER_ASSOCIATION]
        )
        associated += len(response["AssociatedFaces"])
    return associated, len(cluster["FaceIds"]) - associated - len(set(cluster["FaceIds"]) & existing)


def main(argv: Sequence[str]) -> None:
    """Entry point of ``rekollect cluster``."""
    args = parse_args(argv)
    rekognition, extensions = clients(args.endpoint_url, args.region)
    result = run_job(extensions, args)
    if result["JobStatus"] != "SUCCEEDED":
        raise SystemExit(f"clustering job {result['JobId']} {result['JobStatus']}: {result.get('StatusMessage')}")
    print_table(rekognition, args.collection_id, result)
    if args.accept is None:
        return
    by_id = {cluster["ClusterId"]: cluster for cluster in result["Clusters"]}
    unknown = [cluster_id for cluster_id in args.accept if cluster_id not in by_id]
    if unknown:
        raise SystemExit(f"no cluster {', '.join(unknown)} in job {result['JobId']}")
    for cluster_id in args.accept or list(by_id):
        cluster = by_id[cluster_id]
        user_id = args.user_id or cluster.get("SuggestedUserId") or f"cluster-{result['JobId'][:8]}-{cluster_id}"
        associated, refused = accept(rekognition, args.collection_id, cluster, user_id)
        print(f"cluster {cluster_id} -> user {user_id}: {associated} faces associated, {refused} not")

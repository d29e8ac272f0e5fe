"""``rekollect cluster``: cluster a collection's faces on a running server, show the clusters, and
accept chosen ones of that very job as Rekognition users.

Everything goes over the wire with boto3, as any client would: StartFaceClustering and
GetFaceClustering through the ``rekollect-extensions`` model shipped in the package (``client.py``
puts it on botocore's search path), a progress bar (tqdm) while the job runs, then a table of the
clusters (ClusterId, faces, cohesion, suggested user, default name, a few ExternalImageIds from
ListFaces) and the command that accepts them. ``--job-id`` shows (and with ``--accept`` acts on) a
job already run, so the ClusterIds accepted are those of the table just read; without it a new job
is started on ``--collection-id``.

``--accept`` (all clusters, or the ClusterIds given) makes each accepted cluster a user named, first
found: ``--user-id`` (one cluster only); its ``SuggestedUserId`` (the user most of its faces already
belong to); its dominant ExternalImageId (``default_user_id``: the one more than half of its faces
carry, made to fit the UserId pattern); else ``cluster-<first 8 characters of the JobId>-<ClusterId>``.
The user is created (CreateUser; an existing one is kept) and the cluster's faces associated
(AssociateFaces, at most 100 ids per call and 100 faces per user, AWS's quotas; the faces most
similar to the representative first).
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from typing import Any

from tqdm import tqdm

from .tables import table

MAX_FACES_PER_USER = 100
"""AWS quota: faces associated with one user."""
MAX_IDS_PER_ASSOCIATION = 100
"""AssociateFaces takes at most 100 FaceIds."""
MAX_FACE_IDS_PER_LISTING = 4096
"""ListFaces takes at most 4096 FaceIds."""
POLL_SECONDS = 0.5
SHOWN_IMAGE_IDS = 3
"""ExternalImageIds shown per cluster in the table."""
_NOT_USER_ID = re.compile(r"[^a-zA-Z0-9_.\-:]")
_MAX_USER_ID = 128


def start_job(extensions: Any, collection_id: str, threshold: float | None, min_size: int | None, associated: bool) -> str:
    """Start a clustering job; its JobId."""
    request: dict[str, Any] = {"CollectionId": collection_id, "IncludeAssociatedFaces": associated}
    if threshold is not None:
        request["FaceMatchThreshold"] = threshold
    if min_size is not None:
        request["MinClusterSize"] = min_size
    return extensions.start_face_clustering(**request)["JobId"]


def finished_job(extensions: Any, job_id: str, progress: bool) -> dict[str, Any]:
    """Follow the job with a progress bar until it ends; the final status with every cluster
    (``Clusters``) and unclustered face (``UnclusteredFaceIds``) of all pages."""
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}"
    with tqdm(total=100.0, bar_format=bar_format, disable=not progress, file=sys.stderr, desc="clustering") as bar:
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
    status.pop("ResponseMetadata", None)
    return {**status, "NextToken": None, "Clusters": clusters, "UnclusteredFaceIds": unclustered}


def image_ids(rekognition: Any, collection_id: str, face_ids: list[str]) -> list[str | None]:
    """The ExternalImageId of each of ``face_ids`` that still exists (``None`` for a face without one)."""
    found: list[str | None] = []
    for start in range(0, len(face_ids), MAX_FACE_IDS_PER_LISTING):
        pages = rekognition.get_paginator("list_faces").paginate(
            CollectionId=collection_id, FaceIds=face_ids[start : start + MAX_FACE_IDS_PER_LISTING]
        )
        found += [face.get("ExternalImageId") for page in pages for face in page["Faces"]]
    return found


def dominant_image_id(external_image_ids: list[str | None]) -> str | None:
    """The ExternalImageId more than half of the faces carry, or ``None``."""
    counted = Counter(external_image_ids).most_common(1)
    if counted and counted[0][0] is not None and 2 * counted[0][1] > len(external_image_ids):
        return counted[0][0]
    return None


def default_user_id(cluster: dict[str, Any], external_image_ids: list[str | None], job_id: str) -> str:
    """The name a cluster's user gets without ``--user-id`` (see the module docstring)."""
    if cluster.get("SuggestedUserId"):
        return cluster["SuggestedUserId"]
    dominant = dominant_image_id(external_image_ids)
    if dominant is not None:
        fitted = _NOT_USER_ID.sub("_", dominant)[:_MAX_USER_ID]
        if fitted:
            return fitted
    return f"cluster-{job_id[:8]}-{cluster['ClusterId']}"


def cluster_rows(result: dict[str, Any], names: dict[str, list[str | None]]) -> list[list[object]]:
    """One table row per cluster: ClusterId, faces, cohesion, suggested user, default user name, ExternalImageIds."""
    rows = []
    for cluster in result["Clusters"]:
        ids = names[cluster["ClusterId"]]
        shown = [name for name in dict.fromkeys(ids) if name][:SHOWN_IMAGE_IDS]
        rows.append(
            [
                cluster["ClusterId"],
                len(cluster["FaceIds"]),
                round(cluster["Cohesion"], 2),
                cluster.get("SuggestedUserId", "-"),
                default_user_id(cluster, ids, result["JobId"]),
                ", ".join(shown) or "-",
            ]
        )
    return rows


def cluster_table(result: dict[str, Any], names: dict[str, list[str | None]]) -> str:
    """The clusters as a text table, the counts, and how to accept them."""
    rows = cluster_rows(result, names)
    headers = ["ClusterId", "Faces", "Cohesion", "SuggestedUserId", "Default user", "ExternalImageIds"]
    lines = [table(headers, rows)] if rows else ["no cluster"]
    lines.append(
        f"{result.get('FaceCount', 0)} faces of {result['CollectionId']}: {len(result['Clusters'])} clusters,"
        f" {len(result['UnclusteredFaceIds'])} unclustered (job {result['JobId']})"
    )
    if rows:
        lines.append(f"accept them as users: rekollect cluster --job-id {result['JobId']} --accept [CLUSTER_ID ...]")
    return "\n".join(lines)


def accept(rekognition: Any, collection_id: str, face_ids: list[str], user_id: str) -> tuple[int, int]:
    """Make the faces ``face_ids`` (the representative's nearest first) the user ``user_id`` (created
    unless it exists); return (faces associated, faces not)."""
    try:
        rekognition.create_user(CollectionId=collection_id, UserId=user_id)
        existing: set[str] = set()
    except rekognition.exceptions.ConflictException:
        pages = rekognition.get_paginator("list_faces").paginate(CollectionId=collection_id, UserId=user_id)
        existing = {face["FaceId"] for page in pages for face in page["Faces"]}
    wanted = [face_id for face_id in face_ids if face_id not in existing]
    wanted = wanted[: max(0, MAX_FACES_PER_USER - len(existing))]
    associated = 0
    for start in range(0, len(wanted), MAX_IDS_PER_ASSOCIATION):
        response = rekognition.associate_faces(
            CollectionId=collection_id, UserId=user_id, FaceIds=wanted[start : start + MAX_IDS_PER_ASSOCIATION]
        )
        associated += len(response["AssociatedFaces"])
    return associated, len(face_ids) - associated - len(set(face_ids) & existing)


def run(rekognition: Any, extensions: Any, args: Any) -> tuple[dict[str, Any], str]:
    """``rekollect cluster``'s work: the job (started, or ``args.job_id``), accepted as asked; returns the
    result (``--json``: the job with its clusters, and ``Accepted``) and its text.

    ``ValueError`` for a ClusterId the job does not have or a job that did not succeed (nothing is
    accepted then); botocore's ``ClientError`` for the API's errors.
    """
    job_id = args.job_id or start_job(
        extensions, args.collection_id, args.threshold, args.min_cluster_size, args.include_associated
    )
    result = finished_job(extensions, job_id, not args.no_progress)
    if result["JobStatus"] != "SUCCEEDED":
        raise ValueError(f"clustering job {job_id} {result['JobStatus']}: {result.get('StatusMessage')}")
    collection_id = result["CollectionId"]
    by_id = {cluster["ClusterId"]: cluster for cluster in result["Clusters"]}
    chosen = list(by_id) if args.accept == [] else list(args.accept or [])
    unknown = [cluster_id for cluster_id in chosen if cluster_id not in by_id]
    if unknown:
        raise ValueError(f"job {job_id} has no cluster {', '.join(unknown)} (its clusters: 1 to {len(by_id)})")
    names = {cluster_id: image_ids(rekognition, collection_id, cluster["FaceIds"]) for cluster_id, cluster in by_id.items()}
    lines = [cluster_table(result, names)]
    accepted = []
    for cluster_id in chosen:
        cluster = by_id[cluster_id]
        user_id = args.user_id or default_user_id(cluster, names[cluster_id], job_id)
        associated, refused = accept(rekognition, collection_id, cluster["FaceIds"], user_id)
        accepted.append({"ClusterId": cluster_id, "UserId": user_id, "Associated": associated, "NotAssociated": refused})
        lines.append(f"cluster {cluster_id} -> user {user_id}: {associated} faces associated, {refused} not")
    return {**result, "Accepted": accepted}, "\n".join(lines)

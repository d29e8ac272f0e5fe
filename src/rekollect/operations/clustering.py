"""Face clustering operations (``rekollect-extensions``, not in Rekognition): StartFaceClustering and
GetFaceClustering, in the style of Rekognition's stored-video operations.

StartFaceClustering checks that ``CollectionId`` exists (``ResourceNotFoundException``), fills in
the defaults (``FaceMatchThreshold`` ``DEFAULT_CLUSTER_THRESHOLD``, ``MinClusterSize`` 2,
``IncludeAssociatedFaces`` false) and returns a ``JobId`` at once; the job runs on a worker of any
server process or node (``clustering.jobs``). GetFaceClustering reports ``JobStatus``, ``Progress`` (0–100), the
request's parameters and, once the job has succeeded, the counts and one page of results:
``MaxResults`` (default and most 1000) items, the clusters (largest first) before the unclustered
faces, each page's share of either in ``Clusters`` / ``UnclusteredFaceIds``, as the collection is
now (faces deleted since the job are not listed; a deleted collection's job lists no face and says
so in ``StatusMessage``: ``ClusteringJobs.current_results``). An unknown ``JobId`` is a
``ResourceNotFoundException``.
"""

from __future__ import annotations

from typing import Any

from ..clustering.jobs import CREATED, ClusteringJobs
from ..storage.jobs import SUCCEEDED
from .job_results import result_page

DEFAULT_CLUSTER_THRESHOLD = 97.0
"""Default FaceMatchThreshold of a clustering job: of the thresholds tried (70 to 99.8), the one with
the best pairwise and BCubed F1 on the LFW identities of View-2 folds 2–5 (face model 2.0:
``bench/clustering_quality.py``, numbers in ``bench/clustering_quality.txt``). Clustering links
chains of faces, so it needs a stricter cut than a single comparison (80)."""
DEFAULT_MIN_CLUSTER_SIZE = 2


def start_face_clustering(jobs: ClusteringJobs, request: dict[str, Any]) -> dict[str, Any]:
    """Start clustering the faces of ``CollectionId``; ``ResourceNotFoundException`` without it."""
    collection = jobs.service.collection(request["CollectionId"])
    params = {
        "CollectionId": collection.collection_id,
        "FaceMatchThreshold": request.get("FaceMatchThreshold", DEFAULT_CLUSTER_THRESHOLD),
        "MinClusterSize": request.get("MinClusterSize", DEFAULT_MIN_CLUSTER_SIZE),
        "IncludeAssociatedFaces": request.get("IncludeAssociatedFaces", False),
    }
    return {"JobId": jobs.start(params, request.get("ClientRequestToken"))}


def get_face_clustering(jobs: ClusteringJobs, request: dict[str, Any]) -> dict[str, Any]:
    """Status, parameters and (once succeeded) counts and one page of clusters, then unclustered faces."""
    job = jobs.job(request["JobId"])
    response: dict[str, Any] = {
        "JobId": job.job_id,
        "JobStatus": job.status,
        "StatusMessage": job.status_message,
        "Progress": 100.0 if job.status == SUCCEEDED else round(100.0 * jobs.store.progress(job.job_id), 1),
        **job.request,
    }
    if job.status != SUCCEEDED:
        return response
    listing = f"clustering\n{job.job_id}"
    items, next_token = result_page(jobs.service.tokens, jobs.store, job.job_id, listing, "INDEX", request)
    items, message = jobs.current_results(job, items)
    counts = {key: value for key, value in (job.video_metadata or {}).items() if key != CREATED}
    return {
        **response,
        **counts,
        **({"StatusMessage": message} if message else {}),
        "Clusters": [item for item in items if "ClusterId" in item],
        "UnclusteredFaceIds": [item["FaceId"] for item in items if "ClusterId" not in item],
        "NextToken": next_token,
    }


EXTENSION_OPERATIONS = {
    "StartFaceClustering": start_face_clustering,
    "GetFaceClustering": get_face_clustering,
}
"""The ``rekollect-extensions`` operations by name (bound by ``operations.bind_extension_operations``)."""

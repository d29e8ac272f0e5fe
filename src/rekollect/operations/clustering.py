"""Face clustering operations (``rekollect-extensions``, not in Rekognition): StartFaceClustering and
GetFaceClustering, in the style of Rekognition's stored-video operations.

StartFaceClustering checks that ``CollectionId`` exists (``ResourceNotFoundException``), fills in
the defaults (``FaceMatchThreshold`` of the collection's face model, ``DEFAULT_CLUSTER_THRESHOLDS``; ``MinClusterSize`` 2,
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

DEFAULT_CLUSTER_THRESHOLDS = {"1.0": 97.0, "2.0": 97.0, "2.1": 82.0}
"""Default FaceMatchThreshold of a clustering job, by the collection's face model: of the thresholds
tried (70 to 99), the one with the best pairwise and BCubed F1 on the LFW identities of View-2
folds 2–5 (``bench/clustering_quality.py``, numbers in ``bench/clustering_quality.txt``; 1.0 was
never measured there and keeps 2.0's). Clustering links chains of faces, so under 2.0's map it
needs a much stricter cut than a single comparison (80); under 2.1's, where 80 already means a
false-match rate of 1e-5 a pair, 82 (FMR about 6e-6) does best."""
DEFAULT_MIN_CLUSTER_SIZE = 2


def start_face_clustering(jobs: ClusteringJobs, request: dict[str, Any]) -> dict[str, Any]:
    """Start clustering the faces of ``CollectionId``; ``ResourceNotFoundException`` without it."""
    collection = jobs.service.collection(request["CollectionId"])
    params = {
        "CollectionId": collection.collection_id,
        "FaceMatchThreshold": request.get(
            "FaceMatchThreshold", DEFAULT_CLUSTER_THRESHOLDS[collection.face_model_version]
        ),
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


CLUSTERING_OPERATIONS = {
    "StartFaceClustering": start_face_clustering,
    "GetFaceClustering": get_face_clustering,
}
"""The face clustering operations of ``rekollect-extensions`` by name (bound by ``operations.bind_extension_operations``)."""

"""Rekognition operations: one plain function each, ``(FaceService, request) -> response``.

``OPERATIONS`` maps each AWS operation name to its function; ``VIDEO_OPERATIONS`` those of stored
videos, which take the ``VideoJobs`` instead, ``LIVENESS_OPERATIONS`` the Face Liveness ones, which
take the ``LivenessSessions``, and ``STREAM_OPERATIONS`` those of stream processors (and the tagging
operations, which also tag them), which take the ``StreamProcessors``. ``bind_operations`` binds
them for the wire layer; ``bind_extension_operations`` binds the ``rekollect-extensions`` ones (face
clustering, face pictures, the job listing, video uploads, a stream processor's latest matches).
Requests arrive validated against botocore's model, responses are ``dict``s in the model's output
shape.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ..clustering.jobs import ClusteringJobs
from ..core.objects import LocalObjectSource
from ..core.service import FaceService
from ..liveness.sessions import LivenessSessions
from ..streams.processors import StreamProcessors
from ..video.jobs import VideoJobs
from . import collections, detection, faces, stream_processors, users, video
from .clustering import CLUSTERING_OPERATIONS
from .crops import get_face_crops
from .faces import DETECTED_FACE_COUNT
from .job_listing import list_jobs
from .liveness import LIVENESS_OPERATIONS
from .uploads import upload_video_part

Operation = Callable[[FaceService, dict[str, Any]], dict[str, Any]]

OPERATIONS: dict[str, Operation] = {
    "CreateCollection": collections.create_collection,
    "DeleteCollection": collections.delete_collection,
    "DescribeCollection": collections.describe_collection,
    "ListCollections": collections.list_collections,
    "IndexFaces": faces.index_faces,
    "ListFaces": faces.list_faces,
    "DeleteFaces": faces.delete_faces,
    "SearchFaces": faces.search_faces,
    "SearchFacesByImage": faces.search_faces_by_image,
    "DetectFaces": detection.detect_faces,
    "CompareFaces": detection.compare_faces,
    "CreateUser": users.create_user,
    "DeleteUser": users.delete_user,
    "ListUsers": users.list_users,
    "AssociateFaces": users.associate_faces,
    "DisassociateFaces": users.disassociate_faces,
    "SearchUsers": users.search_users,
    "SearchUsersByImage": users.search_users_by_image,
}

VIDEO_OPERATIONS: dict[str, Callable[[VideoJobs, dict[str, Any]], dict[str, Any]]] = {
    "StartFaceSearch": video.start_face_search,
    "GetFaceSearch": video.get_face_search,
    "StartFaceDetection": video.start_face_detection,
    "GetFaceDetection": video.get_face_detection,
}

STREAM_OPERATIONS: dict[str, Callable[[StreamProcessors, dict[str, Any]], dict[str, Any]]] = {
    "CreateStreamProcessor": stream_processors.create_stream_processor,
    "StartStreamProcessor": stream_processors.start_stream_processor,
    "StopStreamProcessor": stream_processors.stop_stream_processor,
    "DescribeStreamProcessor": stream_processors.describe_stream_processor,
    "ListStreamProcessors": stream_processors.list_stream_processors,
    "UpdateStreamProcessor": stream_processors.update_stream_processor,
    "DeleteStreamProcessor": stream_processors.delete_stream_processor,
    "TagResource": stream_processors.tag_resource,
    "UntagResource": stream_processors.untag_resource,
    "ListTagsForResource": stream_processors.list_tags_for_resource,
}

TALLIES = {DETECTED_FACE_COUNT: "Faces found by DetectFaces and IndexFaces (before QualityFilter and MaxFaces)"}
"""What the operations ``tally`` (``rekollect.tallies``), by name, with its description: each is a
counter in ``GET /metrics``."""


def bind_operations(
    service: FaceService, videos: VideoJobs, liveness: LivenessSessions, streams: StreamProcessors
) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """Each operation with ``service`` (or ``videos``, ``liveness``, ``streams``) bound, as the wire layer
    calls them."""
    return {
        **{name: partial(operation, service) for name, operation in OPERATIONS.items()},
        **{name: partial(operation, videos) for name, operation in VIDEO_OPERATIONS.items()},
        **{name: partial(operation, liveness) for name, operation in LIVENESS_OPERATIONS.items()},
        **{name: partial(operation, streams) for name, operation in STREAM_OPERATIONS.items()},
    }


def bind_extension_operations(
    service: FaceService,
    videos: VideoJobs,
    clustering: ClusteringJobs,
    objects: LocalObjectSource | None,
    streams: StreamProcessors,
) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """The ``rekollect-extensions`` operations bound to what each works on: face clustering to its job
    runner, GetFaceCrops to ``service``, ListJobs to the job store, UploadVideoPart to the local object
    folder (``None`` when objects come from an S3 endpoint), GetStreamProcessorMatches to the stream
    processors."""
    return {
        **{name: partial(operation, clustering) for name, operation in CLUSTERING_OPERATIONS.items()},
        "GetFaceCrops": partial(get_face_crops, service),
        "ListJobs": partial(list_jobs, service.tokens, videos.store),
        "UploadVideoPart": partial(upload_video_part, objects),
        "GetStreamProcessorMatches": partial(stream_processors.get_stream_processor_matches, streams),
    }

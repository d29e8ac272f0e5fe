"""Stream processor operations: CreateStreamProcessor, StartStreamProcessor, StopStreamProcessor,
DescribeStreamProcessor, ListStreamProcessors, UpdateStreamProcessor, DeleteStreamProcessor; tags on
stream processor ARNs (TagResource, UntagResource, ListTagsForResource); the extension
GetStreamProcessorMatches; and ``record_of``, the Kinesis record of one analysed frame.

Requests arrive validated against botocore's model; the rules here are those of the AWS API
Reference and Developer Guide for face search stream processors:

- ``Settings.FaceSearch`` (``CollectionId`` required, which must exist: ``InvalidParameterException``,
  as CreateStreamProcessor's errors in the model have no ``ResourceNotFoundException``;
  ``FaceMatchThreshold`` default 80, values below 80 used as 80). ``Settings.ConnectedHome`` (label
  detection: people, pets, packages) is refused with ``InvalidParameterException``: this server
  detects faces only.
- ``Input.KinesisVideoStream.Arn``: a Kinesis video stream of this server's region that
  ``--stream-sources`` maps to a camera URL (``InvalidParameterException`` otherwise, saying what to add).
- ``Output``: ``KinesisDataStream.Arn`` (a ``kinesis`` ``stream/<name>`` ARN) and, as a Rekollect
  extension for face search, ``S3Destination.Bucket`` (with ``KeyPrefix``); at least one.
- ``KmsKeyId`` (label detection's, for S3 results) is refused: nothing here is encrypted with KMS.
- ``RegionsOfInterest`` (AWS documents them for label detection; here they filter faces too: a
  face is kept when more than half of it is in a region): up to 10, each exactly one of a
  ``BoundingBox`` (positive ``Width`` and ``Height``) or a ``Polygon`` of 3 to 10 ``Point``s, in
  ratios of the frame (0–1).
- ``StartSelector`` is refused (AWS: "should not be used to start a face search stream processor";
  a camera has no history to start from). ``StopSelector.MaxDurationInSeconds`` (1–120) is honoured
  as for label detection: the session stops by itself after that many seconds.
- UpdateStreamProcessor changes ``RegionsOfInterestForUpdate`` and ``DataSharingPreferenceForUpdate``;
  ``ParametersToDelete`` ``RegionsOfInterest`` removes them. ``ConnectedHomeForUpdate`` and
  ``ConnectedHomeMinConfidence`` concern label detection: ``InvalidParameterException``.
- Names are unique on the server (one account and region): a taken one is ``ResourceInUseException``.
  ``ListStreamProcessors`` pages in creation order, ``MaxResults`` default 1000.
- ``DataSharingPreference`` is kept and returned; nothing leaves the server either way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..core.face_attributes import FaceAttributes
from ..errors import InvalidParameterException, ResourceNotFoundException, ServiceQuotaExceededException
from ..storage.base import FaceRecord
from ..streams.camera import LiveFrame
from ..streams.processors import StreamProcessors
from ..streams.session import FaceFound
from ..streams.sources import video_stream_arn
from . import collections
from .face_details import bounding_box, detail_of
from .faces import DEFAULT_FACE_MATCH_THRESHOLD

DEFAULT_PAGE_SIZE = 1000
MAX_TAGS = 200
"""AWS: a resource has at most 200 tags (``TagMap``'s length)."""
MAX_POLYGON_POINTS = 10
MIN_POLYGON_POINTS = 3
MATCHES_PAGE = 10
"""Records GetStreamProcessorMatches returns by default."""
_ARN_PARTS = 6


def create_stream_processor(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """Create a face search stream processor, ``STOPPED``; its ARN."""
    settings = request["Settings"]
    if "ConnectedHome" in settings:
        raise InvalidParameterException(
            "Settings.ConnectedHome (label detection of people, pets and packages) is not supported by this"
            " server: its stream processors search faces in a collection (Settings.FaceSearch)"
        )
    face_search = settings.get("FaceSearch")
    if not face_search or not face_search.get("CollectionId"):
        raise InvalidParameterException("Settings.FaceSearch.CollectionId is required")
    collection = streams.service.store.get_collection(face_search["CollectionId"])
    if collection is None:  # CreateStreamProcessor's errors have no ResourceNotFoundException
        raise InvalidParameterException(f"The collection id: {face_search['CollectionId']} does not exist")
    if "KmsKeyId" in request:
        raise InvalidParameterException(
            "KmsKeyId applies to label detection results in S3; this server encrypts nothing with AWS KMS"
        )
    stream_arn = (request["Input"].get("KinesisVideoStream") or {}).get("Arn")
    if not stream_arn:
        raise InvalidParameterException("Input.KinesisVideoStream.Arn is required")
    region = streams.service.arn_prefix.split(":")[3]
    if video_stream_arn(stream_arn).region != region:
        raise InvalidParameterException(
            f"The Kinesis video stream must be in this server's region, {region}: {stream_arn}"
        )
    stored: dict[str, Any] = {
        "Input": {"KinesisVideoStream": {"Arn": stream_arn}},
        "Output": _output(request["Output"]),
        "RoleArn": request["RoleArn"],
        "Settings": {
            "FaceSearch": {
                "CollectionId": collection.collection_id,
                "FaceMatchThreshold": face_search.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD),
            }
        },
    }
    for member in ("NotificationChannel", "DataSharingPreference"):
        if member in request:
            stored[member] = request[member]
    if request.get("RegionsOfInterest"):
        stored["RegionsOfInterest"] = _regions(request["RegionsOfInterest"], "RegionsOfInterest")
    record = streams.create(request["Name"], stored, request.get("Tags") or {})
    return {"StreamProcessorArn": record.arn}


def start_stream_processor(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """Start a session; its ``SessionId``."""
    if "StartSelector" in request:
        raise InvalidParameterException(
            "StartSelector applies to label detection stream processors; a face search stream processor"
            " starts at the live edge of its stream"
        )
    max_duration = (request.get("StopSelector") or {}).get("MaxDurationInSeconds")
    return {"SessionId": streams.start(request["Name"], max_duration)}


def stop_stream_processor(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """Stop the running session."""
    streams.stop(request["Name"])
    return {}


def delete_stream_processor(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """Delete a stopped (or failed) processor."""
    streams.delete(request["Name"])
    return {}


def describe_stream_processor(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """Everything about one processor, with its ``Status`` and ``StatusMessage``."""
    record = streams.get(request["Name"])
    return {
        "Name": record.name,
        "StreamProcessorArn": record.arn,
        "Status": record.status,
        "StatusMessage": record.status_message,
        "CreationTimestamp": dt.datetime.fromtimestamp(record.created, tz=dt.UTC),
        "LastUpdateTimestamp": dt.datetime.fromtimestamp(record.updated, tz=dt.UTC),
        **record.settings,
    }


def list_stream_processors(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """Names and statuses, in creation order."""
    tokens = streams.service.tokens
    page = streams.list(
        tokens.cursor(request.get("NextToken"), "streamprocessors"), request.get("MaxResults") or DEFAULT_PAGE_SIZE
    )
    return {
        "StreamProcessors": [{"Name": record.name, "Status": record.status} for record in page.items],
        "NextToken": tokens.token(page.cursor, "streamprocessors"),
    }


def update_stream_processor(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """Change the regions of interest or the data sharing preference of a stopped processor."""
    if (request.get("SettingsForUpdate") or {}).get("ConnectedHomeForUpdate") is not None:
        raise InvalidParameterException(
            "SettingsForUpdate.ConnectedHomeForUpdate applies to label detection stream processors"
        )
    deleted = set(request.get("ParametersToDelete") or [])
    if "ConnectedHomeMinConfidence" in deleted:
        raise InvalidParameterException("ConnectedHomeMinConfidence applies to label detection stream processors")
    if "RegionsOfInterest" in deleted and "RegionsOfInterestForUpdate" in request:
        raise InvalidParameterException("RegionsOfInterest cannot be both updated and deleted")
    regions = request.get("RegionsOfInterestForUpdate")
    if regions is not None:
        _regions(regions, "RegionsOfInterestForUpdate")

    def change(settings: dict[str, Any]) -> dict[str, Any]:
        if "RegionsOfInterest" in deleted or regions == []:
            settings.pop("RegionsOfInterest", None)
        elif regions:
            settings["RegionsOfInterest"] = regions
        if "DataSharingPreferenceForUpdate" in request:
            settings["DataSharingPreference"] = request["DataSharingPreferenceForUpdate"]
        return settings

    streams.update(request["Name"], change)
    return {}


def tag_resource(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """TagResource on a collection or a stream processor; ``ServiceQuotaExceededException`` past 200 tags."""
    name = _processor_of(streams, request["ResourceArn"])
    if name is None:
        return collections.tag_resource(streams.service, request)

    def add(tags: dict[str, str]) -> dict[str, str]:
        merged = {**tags, **request["Tags"]}
        if len(merged) > MAX_TAGS:
            raise ServiceQuotaExceededException(f"A resource can have at most {MAX_TAGS} tags")
        return merged

    streams.set_tags(name, add)
    return {}


def untag_resource(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """UntagResource on a collection or a stream processor."""
    name = _processor_of(streams, request["ResourceArn"])
    if name is None:
        return collections.untag_resource(streams.service, request)
    removed = set(request["TagKeys"])
    streams.set_tags(name, lambda tags: {key: value for key, value in tags.items() if key not in removed})
    return {}


def list_tags_for_resource(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """ListTagsForResource of a collection or a stream processor."""
    name = _processor_of(streams, request["ResourceArn"])
    if name is None:
        return collections.list_tags_for_resource(streams.service, request)
    return {"Tags": streams.get(name).tags}


def get_stream_processor_matches(streams: StreamProcessors, request: dict[str, Any]) -> dict[str, Any]:
    """(Extension) the processor's status and its latest frame records that matched a face, newest first."""
    record = streams.get(request["Name"])
    matches = streams.matches(record.name, request.get("MaxResults") or MATCHES_PAGE)
    return {
        "Name": record.name,
        "Status": record.status,
        "StatusMessage": record.status_message,
        "SessionId": record.session_id,
        "Matches": [{"SessionId": session_id, "Record": text} for session_id, text in matches],
    }


def record_of(stream_arn: str, frame: LiveFrame, faces: list[FaceFound]) -> dict[str, Any]:
    """The record of one analysed frame, as the Rekognition Developer Guide's "Understanding the Kinesis
    face recognition JSON frame record" gives it (timestamps in Unix seconds, see ``streams.camera``)."""
    return {
        "InputInformation": {
            "KinesisVideo": {
                "StreamArn": stream_arn,
                "FragmentNumber": frame.fragment_number,
                "ServerTimestamp": round(frame.server_timestamp, 3),
                "ProducerTimestamp": round(frame.producer_timestamp, 3),
                "FrameOffsetInSeconds": round(frame.offset, 3),
            }
        },
        "StreamProcessorInformation": {"Status": "RUNNING"},
        "FaceSearchResponse": [
            {
                "DetectedFace": detail_of(face.measured, FaceAttributes()),
                "MatchedFaces": [
                    {"Similarity": similarity, "Face": _matched_face(stored)} for stored, similarity in face.matches
                ],
            }
            for face in faces
        ],
    }


def _matched_face(record: FaceRecord) -> dict[str, Any]:
    """A matched stored face as the record carries it: BoundingBox, Confidence, ExternalImageId, FaceId, ImageId."""
    face = {
        "BoundingBox": bounding_box(record.box),
        "Confidence": record.confidence,
        "FaceId": record.face_id,
        "ImageId": record.image_id,
    }
    if record.external_image_id is not None:
        face["ExternalImageId"] = record.external_image_id
    return face


def _output(output: dict[str, Any]) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    kinesis = output.get("KinesisDataStream")
    if kinesis is not None:
        arn = kinesis.get("Arn") or ""
        parts = arn.split(":", _ARN_PARTS - 1)
        if len(parts) != _ARN_PARTS or not parts[5].startswith("stream/") or len(parts[5]) == len("stream/"):
            raise InvalidParameterException(f"Output.KinesisDataStream.Arn is not a Kinesis data stream ARN: {arn!r}")
        stored["KinesisDataStream"] = {"Arn": arn}
    s3 = output.get("S3Destination")
    if s3 is not None:
        if not s3.get("Bucket"):
            raise InvalidParameterException("Output.S3Destination.Bucket is required")
        stored["S3Destination"] = {key: s3[key] for key in ("Bucket", "KeyPrefix") if key in s3}
    if not stored:
        raise InvalidParameterException("Output needs a KinesisDataStream (or an S3Destination)")
    return stored


def _regions(regions: list[dict[str, Any]], member: str) -> list[dict[str, Any]]:
    """``regions`` checked (see the module docstring)."""
    for number, region in enumerate(regions, start=1):
        where = f"{member}[{number}]"
        if ("BoundingBox" in region) == ("Polygon" in region):
            raise InvalidParameterException(f"{where} needs exactly one of BoundingBox and Polygon")
        if "BoundingBox" in region:
            box = region["BoundingBox"]
            values = [box.get(key) for key in ("Width", "Height", "Left", "Top")]
            if any(value is None for value in values):
                raise InvalidParameterException(f"{where}.BoundingBox needs Width, Height, Left and Top")
            if not all(0 <= value <= 1 for value in values) or box["Width"] <= 0 or box["Height"] <= 0:
                raise InvalidParameterException(
                    f"{where}.BoundingBox must lie in the frame (ratios 0 to 1, positive size)"
                )
        else:
            points = region["Polygon"]
            if not MIN_POLYGON_POINTS <= len(points) <= MAX_POLYGON_POINTS:
                raise InvalidParameterException(
                    f"{where}.Polygon needs {MIN_POLYGON_POINTS} to {MAX_POLYGON_POINTS} points, not {len(points)}"
                )
            if any(
                point.get("X") is None or point.get("Y") is None or not (0 <= point["X"] <= 1 and 0 <= point["Y"] <= 1)
                for point in points
            ):
                raise InvalidParameterException(f"{where}.Polygon's points need X and Y, ratios 0 to 1")
    return regions


def _processor_of(streams: StreamProcessors, arn: str) -> str | None:
    """The stream processor a ``streamprocessor`` ARN names (``ResourceNotFoundException`` without it),
    or ``None`` for another kind of ARN."""
    parts = arn.split(":", _ARN_PARTS - 1)
    if len(parts) != _ARN_PARTS or not parts[5].startswith("streamprocessor/"):
        return None
    name = parts[5].partition("/")[2]
    record = streams.store.get(name)
    if record is None or record.arn != arn:
        raise ResourceNotFoundException(f"The resource {arn} does not exist")
    return name

"""What of Rekognition's API this server serves, declared once, and ``docs/api-compatibility.md`` made from it.

Every operation of botocore's Rekognition model is listed as served (``OPERATIONS``,
``VIDEO_OPERATIONS``, ``LIVENESS_OPERATIONS``, ``STREAM_OPERATIONS``) or not. For each served operation, ``GAPS`` names the request members the
server accepts but does not act on, and the response members it never sends, each with why; every
member not named there is read or written as the API Reference documents it. Members are named by
their path in the operation's shapes (``FaceRecords[].FaceDetail.Beard``: ``[]`` for a list's
items); ``tests/test_api_compatibility.py`` checks every path against the model, and that the
document in ``docs/`` is what ``python -m rekollect.operations.compatibility`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.model import ServiceModel, Shape

from ..wire.service_model import extensions_model, rekognition_model
from . import LIVENESS_OPERATIONS, OPERATIONS, STREAM_OPERATIONS, VIDEO_OPERATIONS

UNMEASURED = "no model here measures it: left out rather than invented (named in the `x-rekollect-unsupported-attributes` header when asked for)"
ORIENTATION = (
    "images are turned upright by their EXIF orientation before faces are found, and the boxes are ratios of the"
    " upright image: there is no correction to report (AWS's face models 4 and later leave it out too)"
)
LOCAL_VERSION = "objects of the local folder have no versions: a `Version` is an `InvalidS3ObjectException` there; read with `--s3-endpoint-url`"
NOT_IN_INDEX_ANSWER = "IndexFaces answers with the new face's record only, as AWS does; ListFaces gives these"
ATTRIBUTES = ("Beard", "Mustache", "Eyeglasses", "Sunglasses", "FaceOccluded")


@dataclass(frozen=True)
class Gaps:
    """What one served operation leaves out: request member paths it does not act on, and response member
    paths it never sends, each with why."""

    ignored: dict[str, str] = field(default_factory=dict)
    omitted: dict[str, str] = field(default_factory=dict)


def _unmeasured(*prefixes: str) -> dict[str, str]:
    return {f"{prefix}.{name}": UNMEASURED for prefix in prefixes for name in ATTRIBUTES}


GAPS: dict[str, Gaps] = {
    "IndexFaces": Gaps(
        ignored={"Image.S3Object.Version": LOCAL_VERSION},
        omitted={
            "OrientationCorrection": ORIENTATION,
            "FaceRecords[].Face.IndexFacesModelVersion": NOT_IN_INDEX_ANSWER,
            "FaceRecords[].Face.UserId": NOT_IN_INDEX_ANSWER,
            **_unmeasured("FaceRecords[].FaceDetail", "UnindexedFaces[].FaceDetail"),
        },
    ),
    "SearchFacesByImage": Gaps(ignored={"Image.S3Object.Version": LOCAL_VERSION}),
    "SearchUsersByImage": Gaps(ignored={"Image.S3Object.Version": LOCAL_VERSION}),
    "DetectFaces": Gaps(
        ignored={"Image.S3Object.Version": LOCAL_VERSION},
        omitted={"OrientationCorrection": ORIENTATION, **_unmeasured("FaceDetails[]")},
    ),
    "CompareFaces": Gaps(
        ignored={"SourceImage.S3Object.Version": LOCAL_VERSION, "TargetImage.S3Object.Version": LOCAL_VERSION},
        omitted={
            "SourceImageOrientationCorrection": ORIENTATION,
            "TargetImageOrientationCorrection": ORIENTATION,
            **{
                f"{faces}.{name}": "CompareFaces measures faces for matching only; DetectFaces gives the emotions and smile"
                for faces in ("FaceMatches[].Face", "UnmatchedFaces[]")
                for name in ("Emotions", "Smile")
            },
        },
    ),
    "StartFaceSearch": Gaps(
        ignored={
            "Video.S3Object.Version": LOCAL_VERSION,
            "NotificationChannel.RoleArn": "the completion message is published with the server's own AWS credentials (boto3's chain); no role is assumed",
        }
    ),
    "StartFaceDetection": Gaps(
        ignored={
            "Video.S3Object.Version": LOCAL_VERSION,
            "NotificationChannel.RoleArn": "the completion message is published with the server's own AWS credentials (boto3's chain); no role is assumed",
        }
    ),
    "GetFaceSearch": Gaps(omitted=_unmeasured("Persons[].Person.Face")),
    "GetFaceDetection": Gaps(omitted=_unmeasured("Faces[].Face")),
    "CreateStreamProcessor": Gaps(
        ignored={
            "RoleArn": "kept and returned; no role is assumed: the server writes to Kinesis, S3 and SNS with its own AWS credentials (boto3's chain)",
            "DataSharingPreference": "kept and returned; nothing leaves the server either way",
        }
    ),
    "GetFaceLivenessSessionResults": Gaps(
        omitted={
            "Feedback": "the checks' outcomes are not mapped to AWS's feedback codes; Confidence is the weakest check's score (README, Face Liveness)",
            "Metadata": "the streaming client's SDK type is not recorded",
        }
    ),
}
"""The gaps of each served operation that has any (the others serve every member)."""


def served() -> list[str]:
    """The Rekognition operations this server serves, by name."""
    return sorted({*OPERATIONS, *VIDEO_OPERATIONS, *LIVENESS_OPERATIONS, *STREAM_OPERATIONS})


def member_shape(root: Shape, path: str) -> Shape | None:
    """The shape at ``path`` (``A.B[].C``) under ``root``, or ``None`` when the model has no such member."""
    shape: Shape | None = root
    for part in path.split("."):
        name, items = part.removesuffix("[]"), part.endswith("[]")
        if shape is None or shape.type_name != "structure" or name not in shape.members:
            return None
        shape = shape.members[name]
        if items:
            if shape.type_name != "list":
                return None
            shape = shape.member
    return shape


def _paths(paths: dict[str, str]) -> list[str]:
    return [f"  - `{path}`: {why}." for path, why in paths.items()]


def document(model: ServiceModel | None = None, extensions: ServiceModel | None = None) -> str:
    """``docs/api-compatibility.md``: every operation of ``model`` (botocore's Rekognition), served or not,
    the gaps of the served ones, and the extension operations of ``extensions``."""
    model = model or rekognition_model()
    extensions = extensions or extensions_model()
    serving = set(served())
    names = sorted(model.operation_names)
    lines = [
        "# API compatibility",
        "",
        "<!-- Generated by `python -m rekollect.operations.compatibility` from botocore's Rekognition service",
        "model and `src/rekollect/operations/compatibility.py`; `tests/test_api_compatibility.py` checks it. -->",
        "",
        f"Rekognition's API (version {model.api_version}, as botocore's service model has it) has {len(names)}"
        f" operations. Rekollect serves the {len(serving)} of faces, users, collections and stored videos;"
        " the others (labels, text, celebrities, custom labels, streaming video, liveness...) answer"
        " `UnknownOperationException`. Every request is validated against the model, so a member of the",
        "wrong type, length or pattern is an `InvalidParameterException` whether or not it is acted on.",
        "",
        "| Operation | Served |",
        "| --- | --- |",
        *(f"| {name} | {'yes' if name in serving else 'no'} |" for name in names),
        "",
        "## What the served operations leave out",
        "",
        "Every request and response member of a served operation is read or written as the API Reference",
        "documents it, except those named here.",
        "",
    ]
    for name in sorted(serving):
        gaps = GAPS.get(name)
        if gaps is None:
            lines.append(f"- **{name}**: every member.")
            continue
        lines.append(f"- **{name}**:")
        if gaps.ignored:
            lines += ["  - Request members ignored, or honoured only in part:", *("  " + line for line in _paths(gaps.ignored))]
        if gaps.omitted:
            lines += ["  - Response members never sent:", *("  " + line for line in _paths(gaps.omitted))]
    lines += [
        "",
        "## Rekollect's own operations",
        "",
        "The `rekollect-extensions` service model (target prefix `RekollectExtensions`, signed as `rekognition`)",
        "ships in the package (`src/rekollect/data/`); see the README's \"Face clustering (extension)\" and",
        "\"Face pictures (extension)\" sections.",
        "",
        *(f"- **{name}**: {_plain(extensions.operation_model(name).documentation)}" for name in extensions.operation_names),
        "",
    ]
    return "\n".join(lines)


def _plain(html: str) -> str:
    return html.removeprefix("<p>").removesuffix("</p>")


if __name__ == "__main__":
    print(document(), end="")

"""``rekollect search``, ``compare`` and ``detect``: one request each, answered as a table or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .draw import attributes, draw_faces
from .tables import table


def _box(face: dict[str, Any]) -> str:
    box = face["BoundingBox"]
    return f"{box['Left']:.3f},{box['Top']:.3f} {box['Width']:.3f}x{box['Height']:.3f}"


def search(client: Any, collection_id: str, photo: Path, users: bool, threshold: float, limit: int) -> dict[str, Any]:
    """SearchFacesByImage (or SearchUsersByImage with ``users``) for the largest face of ``photo``.

    ``threshold`` is FaceMatchThreshold (UserMatchThreshold), 0-100; ``limit`` is MaxFaces
    (MaxUsers). Returns the response without ``ResponseMetadata``; raises botocore's ``ClientError``.
    """
    image = {"Bytes": photo.read_bytes()}
    if users:
        response = client.search_users_by_image(
            CollectionId=collection_id, Image=image, UserMatchThreshold=threshold, MaxUsers=limit
        )
    else:
        response = client.search_faces_by_image(
            CollectionId=collection_id, Image=image, FaceMatchThreshold=threshold, MaxFaces=limit
        )
    response.pop("ResponseMetadata", None)
    return response


def search_text(response: dict[str, Any]) -> str:
    """The matches of ``search``'s answer, best first, as a table."""
    if "UserMatches" in response:
        rows = [
            [f"{m['Similarity']:.2f}", m["User"]["UserId"], m["User"]["UserStatus"]] for m in response["UserMatches"]
        ]
        return table(["Similarity", "UserId", "UserStatus"], rows) if rows else "no matching user"
    rows = [
        [f"{m['Similarity']:.2f}", m["Face"].get("ExternalImageId", "-"), m["Face"]["FaceId"], m["Face"]["ImageId"]]
        for m in response["FaceMatches"]
    ]
    return table(["Similarity", "ExternalImageId", "FaceId", "ImageId"], rows) if rows else "no matching face"


def compare(client: Any, source: Path, target: Path, threshold: float) -> dict[str, Any]:
    """CompareFaces: the largest face of ``source`` against every face of ``target``.

    ``threshold`` is SimilarityThreshold (0-100). Returns the response without ``ResponseMetadata``.
    """
    response = client.compare_faces(
        SourceImage={"Bytes": source.read_bytes()},
        TargetImage={"Bytes": target.read_bytes()},
        SimilarityThreshold=threshold,
    )
    response.pop("ResponseMetadata", None)
    return response


def compare_text(response: dict[str, Any]) -> str:
    """Each face of the target (box as ratios: left,top widthxheight) with its similarity, or ``-``."""
    rows = [["match", f"{m['Similarity']:.2f}", _box(m["Face"])] for m in response["FaceMatches"]]
    rows += [["no match", "-", _box(face)] for face in response.get("UnmatchedFaces", [])]
    return table(["Target face", "Similarity", "Box"], rows) if rows else "no face in the target image"


def detect(client: Any, photo: Path, draw_to: Path | None) -> dict[str, Any]:
    """DetectFaces with ``Attributes=["ALL"]``; with ``draw_to``, the faces drawn on a JPEG copy there.

    Returns the response without ``ResponseMetadata``.
    """
    data = photo.read_bytes()
    response = client.detect_faces(Image={"Bytes": data}, Attributes=["ALL"])
    response.pop("ResponseMetadata", None)
    if draw_to is not None:
        draw_faces(data, response["FaceDetails"]).save(draw_to, format="JPEG", quality=92)
    return response


def detect_text(response: dict[str, Any]) -> str:
    """One row per face: number, confidence, box (ratios), and ``draw.attributes``."""
    names = ["Age", "Gender", "Emotion", "Smile"]
    rows = []
    for number, face in enumerate(response["FaceDetails"], start=1):
        texts = attributes(face)
        rows.append([f"#{number}", f"{face['Confidence']:.1f}", _box(face), *(texts.get(name, "-") for name in names)])
    return table(["Face", "Confidence", "Box", *names], rows) if rows else "no face found"

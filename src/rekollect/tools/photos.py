"""``rekollect search`` (every face of a photo), ``compare`` and ``detect``, answered as a table or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .draw import attributes, draw_faces, upright
from .regions import face_regions, same_face
from .tables import table


def _box(face: dict[str, Any]) -> str:
    box = face["BoundingBox"]
    return f"{box['Left']:.3f},{box['Top']:.3f} {box['Width']:.3f}x{box['Height']:.3f}"


def search(
    client: Any, collection_id: str, photo: Path, users: bool, threshold: float, limit: int, draw_to: Path | None = None
) -> dict[str, Any]:
    """Every face of ``photo`` searched in the collection: DetectFaces, then, for each face found,
    SearchFacesByImage (SearchUsersByImage with ``users``) on the face's own region of the photo
    (``regions.face_region``: the other faces painted out, so it is the largest there).

    ``threshold`` is FaceMatchThreshold (UserMatchThreshold), 0-100; ``limit`` is MaxFaces (MaxUsers).
    Returns ``{"Faces": [{"BoundingBox", "Confidence", "Search": <the search's response>}]}``, faces in
    DetectFaces' order; a face the search did not find again in its region has ``"Error"`` instead
    of ``"Search"``. With ``draw_to``, the faces are drawn on a JPEG copy there, each labelled with its
    number and best match. Raises botocore's ``ClientError`` for any other error.
    """
    data = photo.read_bytes()
    details = client.detect_faces(Image={"Bytes": data})["FaceDetails"]
    image = upright(data)
    faces = []
    for detail, (jpeg, region, box) in zip(details, face_regions(image, details), strict=True):
        face: dict[str, Any] = {"BoundingBox": detail["BoundingBox"], "Confidence": detail["Confidence"]}
        try:
            if users:
                response = client.search_users_by_image(
                    CollectionId=collection_id, Image={"Bytes": jpeg}, UserMatchThreshold=threshold, MaxUsers=limit
                )
                searched = response.get("SearchedFace", {}).get("FaceDetail", {}).get("BoundingBox")
            else:
                response = client.search_faces_by_image(
                    CollectionId=collection_id, Image={"Bytes": jpeg}, FaceMatchThreshold=threshold, MaxFaces=limit
                )
                searched = response["SearchedFaceBoundingBox"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "InvalidParameterException":
                raise
            face["Error"] = "not found again in its region of the photo"
        else:
            response.pop("ResponseMetadata", None)
            if searched is None or not same_face(searched, region, box):
                face["Error"] = "not found again in its region of the photo"
            else:
                face["Search"] = response
        faces.append(face)
    if draw_to is not None:
        labels = [[f"#{number}", *_match_label(face)] for number, face in enumerate(faces, start=1)]
        draw_faces(data, faces, labels).save(draw_to, format="JPEG", quality=92)
    return {"Faces": faces}


def _match_label(face: dict[str, Any]) -> list[str]:
    best = best_match(face)
    return [best[0], f"{best[1]:.1f}"] if best is not None else ["no match"]


def best_match(face: dict[str, Any]) -> tuple[str, float] | None:
    """The name (UserId, else ExternalImageId, else FaceId) and Similarity of a searched face's best match."""
    search = face.get("Search") or {}
    if search.get("UserMatches"):
        match = search["UserMatches"][0]
        return match["User"]["UserId"], match["Similarity"]
    if search.get("FaceMatches"):
        match = search["FaceMatches"][0]
        return match["Face"].get("ExternalImageId") or match["Face"]["FaceId"], match["Similarity"]
    return None


def search_text(response: dict[str, Any]) -> str:
    """Each face of ``search``'s answer with its matches, best first, as a table."""
    rows: list[list[object]] = []
    for number, face in enumerate(response["Faces"], start=1):
        search = face.get("Search")
        label = f"#{number} {_box(face)}"
        if search is None:
            rows.append([label, "-", face.get("Error", ""), "", ""])
        elif "UserMatches" in search:
            rows += [
                [label, f"{m['Similarity']:.2f}", m["User"]["UserId"], m["User"]["UserStatus"], ""]
                for m in search["UserMatches"]
            ] or [[label, "-", "no matching user", "", ""]]
        else:
            rows += [
                [label, f"{m['Similarity']:.2f}", m["Face"].get("ExternalImageId", "-"), m["Face"]["FaceId"], m["Face"]["ImageId"]]
                for m in search["FaceMatches"]
            ] or [[label, "-", "no matching face", "", ""]]
    if not rows:
        return "no face found"
    headers = ["Face (box)", "Similarity", "UserId" if _users(response) else "ExternalImageId", "", ""]
    headers[3:] = ["UserStatus", ""] if _users(response) else ["FaceId", "ImageId"]
    return table(headers, rows)


def _users(response: dict[str, Any]) -> bool:
    return any("UserMatches" in face.get("Search", {}) for face in response["Faces"])


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

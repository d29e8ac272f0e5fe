"""DetectFaces and CompareFaces on the shared photos."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
import skimage.data
from botocore.exceptions import ClientError
from PIL import Image, ImageOps
from support import FACES, image_bytes, manifest

# Face model 2.0 (the default) finds six of the selfie's seven faces: the seventh is small and
# half hidden behind another head. Every other group photo must give its exact count.
GROUP_TOLERANCE = {"groups/selfie-many-people.jpg": 1}

GROUPS = [row for row in manifest() if row.kind == "group"]
NONFACES = [row for row in manifest() if row.kind == "nonface"]


@pytest.mark.parametrize("row", GROUPS, ids=[row.path for row in GROUPS])
def test_group_photos_give_their_face_counts(rekognition, row):
    found = len(rekognition.detect_faces(Image={"Bytes": row.file.read_bytes()})["FaceDetails"])
    expected = row.n_faces_expected
    assert expected - GROUP_TOLERANCE.get(row.path, 0) <= found <= expected


@pytest.mark.parametrize("row", NONFACES, ids=[row.path for row in NONFACES])
def test_images_without_people_give_no_faces(rekognition, row):
    assert rekognition.detect_faces(Image={"Bytes": row.file.read_bytes()})["FaceDetails"] == []


def test_face_details_are_consistent(rekognition):
    details = rekognition.detect_faces(Image={"Bytes": image_bytes("groups/t1.jpg")})["FaceDetails"]
    areas = [detail["BoundingBox"]["Width"] * detail["BoundingBox"]["Height"] for detail in details]
    assert areas == sorted(areas, reverse=True)
    for detail in details:
        box = detail["BoundingBox"]
        for mark in detail["Landmarks"]:
            assert box["Left"] - 0.02 <= mark["X"] <= box["Left"] + box["Width"] + 0.02
            assert box["Top"] - 0.02 <= mark["Y"] <= box["Top"] + box["Height"] + 0.02
        marks = {mark["Type"]: mark for mark in detail["Landmarks"]}
        assert marks["eyeLeft"]["X"] < marks["eyeRight"]["X"]
        assert marks["nose"]["Y"] < marks["mouthLeft"]["Y"]
        assert all(-180 <= detail["Pose"][axis] <= 180 for axis in ("Roll", "Yaw", "Pitch"))
        assert 0 <= detail["Quality"]["Brightness"] <= 100 and 0 <= detail["Quality"]["Sharpness"] <= 100
        assert 50 <= detail["Confidence"] <= 100
        for absent in ("AgeRange", "Emotions", "Smile", "Gender"):
            assert absent not in detail


def test_frontal_portrait_has_small_roll_and_yaw(rekognition):
    (detail,) = rekognition.detect_faces(Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")})["FaceDetails"]
    assert abs(detail["Pose"]["Roll"]) < 10 and abs(detail["Pose"]["Yaw"]) < 15


def test_all_attributes_give_more_landmarks(rekognition):
    (detail,) = rekognition.detect_faces(
        Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")}, Attributes=["ALL"]
    )["FaceDetails"]
    types = {mark["Type"] for mark in detail["Landmarks"]}
    assert {"eyeLeft", "chinBottom", "leftEyeBrowUp", "noseLeft", "mouthDown"} <= types


def test_compare_faces_matches_the_same_person(rekognition):
    result = rekognition.compare_faces(
        SourceImage={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")},
        TargetImage={"Bytes": image_bytes("groups/obama_and_biden.jpg")},
    )
    assert len(result["FaceMatches"]) == 1 and len(result["UnmatchedFaces"]) == 2
    assert result["FaceMatches"][0]["Similarity"] >= 80
    assert all(face["Confidence"] > 50 for face in result["UnmatchedFaces"])
    assert result["SourceImageFace"]["Confidence"] > 90
    everyone = rekognition.compare_faces(
        SourceImage={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")},
        TargetImage={"Bytes": image_bytes("groups/obama_and_biden.jpg")},
        SimilarityThreshold=0,
    )
    similarities = [match["Similarity"] for match in everyone["FaceMatches"]]
    assert len(similarities) == 3 and similarities == sorted(similarities, reverse=True)


def test_one_pair_has_one_similarity_everywhere(rekognition, collection):
    """CompareFaces, SearchFaces and SearchFacesByImage report the same Similarity for the same two faces."""
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")})
    probe = image_bytes("people/Barack_Obama/obama2.jpg")
    compared = rekognition.compare_faces(
        SourceImage={"Bytes": probe}, TargetImage={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")}
    )["FaceMatches"][0]["Similarity"]
    searched = rekognition.search_faces_by_image(CollectionId=collection, Image={"Bytes": probe})["FaceMatches"]
    probe_face = rekognition.index_faces(CollectionId=collection, Image={"Bytes": probe})["FaceRecords"][0]["Face"]
    by_face = rekognition.search_faces(CollectionId=collection, FaceId=probe_face["FaceId"])["FaceMatches"]
    assert compared == searched[0]["Similarity"] == by_face[0]["Similarity"]


def test_compare_faces_of_different_people(rekognition):
    result = rekognition.compare_faces(
        SourceImage={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")},
        TargetImage={"Bytes": image_bytes("people/Joe_Biden/biden.jpg")},
    )
    assert result["FaceMatches"] == [] and len(result["UnmatchedFaces"]) == 1


def test_compare_faces_without_a_source_face(rekognition):
    with pytest.raises(ClientError) as caught:
        rekognition.compare_faces(
            SourceImage={"Bytes": image_bytes("nonfaces/view.jpg")},
            TargetImage={"Bytes": image_bytes("people/Joe_Biden/biden.jpg")},
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    empty = rekognition.compare_faces(
        SourceImage={"Bytes": image_bytes("people/Joe_Biden/biden.jpg")},
        TargetImage={"Bytes": image_bytes("nonfaces/view.jpg")},
    )
    assert empty["FaceMatches"] == [] and empty["UnmatchedFaces"] == []


CLIP = FACES / "video" / "short_hamilton_clip.mp4"


def clip_frame_jpeg(seconds: float) -> bytes:
    """The first frame of the Hamilton clip at or after ``seconds`` from its first frame, as JPEG."""
    with av.open(str(CLIP)) as container:
        first = None
        for frame in container.decode(video=0):
            first = frame.time if first is None else first
            if frame.time - first >= seconds - 1e-6:
                buffer = io.BytesIO()
                frame.to_image().save(buffer, format="JPEG", quality=95)
                return buffer.getvalue()
    raise AssertionError(f"the clip is shorter than {seconds} s")


# Seconds from the clip's first frame, and the faces a person sees there: the performer on stage
# and one face in the front row (the stage shots), then the audience cut-away. At 1.6 s the
# performer turns his head with heavy motion blur; one face is required there.
HAMILTON_FRAMES = {0.0: 2, 0.6: 2, 1.6: 1, 2.2: 2, 7.6: 4, 8.0: 4, 8.4: 4, 8.8: 4}


@pytest.mark.parametrize(("seconds", "expected"), HAMILTON_FRAMES.items(), ids=[f"{s}s" for s in HAMILTON_FRAMES])
def test_hamilton_frames_give_the_faces_a_person_sees(rekognition, seconds, expected):
    details = rekognition.detect_faces(Image={"Bytes": clip_frame_jpeg(seconds)})["FaceDetails"]
    assert expected <= len(details) <= 8


def test_profile_face_has_a_large_yaw(rekognition):
    """At 1.3 s the performer faces the image's left in profile, close to the camera."""
    details = rekognition.detect_faces(Image={"Bytes": clip_frame_jpeg(1.3)})["FaceDetails"]
    performer = max(details, key=lambda detail: detail["BoundingBox"]["Width"])
    assert abs(performer["Pose"]["Yaw"]) > 30


SAMPLE_IMAGES = Path(skimage.data.__file__).parent
WITH_PEOPLE = {"astronaut.png", "camera.png"}
KNOWN_FALSE_FACES = {"motorcycle_left.png", "motorcycle_right.png"}
"""A motorcycle's round headlight passes face model 2.0's verification (YuNet 0.76, verified 0.74):
a known false face, documented in docs/models.md. Strict: the test fails once it is no longer found."""
NO_PEOPLE = [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="headlight taken for a face"))
    if name in KNOWN_FALSE_FACES
    else name
    for name in sorted(
        path.name
        for path in SAMPLE_IMAGES.iterdir()
        if path.suffix in {".png", ".jpg"} and path.name not in WITH_PEOPLE and not path.name.startswith("multipage")
    )
]


@pytest.mark.parametrize("name", NO_PEOPLE)
def test_animals_textures_and_objects_give_no_faces(rekognition, name):
    """scikit-image's sample images (a cat, a horse, brick, grass and gravel textures, coins, text,
    the Hubble deep field, the moon...) hold no face, as shipped and mirrored."""
    image = Image.open(SAMPLE_IMAGES / name).convert("RGB")
    for variant in (image, ImageOps.mirror(image)):
        buffer = io.BytesIO()
        variant.save(buffer, format="PNG")
        assert rekognition.detect_faces(Image={"Bytes": buffer.getvalue()})["FaceDetails"] == [], name


@pytest.mark.parametrize("name", sorted(WITH_PEOPLE))
def test_sample_images_with_a_person_give_one_face(rekognition, name):
    image = (SAMPLE_IMAGES / name).read_bytes()
    assert len(rekognition.detect_faces(Image={"Bytes": image})["FaceDetails"]) == 1

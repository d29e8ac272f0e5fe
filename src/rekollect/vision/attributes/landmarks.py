"""All 30 Rekognition landmark types from the 468-point Face Mesh and the iris model.

Mesh indices follow MediaPipe's canonical face model (``canonical_face_model_uv_visualization``).
"Left"/"right" are the image's, as in ``vision/landmarks.py``: ``eyeLeft`` and ``leftPupil`` are
on the image's left (the person's right eye). Eye centres are the mean of the two corners and the
mid upper and lower lid points; pupils are the iris model's iris centres.
"""

from __future__ import annotations

from .mesh import FaceMesh

MESH_POINTS: dict[str, tuple[int, ...]] = {
    "eyeLeft": (33, 133, 159, 145),
    "eyeRight": (362, 263, 386, 374),
    "nose": (1,),
    "mouthLeft": (61,),
    "mouthRight": (291,),
    "leftEyeBrowLeft": (70,),
    "leftEyeBrowRight": (107,),
    "leftEyeBrowUp": (105,),
    "rightEyeBrowLeft": (336,),
    "rightEyeBrowRight": (300,),
    "rightEyeBrowUp": (334,),
    "leftEyeLeft": (33,),
    "leftEyeRight": (133,),
    "leftEyeUp": (159,),
    "leftEyeDown": (145,),
    "rightEyeLeft": (362,),
    "rightEyeRight": (263,),
    "rightEyeUp": (386,),
    "rightEyeDown": (374,),
    "noseLeft": (64,),
    "noseRight": (294,),
    "mouthUp": (0,),
    "mouthDown": (17,),
    "upperJawlineLeft": (234,),
    "midJawlineLeft": (172,),
    "chinBottom": (152,),
    "midJawlineRight": (397,),
    "upperJawlineRight": (454,),
}


def mesh_landmarks(mesh: FaceMesh) -> list[tuple[str, float, float]]:
    """``(type, x, y)`` in pixels for every one of Rekognition's 30 landmark types."""
    result = []
    for name, indices in MESH_POINTS.items():
        x, y = mesh.points[list(indices), :2].mean(axis=0)
        result.append((name, float(x), float(y)))
    for name, iris in (("leftPupil", mesh.iris_left), ("rightPupil", mesh.iris_right)):
        result.append((name, float(iris[0, 0]), float(iris[0, 1])))
    return result

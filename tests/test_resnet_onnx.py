"""The ONNX embedding network gives dlib's own descriptors, for one face and for a batch of faces."""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np
import pytest
from PIL import Image, ImageOps
from support import FACES

from rekollect.vision import resnet_convert
from rekollect.vision.dlib_pack import DlibFaceAnalyzer, face_shape, model_file
from rekollect.vision.resnet_onnx import MODEL

PHOTOS = [
    "groups/couple.jpg",  # large faces: chips cut from a downsampling pyramid
    "groups/kit_with_rose.jpg",
    "groups/selfie-many-people.jpg",
    "people/Barack_Obama/obama.jpg",
    "people/Eileen_Collins/astronaut.png",
]


@pytest.fixture(scope="module")
def analyzer() -> DlibFaceAnalyzer:
    return DlibFaceAnalyzer()


def _pixels(relative: str) -> np.ndarray:
    return np.asarray(ImageOps.exif_transpose(Image.open(FACES / relative)).convert("RGB"))


def test_descriptors_equal_dlibs_compute_face_descriptor(analyzer: DlibFaceAnalyzer):
    encoder = dlib.face_recognition_model_v1(str(model_file(resnet_convert.SOURCE)))
    compared = 0
    for relative in PHOTOS:
        pixels = _pixels(relative)
        faces = analyzer.detect(pixels)
        ours = analyzer.embed(pixels, faces)
        assert ours.shape == (len(faces), 128) and ours.dtype == np.float32
        for face, row in zip(faces, ours, strict=True):
            theirs = np.array(encoder.compute_face_descriptor(pixels, face_shape(face), 0))
            assert np.abs(row - theirs).max() <= resnet_convert.TOLERANCE, relative
            compared += 1
    assert compared >= 8


def test_a_batch_gives_the_rows_of_one_face_at_a_time(analyzer: DlibFaceAnalyzer):
    for relative in ("groups/couple.jpg", "groups/selfie-many-people.jpg"):
        pixels = _pixels(relative)
        faces = analyzer.detect(pixels)
        assert len(faces) >= 2
        batch = analyzer.embed(pixels, faces)
        single = np.concatenate([analyzer.embed(pixels, [face]) for face in faces])
        np.testing.assert_allclose(batch, single, rtol=0, atol=1e-6)
    assert analyzer.embed(pixels, []).shape == (0, 128)


def test_conversion_refuses_a_model_outside_the_tolerance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(resnet_convert, "TOLERANCE", 0.0)
    monkeypatch.setattr(resnet_convert, "max_difference", lambda model, chips: 3e-7)
    with pytest.raises(resnet_convert.ConversionError, match=r"differ by up to 3\.00e-07"):
        resnet_convert.convert(tmp_path)
    assert not (tmp_path / MODEL).exists()

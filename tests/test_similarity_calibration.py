"""The Similarity map separates same from different people on pairs.tsv at the default threshold."""

from __future__ import annotations

import csv

import numpy as np
from PIL import Image, ImageOps
from support import FACES

from rekollect.vision.dlib_pack import DlibFaceAnalyzer

REQUIRED_ACCURACY = 0.98


def test_threshold_80_separates_pairs():
    analyzer = DlibFaceAnalyzer()
    with open(FACES / "pairs.tsv", newline="") as handle:
        pairs = list(csv.DictReader(handle, delimiter="\t"))
    embeddings: dict[str, np.ndarray] = {}
    for path in {row[key] for row in pairs for key in ("path_a", "path_b")}:
        # The model is measured on every photo, WebP files included, so decode with Pillow directly.
        pixels = np.asarray(ImageOps.exif_transpose(Image.open(FACES / path)).convert("RGB"))
        faces = analyzer.detect(pixels)
        assert faces, path
        embeddings[path] = analyzer.embed(pixels, faces[:1])[0]
    distances = np.array([np.linalg.norm(embeddings[row["path_a"]] - embeddings[row["path_b"]]) for row in pairs])
    same = np.array([row["same"] == "1" for row in pairs])
    predicted = analyzer.similarity(distances) >= 80
    accuracy = float((predicted == same).mean())
    assert accuracy >= REQUIRED_ACCURACY, f"accuracy {accuracy:.4f} on {len(pairs)} pairs"

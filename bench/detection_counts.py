"""Faces found by face models 1.0 and 2.0 side by side: group photos, Hamilton clip frames, non-faces.

Rows: each shared group photo (with the count ``MANIFEST.tsv`` expects), frames of
``video/short_hamilton_clip.mp4`` (seconds from its first frame: the stage shots, then the
audience cut-away), every ``nonfaces/`` photo and scikit-image's sample images without people (as
shipped and mirrored), with each model's count and detection time.

Usage: .venv/bin/python bench/detection_counts.py
"""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import skimage.data
from _common import FACES, manifest
from PIL import Image, ImageOps

from rekollect.vision.dlib_pack import DlibFaceAnalyzer
from rekollect.vision.zoo_pack import ZooFaceAnalyzer

FRAME_SECONDS = (0.0, 0.6, 1.3, 1.6, 2.2, 7.6, 8.0, 8.4, 8.8)


def clip_frames() -> dict[str, np.ndarray]:
    frames, wanted = {}, list(FRAME_SECONDS)
    with av.open(str(FACES / "video" / "short_hamilton_clip.mp4")) as container:
        first = None
        for frame in container.decode(video=0):
            first = frame.time if first is None else first
            if wanted and frame.time - first >= wanted[0] - 1e-6:
                frames[f"clip at {wanted.pop(0)} s"] = frame.to_ndarray(format="rgb24")
    return frames


def main() -> None:
    version1 = DlibFaceAnalyzer()
    version2 = ZooFaceAnalyzer(version1)
    rows: list[tuple[str, str, np.ndarray]] = []
    for row in manifest():
        if row.kind in {"group", "nonface"}:
            pixels = np.asarray(ImageOps.exif_transpose(Image.open(row.file)).convert("RGB"))
            rows.append((row.path, str(row.n_faces_expected), pixels))
    rows += [(name, "", pixels) for name, pixels in clip_frames().items()]
    samples = Path(skimage.data.__file__).parent
    for path in sorted(samples.glob("*.png")) + sorted(samples.glob("*.jpg")):
        if path.name not in {"astronaut.png", "camera.png"} and not path.name.startswith("multipage"):
            image = Image.open(path).convert("RGB")
            rows.append((f"skimage {path.name}", "0", np.asarray(image)))
            rows.append((f"skimage {path.name} mirrored", "0", np.asarray(ImageOps.mirror(image))))
    version1.detect(rows[0][2]), version2.detect(rows[0][2])  # load the models before timing
    print(f"{'image':<44}{'expected':>9}{'1.0':>5}{'ms':>7}{'2.0':>5}{'ms':>7}")
    totals = {"1.0": 0, "2.0": 0}
    for name, expected, pixels in rows:
        counts = []
        for version, analyzer in (("1.0", version1), ("2.0", version2)):
            start = time.perf_counter()
            found = len(analyzer.detect(pixels))
            counts.append((found, (time.perf_counter() - start) * 1000))
            if expected == "0":
                totals[version] += found
        print(f"{name:<44}{expected:>9}{counts[0][0]:>5}{counts[0][1]:>7.0f}{counts[1][0]:>5}{counts[1][1]:>7.0f}")
    print(f"false faces on images without people: 1.0 {totals['1.0']}, 2.0 {totals['2.0']}")


if __name__ == "__main__":
    main()

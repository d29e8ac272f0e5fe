"""Detect + embed time per 640-px one-face photo: ``DlibFaceAnalyzer`` vs the plain dlib calls.

Photos: shared person photos resized to 640 px on the long side in which the analyzer finds exactly
one face. Both sides run in this one process on the same pixels, single-threaded: the analyzer's
``detect`` + ``embed``, and dlib's own ``detector(image, 1)``, 68-point ``shape_predictor`` and
``compute_face_descriptor`` (what ``face_recognition.face_encodings`` does).

Usage: .venv/bin/python bench/vision_speed.py [--photos 30]
"""

from __future__ import annotations

import argparse
import time

import dlib
import numpy as np
from _common import percentile, usable_people
from PIL import Image, ImageOps

from rekollect.vision.dlib_pack import DlibFaceAnalyzer, model_file


def one_face_photos(analyzer: DlibFaceAnalyzer, count: int) -> list[np.ndarray]:
    """Up to ``count`` RGB ``(H, W, 3)`` photos, long side 640 px, with exactly one detected face."""
    found = []
    for rows in usable_people().values():
        for row in rows:
            image = ImageOps.exif_transpose(Image.open(row.file)).convert("RGB")
            image.thumbnail((640, 640), Image.Resampling.BILINEAR)
            pixels = np.asarray(image)
            if max(pixels.shape[:2]) == 640 and len(analyzer.detect(pixels)) == 1:
                found.append(pixels)
            if len(found) == count:
                return found
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30)
    args = parser.parse_args()
    analyzer = DlibFaceAnalyzer()
    photos = one_face_photos(analyzer, args.photos)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_file("shape_predictor_68_face_landmarks.dat")))
    encoder = dlib.face_recognition_model_v1(str(model_file("dlib_face_recognition_resnet_model_v1.dat")))
    ours, plain = [], []
    for pixels in photos:
        start = time.perf_counter()
        analyzer.embed(pixels, analyzer.detect(pixels))
        ours.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        for rectangle in detector(pixels, 1):
            encoder.compute_face_descriptor(pixels, predictor(pixels, rectangle), 0)
        plain.append((time.perf_counter() - start) * 1000)
    for name, times in (("DlibFaceAnalyzer detect+embed", ours), ("plain dlib calls", plain)):
        print(f"{name:30s} p50 {percentile(times, 0.5):6.1f} ms  p95 {percentile(times, 0.95):6.1f} ms")
    print(f"({len(photos)} one-face photos at 640 px, single-threaded)")


if __name__ == "__main__":
    main()

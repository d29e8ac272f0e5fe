"""Detect + embed time per 640-px one-face photo for face models 1.0 and 2.0, and embedding time per face.

Photos: shared person photos resized to 640 px on the long side in which both models find exactly
one face. Everything runs in this one process on the same pixels:

- face model 2.0 (``ZooFaceAnalyzer``) ``detect`` + ``embed``, ``detect`` alone and its YuNet stage
  (scan and verification) alone;
- face model 1.0 (``DlibFaceAnalyzer``) ``detect`` + ``embed`` (networks on ``--threads`` threads),
  ``detect`` alone, and its first stage alone (BlazeFace proposals over the tile pyramid);
- the plain dlib calls, single-threaded: ``detector(image, 1)``, the 68-point ``shape_predictor`` and
  ``compute_face_descriptor`` (what ``face_recognition.face_encodings`` does), and that detector alone;
- the embedding of one face: dlib's ``compute_face_descriptor`` next to the ONNX model on the same
  chip with 1 and 2 threads, and per face in one run of a batch of ``--batch`` chips.

Usage: .venv/bin/python bench/vision_speed.py [--photos 30] [--batch 8] [--threads N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import dlib
import numpy as np
from _common import percentile, usable_people
from PIL import Image, ImageOps

from rekollect.cores import available_cores
from rekollect.vision.analyzer import FaceAnalyzer
from rekollect.vision.dlib_pack import DlibFaceAnalyzer, face_shape, model_file
from rekollect.vision.resnet_onnx import ResNetOnnx
from rekollect.vision.zoo_pack import ZooFaceAnalyzer


def one_face_photos(analyzers: list[FaceAnalyzer], count: int) -> list[np.ndarray]:
    """Up to ``count`` RGB ``(H, W, 3)`` photos, long side 640 px, with exactly one detected face."""
    found = []
    for rows in usable_people().values():
        for row in rows:
            image = ImageOps.exif_transpose(Image.open(row.file)).convert("RGB")
            image.thumbnail((640, 640), Image.Resampling.BILINEAR)
            pixels = np.asarray(image)
            if max(pixels.shape[:2]) == 640 and all(len(analyzer.detect(pixels)) == 1 for analyzer in analyzers):
                found.append(pixels)
            if len(found) == count:
                return found
    return found


def timed(call: Callable[[], object], per: int = 1) -> float:
    """Milliseconds one ``call`` takes, divided by ``per``."""
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000 / per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=available_cores())
    args = parser.parse_args()
    analyzer = DlibFaceAnalyzer(threads=args.threads)
    version2 = ZooFaceAnalyzer(analyzer, threads=args.threads)
    photos = one_face_photos([analyzer, version2], args.photos)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_file("shape_predictor_68_face_landmarks.dat")))
    encoder = dlib.face_recognition_model_v1(str(model_file("dlib_face_recognition_resnet_model_v1.dat")))
    networks = {threads: ResNetOnnx(threads) for threads in (1, 2)}
    times: dict[str, list[float]] = {}

    def record(name: str, milliseconds: float) -> None:
        times.setdefault(name, []).append(milliseconds)

    analyzer.embed(photos[0], analyzer.detect(photos[0]))  # load the models before timing
    version2.embed(photos[0], version2.detect(photos[0]))
    for pixels in photos:
        record(
            f"2.0 detect+embed ({args.threads} thr)", timed(lambda p=pixels: version2.embed(p, version2.detect(p)))
        )
        record("2.0 detect", timed(lambda p=pixels: version2.detect(p)))
        record("2.0 detect: YuNet scan + verification", timed(lambda p=pixels: version2.detector.detect(p)))
        record(
            f"1.0 detect+embed ({args.threads} thr)", timed(lambda p=pixels: analyzer.embed(p, analyzer.detect(p)))
        )
        record("1.0 detect", timed(lambda p=pixels: analyzer.detect(p)))
        record("1.0 detect: BlazeFace proposals", timed(lambda p=pixels: analyzer.proposer.propose(p)))
        record("plain dlib detect (HOG, 1 upsampling)", timed(lambda p=pixels: detector(p, 1)))
        record(
            "plain dlib detect+embed",
            timed(lambda p=pixels: [encoder.compute_face_descriptor(p, predictor(p, r), 0) for r in detector(p, 1)]),
        )
        shape = face_shape(analyzer.detect(pixels)[0])
        chip = dlib.get_face_chip(pixels, shape, size=150, padding=0.25)
        record("embed 1 face: dlib", timed(lambda p=pixels, s=shape: encoder.compute_face_descriptor(p, s, 0)))
        batch = np.stack([chip] * args.batch)
        for threads, network in networks.items():
            record(f"embed 1 face: onnx {threads} thr", timed(lambda n=network, c=chip: n(c[None])))
            record(
                f"embed per face, batch of {args.batch}: onnx {threads} thr",
                timed(lambda n=network, b=batch: n(b), per=args.batch),
            )
    for name, values in times.items():
        print(f"{name:42s} p50 {percentile(values, 0.5):6.1f} ms  p95 {percentile(values, 0.95):6.1f} ms")
    print(f"({len(photos)} one-face photos at 640 px; {available_cores()} cores available)")


if __name__ == "__main__":
    main()

"""What reusing embeddings along face tracks costs in matches, and saves in embeddings.

In-process, with the default face model (2.1): the shared Hamilton clip is sampled at 5 frames per
second (as stored-video jobs and stream processors sample it), every face is detected and measured,
then embedded twice: every face (``full``), and through ``video.reuse.EmbeddingReuse`` (``reuse``:
only faces of new tracks, or that got better). Each face is compared with Lin-Manuel Miranda's
indexed photo (``lin-manuel-miranda.png``) as a search of a one-face collection would: matched at
Similarity ≥ 80. Printed: the faces embedded, matched faces under each, the faces whose decision
differs, and the Similarity differences. ``--scale 2`` upsamples the frames to 1280 × 720 first
(the stream processor bench's size).

Usage: .venv/bin/python bench/embedding_reuse.py [--scale 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import FACES

from rekollect.core.images import DecodedImage, decode_image
from rekollect.core.measurement import measure_all
from rekollect.video.reuse import EmbeddingReuse, face_quality
from rekollect.vision.calibrated_pack import CalibratedFaceAnalyzer
from rekollect.vision.dlib_pack import DlibFaceAnalyzer
from rekollect.vision.zoo_pack import ZooFaceAnalyzer

CLIP = FACES / "video" / "short_hamilton_clip.mp4"
LIN = FACES / "people" / "Lin-Manuel_Miranda" / "lin-manuel-miranda.png"
RATE = 5
THRESHOLD = 80.0


def sampled_frames(scale: float) -> list[tuple[int, np.ndarray]]:
    """``(timestamp ms, RGB pixels)`` of the first frame of each 1/RATE s of the clip."""
    frames, last = [], -1
    with av.open(str(CLIP)) as container:
        for frame in container.decode(video=0):
            interval = int(frame.time * RATE + 1e-6)
            if interval <= last:
                continue
            last = interval
            pixels = frame.to_ndarray(format="rgb24")
            if scale != 1:
                size = (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale))
                pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR)
            frames.append((round(frame.time * 1000), pixels))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    dlib_pack = DlibFaceAnalyzer()
    pack = CalibratedFaceAnalyzer(ZooFaceAnalyzer(dlib_pack))
    lin_image = decode_image(LIN.read_bytes())
    lin = pack.embed(lin_image.pixels, pack.detect(lin_image.pixels)[:1])[0]
    reuse = EmbeddingReuse()
    full_seconds = reuse_seconds = 0.0
    decisions = []  # (full similarity, reuse similarity)
    frames = sampled_frames(args.scale)
    for timestamp, pixels in frames:
        measured = measure_all(pack.detect(pixels), DecodedImage(pixels, ""))
        if not measured:
            continue
        faces = [face.face for face in measured]
        began = time.perf_counter()
        full = pack.embed(pixels, faces)
        full_seconds += time.perf_counter() - began
        began = time.perf_counter()
        reused = reuse.embeddings(
            timestamp,
            pixels,
            [face.box for face in faces],
            [face_quality(face) for face in measured],
            lambda wanted, pixels=pixels, faces=faces: pack.embed(pixels, [faces[index] for index in wanted]),
        )
        reuse_seconds += time.perf_counter() - began
        full_similarity = pack.similarity(np.linalg.norm(full - lin, axis=1))
        reuse_similarity = pack.similarity(np.linalg.norm(reused - lin, axis=1))
        decisions += zip(full_similarity.tolist(), reuse_similarity.tolist(), strict=True)
    full_matched = sum(full >= THRESHOLD for full, _ in decisions)
    reuse_matched = sum(reused >= THRESHOLD for _, reused in decisions)
    differ = sum((full >= THRESHOLD) != (reused >= THRESHOLD) for full, reused in decisions)
    lost = sum(full >= THRESHOLD > reused for full, reused in decisions)
    gained = sum(reused >= THRESHOLD > full for full, reused in decisions)
    deltas = np.array([abs(full - reused) for full, reused in decisions])
    matched_deltas = np.array([abs(full - reused) for full, reused in decisions if full >= THRESHOLD])
    height, width = frames[0][1].shape[:2]
    print(f"clip {CLIP.name} at {width}x{height}, {len(frames)} frames sampled at {RATE}/s, {len(decisions)} faces")
    print(
        f"embedded: full {len(decisions)} faces in {full_seconds:.2f} s;"
        f" reuse {reuse.embedded} ({reuse.embedded / len(decisions):.0%}) in {reuse_seconds:.2f} s"
    )
    print(f"matched Lin-Manuel Miranda (Similarity >= {THRESHOLD:g}): full {full_matched}, reuse {reuse_matched}")
    print(f"decisions that differ: {differ} of {len(decisions)} faces ({lost} matches lost, {gained} gained)")
    print(
        f"|Similarity(full) - Similarity(reuse)|: mean {deltas.mean():.2f}, 95th percentile"
        f" {np.percentile(deltas, 95):.2f}; on faces full matched: mean {matched_deltas.mean():.2f},"
        f" max {matched_deltas.max():.2f}"
    )


if __name__ == "__main__":
    main()

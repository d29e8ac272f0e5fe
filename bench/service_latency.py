"""IndexFaces and SearchFacesByImage latency through the server vs the same models in-process.

For face models 1.0 and 2.0 (one collection each, on one server) both sides run in this one
process run on the same photos: the in-process side decodes the image, detects, builds the
FaceDetail and embeds (what the operations do, minus HTTP, JSON, base64 and storage). Also prints
each model's pairs.tsv accuracy of the Similarity map at the default threshold 80.

Usage: .venv/bin/python bench/service_latency.py
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import FACES, ServerProcess, percentile, usable_people
from PIL import Image, ImageOps

from rekollect.core.images import decode_image
from rekollect.core.measurement import measure_all
from rekollect.operations.face_details import face_detail
from rekollect.vision.analyzer import FaceAnalyzer
from rekollect.vision.dlib_pack import DlibFaceAnalyzer
from rekollect.vision.zoo_pack import ZooFaceAnalyzer


def in_process(analyzer: FaceAnalyzer, data: bytes) -> None:
    image = decode_image(data)
    faces = analyzer.detect(image.pixels)
    [face_detail(measured, image) for measured in measure_all(faces, image)]
    analyzer.embed(image.pixels, faces[:1])


def pairs_accuracy(analyzer: FaceAnalyzer) -> tuple[float, int]:
    with open(FACES / "pairs.tsv", newline="") as handle:
        pairs = list(csv.DictReader(handle, delimiter="\t"))
    vectors = {}
    for path in {row[key] for row in pairs for key in ("path_a", "path_b")}:
        pixels = np.asarray(ImageOps.exif_transpose(Image.open(FACES / path)).convert("RGB"))
        vectors[path] = analyzer.embed(pixels, analyzer.detect(pixels)[:1])[0]
    distances = np.array([np.linalg.norm(vectors[row["path_a"]] - vectors[row["path_b"]]) for row in pairs])
    same = np.array([row["same"] == "1" for row in pairs])
    return float(((analyzer.similarity(distances) >= 80) == same).mean()), len(pairs)


def main() -> None:
    photos = [rows[0].file.read_bytes() for rows in usable_people().values()]
    probes = [row.file.read_bytes() for rows in usable_people().values() for row in rows[1:3]]
    version1 = DlibFaceAnalyzer()
    analyzers = {"1.0": version1, "2.0": ZooFaceAnalyzer(version1)}
    rows = []
    with tempfile.TemporaryDirectory() as root:
        server = ServerProcess(Path(root) / "data").start()
        try:
            client = server.client()
            for version, analyzer in analyzers.items():
                collection = f"bench-{version}"
                client.create_collection(CollectionId=collection)
                in_process(analyzer, photos[0])  # load the models before timing
                for name, call, inputs in (
                    ("IndexFaces", lambda data, c=collection: client.index_faces(CollectionId=c, Image={"Bytes": data}), photos),
                    (
                        "SearchFacesByImage",
                        lambda data, c=collection: client.search_faces_by_image(CollectionId=c, Image={"Bytes": data}),
                        probes,
                    ),
                ):
                    served, local = [], []
                    for data in inputs:
                        start = time.perf_counter()
                        call(data)
                        served.append((time.perf_counter() - start) * 1000)
                        start = time.perf_counter()
                        in_process(analyzer, data)
                        local.append((time.perf_counter() - start) * 1000)
                    rows.append((f"{name} {version}", len(inputs), served, local))
        finally:
            server.stop()
    print(f"{'operation':<24}{'n':>4}{'server p50':>12}{'p95':>8}{'in-process p50':>16}{'p95':>8}{'ratio p50':>11}")
    for name, count, served, local in rows:
        print(
            f"{name:<24}{count:>4}{percentile(served, 0.5):>10.0f}ms{percentile(served, 0.95):>6.0f}ms"
            f"{percentile(local, 0.5):>14.0f}ms{percentile(local, 0.95):>6.0f}ms"
            f"{percentile(served, 0.5) / percentile(local, 0.5):>11.2f}"
        )
    for version, analyzer in analyzers.items():
        accuracy, count = pairs_accuracy(analyzer)
        print(f"{version}: pairs.tsv accuracy at Similarity threshold 80: {accuracy:.4f} ({count} pairs)")


if __name__ == "__main__":
    main()

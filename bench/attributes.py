"""Per-attribute accuracy on the labelled set, and DetectFaces latency with DEFAULT vs ALL attributes.

Accuracy: every photo of ``tests/data/attribute_labels.tsv`` through a real server with
``Attributes=["ALL"]``, scored as ``tests/test_attributes.py`` scores it (largest face). Latency:
each labelled photo sent once with ``DEFAULT`` and once with ``ALL`` (after one warm-up call that
loads the attribute models); per call, wall-clock milliseconds at the client.

Usage: .venv/bin/python bench/attributes.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import FACES, ServerProcess, percentile
from attribute_eval import SCORED, accuracy, labels, score


def main() -> None:
    rows = labels()
    photos = [(label, (FACES / label.path).read_bytes()) for label in rows]
    timings: dict[str, list[float]] = {"DEFAULT": [], "ALL": []}
    results = []
    with tempfile.TemporaryDirectory() as root:
        server = ServerProcess(Path(root) / "data").start()
        try:
            client = server.client()
            client.detect_faces(Image={"Bytes": photos[0][1]}, Attributes=["ALL"])
            for label, data in photos:
                for selection in ("DEFAULT", "ALL"):
                    start = time.perf_counter()
                    details = client.detect_faces(Image={"Bytes": data}, Attributes=[selection])["FaceDetails"]
                    timings[selection].append((time.perf_counter() - start) * 1000)
                results.append(score(details[0], label))
        finally:
            server.stop()
    print(f"{'attribute':<12}{'right':>7}{'labelled':>10}{'accuracy':>10}")
    for attribute in SCORED:
        right, total = accuracy(results, attribute)
        print(f"{attribute:<12}{right:>7}{total:>10}{right / total:>9.1%}")
    print()
    print(f"{'Attributes':<12}{'n':>4}{'p50':>9}{'p95':>9}{'mean':>9}")
    for selection, values in timings.items():
        mean = sum(values) / len(values)
        print(
            f"{selection:<12}{len(values):>4}{percentile(values, 0.5):>7.0f}ms"
            f"{percentile(values, 0.95):>7.0f}ms{mean:>7.0f}ms"
        )


if __name__ == "__main__":
    main()

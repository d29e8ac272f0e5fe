"""SearchFaces index at scale: latency, recall against exact search, memory and start-up time.

For each size, synthetic faces (``bench/synthetic.py``) go into one ``TieredIndex`` space; 200
queries (new faces of stored identities) are searched for their 10 nearest; the ground truth is an
exhaustive pass over the same vectors. Side by side in this one run: ``ExactIndex`` (the previous
exhaustive index) latency on the same space, where it fits in memory (``--reference-max``).
Start-up: the space is saved, then loaded by a fresh Python process (import + load, hot page cache).

Each size's index is searched with each ``--probe-fractions`` (share of the IVF's lists scanned)
and ``--search-threads`` (parts each search is split into) in turn. The machine's other load shows
in the latencies (the parts compete with it for cores): note ``uptime`` next to the results.

``--dimension 256`` measures face model 2.0's vectors (default 128: model 1.0's; the synthetic
faces lie as far apart at either dimension, see ``bench/synthetic.py``, so the Similarity >= 80
matches are counted with model 1.0's distance map at either).

Usage: .venv/bin/python bench/search_scale.py [--sizes 100000 1000000 10000000]
       [--probe-fractions 0.25 0.3 0.375] [--search-threads 1 2] [--rerank 1000] [--dimension 256]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import synthetic
from _common import percentile

from rekollect.index.exact import ExactIndex
from rekollect.index.tiered import DEFAULT_MIN_SCANNED, DEFAULT_PROBE_FRACTION, TieredIndex, default_search_threads
from rekollect.vision.dlib_pack import DlibFaceAnalyzer

SPACE = "faces/bench"
K = 10
MATCH_DISTANCE = DlibFaceAnalyzer().distance_at(80.0)
"""Euclidean distance at Similarity 80, the default FaceMatchThreshold."""


def key(number: int) -> str:
    """A 36-character key like a FaceId."""
    return f"00000000-0000-4000-8000-{number:012d}"


def rss_gib() -> float:
    """Resident memory of this process now, GiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError("no VmRSS")


def ground_truth(size: int, queries: np.ndarray, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """``(q, K)`` exact nearest face numbers and distances, by one exhaustive pass over regenerated chunks."""
    best_d = np.full((len(queries), K), np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), K), dtype=np.int64)
    query_norms = (queries**2).sum(1)[:, None]
    for first, chunk in synthetic.chunks(size, dimension=dimension):
        distances = query_norms - 2 * queries @ chunk.T + (chunk**2).sum(1)[None, :]
        nearest = np.argpartition(distances, min(K, distances.shape[1] - 1), axis=1)[:, :K]
        all_d = np.concatenate([best_d, np.take_along_axis(distances, nearest, 1)], axis=1)
        all_i = np.concatenate([best_i, nearest + first], axis=1)
        top = np.argsort(all_d, axis=1, kind="stable")[:, :K]
        best_d, best_i = np.take_along_axis(all_d, top, 1), np.take_along_axis(all_i, top, 1)
    return best_i, np.sqrt(np.maximum(best_d, 0))


def timed_searches(index, queries: np.ndarray) -> tuple[list[float], list[list[str]]]:
    """Per-query milliseconds and the returned keys."""
    times, results = [], []
    for query in queries:
        start = time.perf_counter()
        hits = index.search(SPACE, query, K, float("inf"))
        times.append((time.perf_counter() - start) * 1000)
        results.append([hit for hit, _ in hits])
    return times, results


def startup_seconds(path: Path) -> tuple[float, float]:
    """(load seconds, whole process seconds) of a fresh interpreter loading ``path``."""
    code = (
        "import time; t = time.perf_counter(); from rekollect.index.tiered import TieredIndex; "
        f"i = TieredIndex(); s = time.perf_counter(); i.load_space(__import__('pathlib').Path({str(path)!r})); "
        "print(time.perf_counter() - s, time.perf_counter() - t)"
    )
    start = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    load, _ = (float(value) for value in output.split())
    return load, time.perf_counter() - start


def run(size: int, args: argparse.Namespace) -> None:
    queries = synthetic.queries(size, args.queries, dimension=args.dimension)
    truth, truth_distances = ground_truth(size, queries, args.dimension)
    matching = [
        {key(n) for n, d in zip(row, ds, strict=True) if d <= MATCH_DISTANCE}
        for row, ds in zip(truth, truth_distances, strict=True)
    ]
    gc.collect()
    before = rss_gib()
    index = TieredIndex(ann_threshold=args.ann_threshold, rerank=args.rerank, min_scanned=args.min_scanned)
    start = time.perf_counter()
    for first, chunk in synthetic.chunks(size, dimension=args.dimension):
        index.add(SPACE, [key(n) for n in range(first, first + len(chunk))], chunk)
    build = time.perf_counter() - start
    memory = rss_gib() - before
    timed_searches(index, queries[:10])  # warm-up
    for fraction, threads in itertools.product(args.probe_fractions, args.search_threads):
        index.probe_fraction, index.search_threads = fraction, threads
        times, results = timed_searches(index, queries)
        recall1 = np.mean([bool(found) and found[0] == key(row[0]) for found, row in zip(results, truth, strict=True)])
        recall10 = np.mean(
            [len(set(found) & {key(n) for n in row}) / K for found, row in zip(results, truth, strict=True)]
        )
        matched = np.mean(
            [len(set(found) & want) / len(want) for found, want in zip(results, matching, strict=True) if want]
        )
        lists = index.ivf_lists(SPACE)
        label = f"IVF{lists}, {fraction:g} of lists, {threads} thread{'s' * (threads > 1)}" if lists else "exact"
        print(
            f"n={size:>10,}  tiered({label})"
            f"  p50 {percentile(times, 0.5):7.3f} ms  p95 {percentile(times, 0.95):7.3f} ms  recall@1 {recall1:.3f}"
            f"  recall@10 {recall10:.4f}  recall of Similarity>=80 matches {matched:.4f}",
            flush=True,
        )
        if not lists:
            break
    print(f"n={size:>10,}  build {build:6.1f} s  index memory {memory:5.2f} GiB", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "space.rkix"
        start = time.perf_counter()
        index.save_space(SPACE, path)
        saved = time.perf_counter() - start
        del index
        gc.collect()
        load, process = startup_seconds(path)
        print(
            f"n={size:>10,}  save {saved:5.1f} s ({path.stat().st_size / 2**30:.2f} GiB)  start-up: load {load:5.2f} s,"
            f" fresh process incl. imports {process:5.2f} s",
            flush=True,
        )
    if size <= args.reference_max:
        exact = ExactIndex()
        for first, chunk in synthetic.chunks(size, dimension=args.dimension):
            exact.add(SPACE, [key(n) for n in range(first, first + len(chunk))], chunk)
        times, results = timed_searches(exact, queries[: args.reference_queries])
        recall10 = np.mean(
            [
                len(set(found) & {key(n) for n in row}) / K
                for found, row in zip(results, truth[: len(results)], strict=True)
            ]
        )
        print(
            f"n={size:>10,}  reference ExactIndex p50 {percentile(times, 0.5):7.3f} ms"
            f"  p95 {percentile(times, 0.95):7.3f} ms  recall@10 {recall10:.4f} ({len(times)} queries)",
            flush=True,
        )
        del exact
        gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reference-max", type=int, default=1_000_000)
    parser.add_argument("--reference-queries", type=int, default=50)
    parser.add_argument("--ann-threshold", type=int, default=TieredIndex().ann_threshold)
    parser.add_argument("--rerank", type=int, default=TieredIndex().rerank, help="candidates re-ranked exactly")
    parser.add_argument("--probe-fractions", type=float, nargs="+", default=[0.25, 0.3, DEFAULT_PROBE_FRACTION, 0.5])
    parser.add_argument("--search-threads", type=int, nargs="+", default=[default_search_threads()])
    parser.add_argument("--min-scanned", type=int, default=DEFAULT_MIN_SCANNED, help="fewest codes a search scans")
    parser.add_argument("--dimension", type=int, default=synthetic.DIMENSION, help="vector length (2.0: 256)")
    args = parser.parse_args()
    print(
        f"search_scale: k={K}, {args.dimension}-d float32, {args.queries} queries per size,"
        f" at least {args.min_scanned:,} codes scanned per search",
        flush=True,
    )
    for size in args.sizes:
        run(size, args)
    print(f"peak memory of this run {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()

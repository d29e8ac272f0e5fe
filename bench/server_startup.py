"""Server start-up and SearchFaces over HTTP with a large synthetic collection.

Loads ``--faces`` synthetic faces (``load_synthetic_faces.py``) into a fresh data directory unless
``--data-dir`` already holds them, then starts the server twice: the first start rebuilds the index
from the store and writes a snapshot; the second loads the snapshot. Prints each start-up time
(process start to first answer) and SearchFaces latency by FaceId through boto3 (HTTP, JSON and
the SQLite look-ups included) on the second server.

Usage: .venv/bin/python bench/server_startup.py [--faces 1000000] [--data-dir DIR --collection NAME]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _common import ServerProcess, percentile
from load_synthetic_faces import load


def started(data_dir: Path) -> tuple[ServerProcess, float]:
    start = time.perf_counter()
    server = ServerProcess(data_dir).start()
    return server, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--collection", default="synthetic")
    parser.add_argument("--searches", type=int, default=200)
    args = parser.parse_args()
    folder = None if args.data_dir else Path(tempfile.mkdtemp())
    data_dir = args.data_dir or folder / "data"
    try:
        if folder is not None:
            load(data_dir, args.collection, args.faces)
        shutil.rmtree(data_dir / "index", ignore_errors=True)
        server, seconds = started(data_dir)
        print(f"start-up without a snapshot (rebuild from the store, snapshot written): {seconds:.1f} s", flush=True)
        server.stop()
        server, seconds = started(data_dir)
        print(f"start-up from the snapshot: {seconds:.1f} s", flush=True)
        client = server.client()
        faces = client.list_faces(CollectionId=args.collection, MaxResults=args.searches)["Faces"]
        count = client.describe_collection(CollectionId=args.collection)["FaceCount"]
        times = []
        for face in faces:
            start = time.perf_counter()
            client.search_faces(CollectionId=args.collection, FaceId=face["FaceId"], MaxFaces=10)
            times.append((time.perf_counter() - start) * 1000)
        print(
            f"SearchFaces over HTTP, {count:,} faces: p50 {percentile(times, 0.5):.2f} ms,"
            f" p95 {percentile(times, 0.95):.2f} ms ({len(times)} searches)"
        )
        server.stop()
    finally:
        if folder is not None:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()

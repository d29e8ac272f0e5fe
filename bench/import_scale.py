"""``rekollect collection import`` at scale: time, peak memory, and how long the store's other writers wait.

A collection of ``--faces`` synthetic faces (face model 2.0: random unit vectors, not real faces; 5
faces an image, every 50th face in one of 100 users) is exported from a scratch SQLite store, then
imported with ``rekollect collection import`` (a child process: wall time, and peak RSS from
``/proc/self/status``) into a data directory that already holds ``--collections`` collections, while another
connection to that store, as a running server would, writes a tag every 10 ms: the longest such
write is how long an import makes the server's own writes wait (SQLite lets a writer wait 5 s, then
the server answers ``InternalServerError``).

Usage: .venv/bin/python bench/import_scale.py [--faces 20000] [--collections 3001]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from rekollect.backup.transfer import export_collection
from rekollect.storage.base import CollectionRecord, FaceRecord
from rekollect.storage.sqlite import SqliteStore

ARN = "arn:aws:rekognition:us-east-1:000000000000:collection/"
MEASURED = """
import os, resource, sys
from rekollect.cli import main
try:
    main(sys.argv[1:])
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/self/status") as status, open(os.environ["PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
        out.write(f" {usage.ru_utime + usage.ru_stime}")
"""
"""``rekollect ARGS`` writing its own peak RSS (``VmHWM``, KiB; ``wait4``'s ``ru_maxrss`` would count
the memory of this process, which it is forked from) and CPU seconds to ``$PEAK_FILE``."""


def source_store(path: Path, faces: int) -> SqliteStore:
    """A store holding collection ``source`` of ``faces`` synthetic faces (see the module docstring)."""
    store = SqliteStore(path)
    store.create_collection(CollectionRecord("source", f"{ARN}source", dt.datetime.now(dt.UTC), "2.0"), {"k": "v"})
    rng = np.random.default_rng(0)
    members: dict[str, list[np.ndarray]] = {}
    for first in range(0, faces, 5):
        image = str(uuid.uuid4())
        vectors = rng.standard_normal((min(5, faces - first), 256)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        records = []
        for offset, vector in enumerate(vectors):
            number = first + offset
            user = f"user-{number // 50 % 100}" if number % 50 == 0 else None
            if user is not None:
                members.setdefault(user, []).append(vector)
            records.append(
                FaceRecord(str(uuid.uuid4()), image, f"img-{first}", (0.2, 0.2, 0.4, 0.4), 99.0, "2.0", vector, user)
            )
        for user in {record.user_id for record in records if record.user_id is not None}:
            store.create_user("source", user)  # False (nothing done) when it exists
        store.add_faces("source", f"{first:064x}", records)
    for user, vectors in members.items():
        store.set_user_vector("source", user, np.mean(vectors, axis=0).astype(np.float32))
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=20_000)
    parser.add_argument("--collections", type=int, default=3001)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rekollect-import-bench-") as scratch:
        root = Path(scratch)
        store = source_store(root / "source.sqlite3", args.faces)
        backup = root / "backup.zip"
        export_collection(store, "source", backup)
        store.close()
        size = backup.stat().st_size
        target = SqliteStore(root / "data" / "rekollect.sqlite3")
        with target.atomic():
            for number in range(args.collections):
                target.create_collection(
                    CollectionRecord(f"c{number}", f"{ARN}c{number}", dt.datetime.now(dt.UTC), "2.0"), {}
                )
        waits: list[float] = []
        failed: list[str] = []
        done = threading.Event()

        def writer() -> None:
            while not done.is_set():
                started = time.perf_counter()
                try:
                    target.set_tags("c0", {"tick": str(started)})
                except sqlite3.OperationalError as error:  # SQLite's 5 s wait for the write lock ran out
                    failed.append(str(error))
                waits.append(time.perf_counter() - started)
                time.sleep(0.01)

        thread = threading.Thread(target=writer)
        thread.start()
        started = time.perf_counter()
        peak_file = root / "peak"
        process = subprocess.run(
            [
                sys.executable,
                "-c",
                MEASURED,
                "collection",
                "import",
                "--data-dir",
                str(root / "data"),
                "--input",
                str(backup),
                "--collection-id",
                "copy",
            ],
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PEAK_FILE": str(peak_file)},
        )
        seconds = time.perf_counter() - started
        done.set()
        thread.join()
        assert process.returncode == 0, "the import failed"
        peak, cpu = (float(value) for value in peak_file.read_text().split())
        assert target.count_faces("copy") == args.faces
        target.close()
    print(
        f"import of {args.faces:,} faces ({size / 2**20:.1f} MiB file) into a store of"
        f" {args.collections:,} collections: {seconds:.1f} s, peak RSS {peak / 1024:.0f} MiB,"
        f" CPU {cpu:.1f} s"
    )
    print(
        f"another writer meanwhile: {len(waits)} writes, {len(failed)} failed after SQLite's 5 s wait,"
        f" longest {max(waits) * 1000:.0f} ms,"
        f" p99 {np.percentile(waits, 99) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()

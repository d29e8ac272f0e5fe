"""IndexFaces throughput (images/s) on the shared photos with 1, 2 and 4 concurrent clients, for a
server with ``--workers 1`` and one with ``--workers 2``, side by side in this one run.

Each client is a thread with its own boto3 client; together they index the same ``--photos``
person photos (each with a fresh ExternalImageId, so nothing is skipped as a duplicate) into a new
collection. The first request of each server (model loading) is made before timing.

Usage: .venv/bin/python bench/index_throughput.py [--photos 40]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import ServerProcess, usable_people

CLIENTS = (1, 2, 4)


def photos(count: int) -> list[bytes]:
    """``count`` person photos, taking identities in turn."""
    rows = [row for row in itertools.chain.from_iterable(itertools.zip_longest(*usable_people().values())) if row]
    return [row.file.read_bytes() for row in rows[:count]]


def throughput(server: ServerProcess, images: list[bytes], clients: int) -> float:
    """Images per second indexing ``images`` with ``clients`` concurrent clients."""
    collection = f"throughput-{uuid.uuid4().hex[:8]}"
    server.client().create_collection(CollectionId=collection)
    boto = [server.client() for _ in range(clients)]

    def index(number: int) -> None:
        boto[number % clients].index_faces(
            CollectionId=collection, Image={"Bytes": images[number]}, ExternalImageId=str(uuid.uuid4())
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(index, range(len(images))))
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    args = parser.parse_args()
    images = photos(args.photos)
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as folder:
            server = ServerProcess(Path(folder) / "data", "--workers", str(workers)).start()
            try:
                for _ in range(2 * workers):  # load the models of every process
                    server.client().detect_faces(Image={"Bytes": images[0]})
                rates = {clients: throughput(server, images, clients) for clients in CLIENTS}
            finally:
                server.stop()
        print(
            f"--workers {workers}: "
            + ", ".join(f"{clients} client(s) {rate:5.2f} images/s" for clients, rate in rates.items())
            + f"  ({len(images)} photos each)",
            flush=True,
        )


if __name__ == "__main__":
    main()

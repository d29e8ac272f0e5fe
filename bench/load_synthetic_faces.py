"""Put synthetic faces (``bench/synthetic.py``; not real faces) into a data directory's store.

For trying a large collection: load, start the server on the same data directory, search. Faces go
straight into ``<data-dir>/rekollect.sqlite3`` (a running server picks them up through the change
log at its next request; a stopped one at start-up, then writes an index snapshot so later starts
are quick). Each face gets ``ExternalImageId`` ``synthetic-<n>``; the faces of one synthetic
identity are ``n = 5i .. 5i+4``, so searching by one face's id finds the other four.

Usage:
    .venv/bin/python bench/load_synthetic_faces.py --data-dir /tmp/big --collection big --faces 1000000
    .venv/bin/rekollect serve --data-dir /tmp/big
    aws rekognition search-faces --collection-id big --face-id <a FaceId printed here> \\
        --endpoint-url http://127.0.0.1:8085
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import uuid
from pathlib import Path

import synthetic

from rekollect.config import Settings
from rekollect.storage.base import CollectionRecord, FaceRecord
from rekollect.storage.sqlite import SqliteStore
from rekollect.vision.dlib_pack import DlibFaceAnalyzer

BATCH = 20_000
OFFSET = 1.4
"""Added to the first value of every synthetic face: dlib's real descriptors share a large common
component (norms 1.17 to 1.67), the synthetic ones centre on zero (norms 0.44 to 0.96); the shift
gives them the norms face model 1.0 declares (``DlibFaceAnalyzer.embedding_norm``), which the
server checks before it indexes a stored vector, and changes no distance between them."""


def load(data_dir: Path, collection: str, count: int) -> list[str]:
    """Add ``count`` synthetic faces to ``collection`` (created if missing); returns the first 5 FaceIds."""
    settings = Settings(data_dir=data_dir)
    store = SqliteStore(settings.store_path)
    if store.get_collection(collection) is None:
        arn = f"{settings.arn_prefix}collection/{collection}"
        record = CollectionRecord(collection, arn, dt.datetime.now(dt.UTC), DlibFaceAnalyzer.model_version)
        store.create_collection(record, {})
    first_ids: list[str] = []
    for first, vectors in synthetic.chunks(count, BATCH):
        vectors[:, 0] += OFFSET
        image_id = str(uuid.uuid4())
        faces = [
            FaceRecord(
                face_id=str(uuid.uuid4()),
                image_id=image_id,
                external_image_id=f"synthetic-{first + offset}",
                box=(0.5, 0.5, 0.25, 0.25),
                confidence=99.9,
                model_version=DlibFaceAnalyzer.model_version,
                embedding=vector,
            )
            for offset, vector in enumerate(vectors)
        ]
        store.add_faces(collection, f"synthetic-batch-{uuid.uuid4()}", faces)
        first_ids = first_ids or [face.face_id for face in faces[:5]]
    store.close()
    return first_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--collection", default="synthetic")
    parser.add_argument("--faces", type=int, default=1_000_000)
    args = parser.parse_args()
    start = time.perf_counter()
    face_ids = load(args.data_dir, args.collection, args.faces)
    print(f"added {args.faces:,} faces to {args.collection} in {time.perf_counter() - start:.1f} s")
    print("FaceIds of synthetic-0 .. synthetic-4 (one identity):", *face_ids, sep="\n  ")


if __name__ == "__main__":
    main()

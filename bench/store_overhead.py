"""Per-call cost of the store reads a search makes, hand-written SQL (``SqlStore``) against SQLAlchemy Core.

A SearchFacesByImage reads the store three times besides the index: the collection
(``get_collection``), the change log after the index's cursor (``index_changes``, empty when the
index is current) and the matched faces (``get_faces``). This benchmark runs those reads on one
SQLite file of ``--faces`` synthetic faces (128-d), through ``SqliteStore`` and, when SQLAlchemy is
installed (``pip install sqlalchemy``; it is not a dependency of Rekollect), through the same
statements built with SQLAlchemy Core (tables declared with ``Table``, statements with ``select``,
a connection from its pool per call, as a thread-safe store would take one), and prints the median
and mean wall time per call in microseconds. ``docs/storage.md`` records a run and the decision it
informed. Run the previous release's store by putting its ``src`` first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rekollect.storage.base import CollectionRecord, FaceRecord, IndexChange
from rekollect.storage.rows import FACE_COLUMNS, collection_of, face_of, vector_of
from rekollect.storage.sqlite import SqliteStore

COLLECTION = "bench"


def fill(path: Path, faces: int) -> list[str]:
    """A store at ``path`` with one collection of ``faces`` synthetic faces; their FaceIds."""
    store = SqliteStore(path)
    store.create_collection(CollectionRecord(COLLECTION, "arn:bench", dt.datetime.now(dt.UTC), "1.0"), {})
    rng = np.random.default_rng(7)
    ids = [f"face-{number:08d}" for number in range(faces)]
    with store.atomic():
        for start in range(0, faces, 100):
            store.add_faces(
                COLLECTION,
                f"hash-{start}",
                [
                    FaceRecord(face_id, f"image-{start}", None, (0.1, 0.1, 0.2, 0.2), 99.0, "1.0", vector)
                    for face_id, vector in zip(
                        ids[start : start + 100], rng.standard_normal((100, 128)).astype(np.float32), strict=False
                    )
                ],
            )
    store.close()
    return ids


def timed(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and mean wall time of ``call`` in microseconds (after 50 warm-up calls)."""
    for _ in range(50):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times), statistics.fmean(times)


def sqlalchemy_reads(path: Path) -> dict[str, Callable[[list[str]], object]] | None:
    """The three reads through SQLAlchemy Core, or ``None`` when it is not installed."""
    try:
        import sqlalchemy as sa
    except ImportError:
        return None
    engine = sa.create_engine(f"sqlite:///{path}")
    meta = sa.MetaData()
    collections = sa.Table(
        "collections",
        meta,
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("collection_id", sa.Text),
        sa.Column("arn", sa.Text),
        sa.Column("created", sa.Float),
        sa.Column("face_model_version", sa.Text),
    )
    faces = sa.Table(
        "faces",
        meta,
        *(sa.Column(name, sa.Text) for name in ("collection_id", "face_id", "image_id", "external_image_id")),
        sa.Column("seq", sa.Integer, primary_key=True),
        *(sa.Column(name, sa.Float) for name in ("box_width", "box_height", "box_left", "box_top", "confidence")),
        sa.Column("model_version", sa.Text),
        sa.Column("embedding", sa.LargeBinary),
        sa.Column("user_id", sa.Text),
    )
    users = sa.Table(
        "users",
        meta,
        sa.Column("collection_id", sa.Text),
        sa.Column("user_id", sa.Text),
        sa.Column("vector", sa.LargeBinary),
    )
    log = sa.Table(
        "index_log",
        meta,
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("kind", sa.Text),
        sa.Column("collection_id", sa.Text),
        sa.Column("key", sa.Text),
    )
    get_collection = sa.select(
        collections.c.collection_id, collections.c.arn, collections.c.created, collections.c.face_model_version
    ).where(collections.c.collection_id == sa.bindparam("cid"))
    face_vector = (
        sa.select(faces.c.embedding)
        .where(faces.c.face_id == log.c.key, faces.c.collection_id == log.c.collection_id)
        .scalar_subquery()
    )
    user_vector = (
        sa.select(users.c.vector)
        .where(users.c.collection_id == log.c.collection_id, users.c.user_id == log.c.key)
        .scalar_subquery()
    )
    changes = (
        sa.select(
            log.c.seq,
            log.c.kind,
            log.c.collection_id,
            log.c.key,
            sa.case((log.c.key.is_(None), None), (log.c.kind == "faces", face_vector), else_=user_vector),
        )
        .where(log.c.seq > sa.bindparam("after"))
        .order_by(log.c.seq)
        .limit(sa.bindparam("limit"))
    )
    wanted = sa.select(faces.c.seq).where(faces.c.face_id.in_(sa.bindparam("ids", expanding=True)))
    get_faces = (
        sa.select(*(faces.c[name.strip()] for name in FACE_COLUMNS.split(",")))
        .where(faces.c.seq.in_(wanted), faces.c.collection_id == sa.bindparam("cid"))
        .order_by(faces.c.seq)
    )
    with engine.connect() as connection:
        cursor = connection.execute(sa.select(sa.func.max(log.c.seq))).scalar()

    def run(statement: sa.Select, **params: object) -> list:
        with engine.connect() as connection:
            return connection.execute(statement, params).fetchall()

    def collection(ids: list[str]) -> CollectionRecord | None:
        row = next(iter(run(get_collection, cid=COLLECTION)), None)
        return None if row is None else collection_of(tuple(row))

    def index_changes(ids: list[str]) -> list[IndexChange]:
        rows = run(changes, after=cursor, limit=50_000)
        return [
            IndexChange(seq, f"{kind}/{cid}", key, None if blob is None else vector_of(blob))
            for seq, kind, cid, key, blob in rows
        ]

    def face_records(ids: list[str]) -> list[FaceRecord]:  # the rows made records, as the store does
        return [face_of(tuple(row)) for row in run(get_faces, ids=ids, cid=COLLECTION)]

    return {"get_collection": collection, "index_changes (none new)": index_changes, "get_faces": face_records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rekollect.sqlite3"
        ids = fill(path, args.faces)
        store = SqliteStore(path)
        cursor = store.index_cursor()
        ours: dict[str, Callable[[list[str]], object]] = {
            "get_collection": lambda ids: store.get_collection(COLLECTION),
            "index_changes (none new)": lambda ids: store.index_changes(cursor, 50_000),
            "get_faces": lambda ids: store.get_faces(COLLECTION, ids),
        }
        theirs = sqlalchemy_reads(path)
        rng = np.random.default_rng(11)
        print(f"{args.faces} faces in one collection, {args.repeats} calls each; median / mean µs per call")
        for name in ours:
            for count in (1, 10, 100) if name == "get_faces" else (0,):
                chosen = [ids[i] for i in rng.choice(len(ids), count, replace=False)] if count else []
                line = f"{f'{name} ({count} ids)' if count else name:28s}"
                for label, reads in (("SqlStore", ours), ("SQLAlchemy Core", theirs)):
                    if reads is not None:
                        median, mean = timed(functools.partial(reads[name], chosen), args.repeats)
                        line += f"   {label} {median:7.1f} / {mean:7.1f}"
                print(line)
        store.close()


if __name__ == "__main__":
    main()

"""``rekollect index PATH... --collection-id C``: IndexFaces for every image under folders and S3 prefixes.

Several requests are in flight at once (a thread pool of ``workers``, one shared boto3 client),
with a progress bar on stderr (tqdm: images/s, faces found, failures, ETA). Images already indexed
into the same collection are skipped (``state.IndexState``); should a run stop between an answer
and its state line, the image is sent again, and the service does not store its faces twice when
the bytes and ExternalImageId are the same (AWS documents this of IndexFaces; Rekollect does the
same). Each failure is printed with its AWS error code and message, and makes the exit status 1.

A file is stat'ed before it is read: one larger than the ``Image.Bytes`` limit of botocore's model
(5 MB) is not read nor sent, and fails with that reason (so does an S3 object listed larger than the
15 MB AWS reads for IndexFaces), whatever its name says. An interruption (SIGINT, or SIGTERM, which
the command turns into the same) stops submitting, says so, and waits for the requests in flight,
whose results are recorded, so the next run sends none of them again.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from ..wire.service_model import rekognition_model
from .recognise import NO_MATCH, Association, associate_known
from .sources import ImageSource
from .state import IndexState
from .tables import printable

MAX_IMAGE_BYTES = int(rekognition_model().shape_for("ImageBlob").metadata["max"])
"""Most bytes of ``Image.Bytes`` (botocore's Rekognition model: 5 MB)."""
MAX_S3_IMAGE_BYTES = 15 * 1024 * 1024
"""Most bytes of an image IndexFaces reads from S3 (AWS: "up to 15 MB")."""


class ImageTooLarge(Exception):
    """An image over the size IndexFaces accepts; it was not sent."""


@dataclass(frozen=True)
class Outcome:
    """What became of one image: ``status`` is ``indexed``, ``skipped`` (done before) or ``failed``;
    ``associations`` are what ``--associate-users`` did with its new faces."""

    source: ImageSource
    status: str
    faces: int = 0
    unindexed: int = 0
    error: str | None = None
    associations: tuple[Association, ...] = ()


@dataclass
class Totals:
    """Counts over a run; ``failures`` are ``(source label, "Code: message")``."""

    images: int = 0
    indexed: int = 0
    skipped: int = 0
    failed: int = 0
    faces: int = 0
    unindexed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    without_faces: list[tuple[str, str]] = field(default_factory=list)
    """Images indexed now in which no face was stored: ``(label, why)``."""
    associations: list[tuple[str, Association]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        """Count one image's outcome."""
        self.images += 1
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        self.faces += outcome.faces
        self.unindexed += outcome.unindexed
        if outcome.error is not None:
            self.failures.append((outcome.source.label, outcome.error))
        if outcome.status == "indexed" and outcome.faces == 0:
            why = f"{outcome.unindexed} face(s) not indexed (QualityFilter, MaxFaces)" if outcome.unindexed else "no face found"
            self.without_faces.append((outcome.source.label, why))
        self.associations += [(outcome.source.label, association) for association in outcome.associations]


def describe_error(error: Exception) -> str:
    """``Code: message`` of an AWS error (``ClientError``), else the exception's type and text."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Unknown')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"


def _image(source: ImageSource) -> tuple[dict[str, Any], str]:
    """The ``Image`` member for ``source`` and its fingerprint; a file is stat'ed first, and read
    only when it is a regular file within ``MAX_IMAGE_BYTES`` (``ImageTooLarge`` otherwise)."""
    if source.path is not None:
        # O_NONBLOCK: opening a FIFO swapped in for the file does not wait for a writer.
        with os.fdopen(os.open(source.path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise OSError(f"{printable(str(source.path))}: not a regular file")
            if status.st_size > MAX_IMAGE_BYTES:
                raise ImageTooLarge(_too_large(status.st_size, MAX_IMAGE_BYTES, "Image.Bytes"))
            data = handle.read(MAX_IMAGE_BYTES + 1)
        if len(data) > MAX_IMAGE_BYTES:  # it grew after the stat
            raise ImageTooLarge(_too_large(len(data), MAX_IMAGE_BYTES, "Image.Bytes"))
        return {"Bytes": data}, f"sha256:{hashlib.sha256(data).hexdigest()}"
    if source.size is not None and source.size > MAX_S3_IMAGE_BYTES:
        raise ImageTooLarge(_too_large(source.size, MAX_S3_IMAGE_BYTES, "an S3 object"))
    return {"S3Object": {"Bucket": source.bucket, "Name": source.key}}, f"etag:{source.etag}"


def _too_large(size: int, limit: int, where: str) -> str:
    return f"ImageTooLargeException: not sent: {size} bytes, over the {limit} IndexFaces accepts in {where}"


def index_one(
    client: Any,
    collection_id: str,
    source: ImageSource,
    state: IndexState,
    extra: dict[str, Any],
    user_match_threshold: float | None = None,
) -> Outcome:
    """IndexFaces for ``source`` unless ``state`` has it; ``extra`` holds further request members. With
    ``user_match_threshold``, each new face then joins the user it matches (``recognise.associate_known``);
    the image is noted done only once that is done too, so a run stopped or failed in between does it again."""
    try:
        image, fingerprint = _image(source)
        if state.done(source.label, fingerprint):
            return Outcome(source, "skipped")
        request = {"CollectionId": collection_id, "Image": image, **extra}
        if source.external_image_id is not None:
            request["ExternalImageId"] = source.external_image_id
        response = client.index_faces(**request)
        face_ids = [record["Face"]["FaceId"] for record in response.get("FaceRecords", [])]
        associations: tuple[Association, ...] = ()
        if user_match_threshold is not None:
            associations = tuple(associate_known(client, collection_id, face_ids, user_match_threshold))
    except ImageTooLarge as error:
        return Outcome(source, "failed", error=str(error))
    except (ClientError, BotoCoreError, OSError) as error:
        return Outcome(source, "failed", error=describe_error(error))
    state.record(source.label, fingerprint, source.external_image_id, face_ids)
    unindexed = len(response.get("UnindexedFaces", []))
    return Outcome(source, "indexed", faces=len(face_ids), unindexed=unindexed, associations=associations)


def _bounded(pool: ThreadPoolExecutor, sources: Sequence[ImageSource], in_flight: int, work: Any) -> Iterator[Outcome]:
    """Outcomes of ``work(source)`` as they finish, with at most ``in_flight`` submitted at once."""
    pending: set[Future[Outcome]] = set()
    queue = iter(sources)
    while True:
        for source in queue:
            pending.add(pool.submit(work, source))
            if len(pending) >= in_flight:
                break
        if not pending:
            return
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            yield future.result()


def index_all(
    client: Any,
    collection_id: str,
    sources: Sequence[ImageSource],
    state: IndexState,
    workers: int,
    extra: dict[str, Any],
    progress: bool,
    user_match_threshold: float | None = None,
) -> Totals:
    """Index ``sources`` with ``workers`` requests in flight; failures are printed to stderr as they come.

    ``KeyboardInterrupt`` (SIGINT, or SIGTERM through ``tools.main``) stops submitting, says so on
    stderr, waits for the requests in flight (their results are recorded) and propagates.
    """
    totals = Totals()
    bar = tqdm(total=len(sources), unit="img", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="index")
    try:
        for outcome in _bounded(
            pool, sources, 2 * workers, lambda s: index_one(client, collection_id, s, state, extra, user_match_threshold)
        ):
            totals.add(outcome)
            if outcome.error is not None:
                tqdm.write(f"FAILED {printable(outcome.source.label)}: {printable(outcome.error)}", file=sys.stderr)
            for association in outcome.associations:
                if association.outcome != NO_MATCH:
                    tqdm.write(f"{printable(outcome.source.label)}: {association.describe()}", file=sys.stderr)
            bar.set_postfix(faces=totals.faces, failed=totals.failed, skipped=totals.skipped, refresh=False)
            bar.update()
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)  # nothing more is sent
        tqdm.write("stopping: waiting for the requests in flight (their results are recorded)", file=sys.stderr)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return totals


def summary(totals: Totals, seconds: float, face_count: int | None) -> dict[str, Any]:
    """The run's numbers as the ``--json`` object (without the collection's identity)."""
    return {
        "images": totals.images,
        "indexed": totals.indexed,
        "skipped": totals.skipped,
        "failed": totals.failed,
        "faces_indexed": totals.faces,
        "faces_not_indexed": totals.unindexed,
        "collection_face_count": face_count,
        "seconds": round(seconds, 3),
        "images_per_second": round(totals.indexed / seconds, 2) if seconds > 0 else None,
        "failures": [{"source": label, "error": error} for label, error in totals.failures],
        "images_without_faces": [{"source": label, "why": why} for label, why in totals.without_faces],
        "associations": [{"source": label, **association.as_json()} for label, association in totals.associations],
    }

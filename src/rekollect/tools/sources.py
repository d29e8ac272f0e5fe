"""The images ``rekollect index`` sends: files under folders, and objects under ``s3://`` prefixes.

A folder is walked recursively in name order for ``.jpg``, ``.jpeg`` and ``.png`` regular files (any
case; names starting with ``.`` are skipped); a file named on the command line is sent whatever its
name, but must be a regular file (a FIFO or a device such as ``/dev/zero`` is refused: ``ValueError``).
``s3://bucket/prefix`` lists the objects under the prefix (``ListObjectsV2``) with those suffixes, and
each is indexed by reference (``Image.S3Object``), so the Rekognition endpoint reads it from its own
S3 (for Rekollect: its ``--s3-local-root`` or ``--s3-endpoint-url``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .tables import printable

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
ID_MODES = ("file", "folder", "none")
# ExternalImageId in botocore's Rekognition service model: 1-255 characters of this class.
_NOT_ID_CHARACTER = re.compile(r"[^a-zA-Z0-9_.\-:]")
_MAX_ID_LENGTH = 255


@dataclass(frozen=True)
class ImageSource:
    """One image to index: a local ``path``, or an S3 object (``bucket``, ``key``, ``etag``).

    ``label`` is the path or ``s3://bucket/key`` as shown to the user and kept in the resume state.
    """

    label: str
    external_image_id: str | None
    path: Path | None = None
    bucket: str | None = None
    key: str | None = None
    etag: str | None = None
    size: int | None = None
    """An S3 object's size as listed (bytes); ``None`` for a file (stat'ed when it is read)."""


def sanitize_external_image_id(text: str) -> str | None:
    """``text`` made a valid ExternalImageId, or ``None`` when nothing is left of it.

    Accents are folded to ASCII (NFKD), every character outside ``[a-zA-Z0-9_.\\-:]`` becomes ``_``,
    and the result is cut to 255 characters (the service model's pattern and length).
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = _NOT_ID_CHARACTER.sub("_", folded)[:_MAX_ID_LENGTH]
    return cleaned or None


def external_image_id(name: str, folder: str, mode: str) -> str | None:
    """The ExternalImageId for a file ``name`` in ``folder``: ``mode`` is one of ``ID_MODES``."""
    if mode == "none":
        return None
    return sanitize_external_image_id(name if mode == "file" else folder)


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def _local(target: Path, mode: str) -> Iterator[ImageSource]:
    files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
    for path in files:
        hidden = any(part.startswith(".") for part in path.relative_to(target).parts)
        if path == target or (_is_image_name(path.name) and not hidden):
            yield ImageSource(
                label=str(path),
                external_image_id=external_image_id(path.name, path.resolve().parent.name, mode),
                path=path,
            )


def _s3(url: str, mode: str, s3: Any) -> Iterator[ImageSource]:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = PurePosixPath(item["Key"])
            if _is_image_name(key.name):
                yield ImageSource(
                    label=f"s3://{bucket}/{item['Key']}",
                    external_image_id=external_image_id(key.name, key.parent.name or bucket, mode),
                    bucket=bucket,
                    key=item["Key"],
                    etag=item.get("ETag", "").strip('"'),
                    size=item.get("Size"),
                )


def collect(targets: Sequence[str], mode: str, s3_factory: Any) -> list[ImageSource]:
    """Every image under ``targets`` (paths and ``s3://`` URLs), in order, each once.

    ``s3_factory()`` makes the S3 client, only when an ``s3://`` target is given. Raises
    ``FileNotFoundError`` for a local target that does not exist, ``ValueError`` for one that is
    neither a regular file nor a folder and for an ``s3://`` URL without a bucket; S3 errors are
    botocore's.
    """
    found: dict[str, ImageSource] = {}
    s3 = None
    for target in targets:
        if target.startswith("s3://"):
            if not target.removeprefix("s3://").partition("/")[0]:
                raise ValueError(f"{target}: an s3:// URL needs a bucket")
            s3 = s3 or s3_factory()
            sources: Iterator[ImageSource] = _s3(target, mode, s3)
        else:
            path = Path(target)
            if not path.exists():
                raise FileNotFoundError(f"{printable(target)}: no such file or folder")
            if not (path.is_file() or path.is_dir()):
                raise ValueError(f"{printable(target)}: not a regular file or a folder")
            sources = _local(path, mode)
        for source in sources:
            found.setdefault(source.label, source)
    return list(found.values())

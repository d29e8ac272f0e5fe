"""UploadVideoPart (``rekollect-extensions``, not in Rekognition): a video sent in parts into the local object folder.

Rekognition reads stored videos from S3 only; a browser has no S3 of its own to put one in. With
no ``--s3-endpoint-url`` the server's objects are files under its local root (``<root>/<bucket>/<name>``,
``core/objects.py``), so the console uploads a video there in parts of at most ``MAX_PART_BYTES``
(each request stays under the 16 MiB body limit once base64-encoded) and then starts a job on it.

Parts are written in order into ``<root>/<bucket>/<name>.upload``: a part's ``Offset`` must be the
size of what was received before it, or less (a part sent again is written over what followed it,
so a retried request is harmless); a larger one is an ``InvalidParameterException`` giving the size
received. The part with ``Last`` is flushed to disk and renamed to the object's own name, replacing
any object of that name. More than 10 GB (``MAX_VIDEO_BYTES``, Rekognition's stored-video limit) is
a ``VideoTooLargeException``. The object's name follows the local root's rules (nothing outside the
bucket's folder; ``LocalObjectSource.writable_path``). Two uploads of one name at once interleave:
the last part written wins.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.objects import LocalObjectSource
from ..errors import InvalidParameterException, VideoTooLargeException
from ..storage.full import reporting_full
from ..video.decode import MAX_VIDEO_BYTES

MAX_PART_BYTES = 8 * 1024 * 1024
"""Most bytes in one part."""
PARTIAL_SUFFIX = ".upload"


def upload_video_part(root: LocalObjectSource | None, request: dict[str, Any]) -> dict[str, Any]:
    """Write one part (see the module docstring); ``InvalidParameterException`` when the server reads
    objects from an S3 endpoint (``root`` is ``None``), for a part too large or out of order."""
    if root is None:
        raise InvalidParameterException(
            "This server reads objects from an S3 endpoint (--s3-endpoint-url): upload the video there"
        )
    bucket, name, offset, data = request["Bucket"], request["Name"], request["Offset"], request["Data"]
    if len(data) > MAX_PART_BYTES:
        raise InvalidParameterException(f"A part holds at most {MAX_PART_BYTES} bytes, not {len(data)}")
    if offset + len(data) > MAX_VIDEO_BYTES:
        raise VideoTooLargeException(f"The video would exceed the maximum of {MAX_VIDEO_BYTES} bytes")
    target = root.writable_path(bucket, name)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    with reporting_full():
        target.parent.mkdir(parents=True, exist_ok=True)
        size = _write_part(partial, offset, data)
        if request.get("Last"):
            partial.replace(target)
    return {"Bucket": bucket, "Name": name, "Size": size, "Complete": bool(request.get("Last"))}


def _write_part(partial: Path, offset: int, data: bytes) -> int:
    """Write ``data`` at ``offset`` of ``partial`` (cut there first) and flush it to disk; the new size."""
    descriptor = os.open(partial, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        received = os.fstat(descriptor).st_size
        if offset > received:
            raise InvalidParameterException(f"Offset {offset} is past the {received} bytes received so far")
        os.ftruncate(descriptor, offset)
        written = 0
        while written < len(data):
            written += os.pwrite(descriptor, memoryview(data)[written:], offset + written)
        os.fsync(descriptor)
        return offset + len(data)
    finally:
        os.close(descriptor)

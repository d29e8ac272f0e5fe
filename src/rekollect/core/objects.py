"""Where ``Image.S3Object`` and ``Video.S3Object`` are read from, and Face Liveness images written to.

``S3ObjectSource`` reads through boto3 from any S3-compatible endpoint; ``LocalObjectSource`` is
the embedded default, where a bucket is a sub-folder of one root folder and nothing outside that
root can be reached. Both raise ``InvalidS3ObjectException`` for a missing or unreadable object, and
for a name no object can have there (AWS's answer for an object it cannot get), and
``ImageTooLargeException`` (or the error the caller passes) above the size limit, before reading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ImageTooLargeException, InvalidParameterException, InvalidS3ObjectException, RekognitionError


class ObjectSource(Protocol):
    """Reads one object's bytes."""

    def read(
        self,
        bucket: str,
        name: str,
        version: str | None,
        max_bytes: int,
        too_large: type[RekognitionError] = ImageTooLargeException,
    ) -> bytes:
        """Return the object's bytes; raise ``too_large`` past ``max_bytes``."""
        ...

    def write(self, bucket: str, name: str, data: bytes, content_type: str, kms_key_id: str | None = None) -> None:
        """Store ``data`` as ``bucket``/``name`` (encrypted with the KMS key when one is named);
        ``InvalidS3ObjectException`` when it cannot be written."""
        ...


class LocalObjectSource:
    """Objects at ``root/<bucket>/<name>``; versions are not kept, so ``Version`` must be absent."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def read(
        self,
        bucket: str,
        name: str,
        version: str | None,
        max_bytes: int,
        too_large: type[RekognitionError] = ImageTooLargeException,
    ) -> bytes:
        path = self.path(bucket, name)
        if version is not None:
            raise InvalidS3ObjectException("Object versions are not kept in the local object folder")
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise too_large(f"S3 object size {size} bytes exceeds {max_bytes}")
            return path.read_bytes()
        except OSError:
            raise _unreadable(bucket, name) from None

    def write(self, bucket: str, name: str, data: bytes, content_type: str, kms_key_id: str | None = None) -> None:
        """Write ``root/<bucket>/<name>`` (the bucket folder must exist); a KMS key cannot apply here
        (``InvalidS3ObjectException``)."""
        if kms_key_id is not None:
            raise InvalidS3ObjectException("KMS encryption needs an S3 endpoint (--s3-endpoint-url)")
        try:
            bucket_root = (self.root / bucket).resolve()
            target = (bucket_root / name).resolve()
            if bucket in ("", ".", "..") or bucket_root.parent != self.root or not bucket_root.is_dir():
                raise _unwritable(bucket, name)
            if not target.is_relative_to(bucket_root) or target == bucket_root:
                raise _unwritable(bucket, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except (OSError, ValueError) as error:
            raise _unwritable(bucket, name) from error

    def path(self, bucket: str, name: str) -> Path:
        """The file for ``bucket``/``name``; ``InvalidS3ObjectException`` if it would leave the root or
        no file can have that name here (a NUL byte, text that is not UTF-8, a component longer than
        the file system allows: ``ValueError``/``UnicodeError``/``OSError`` from the path calls)."""
        try:
            candidate = (self.root / bucket / name).resolve()
            bucket_root = (self.root / bucket).resolve()
            inside = bucket_root.parent == self.root and candidate.is_relative_to(bucket_root)
            if bucket in ("", ".", "..") or not inside or not candidate.is_file():
                raise _unreadable(bucket, name)
        except (OSError, ValueError) as error:  # UnicodeEncodeError is a ValueError
            raise _unreadable(bucket, name) from error
        return candidate

    def writable_path(self, bucket: str, name: str) -> Path:
        """Where the object ``bucket``/``name`` is written (``operations/uploads.py``): a file inside the
        bucket's folder of the root; ``InvalidParameterException`` for a name that would leave it or that
        no file can have here."""
        try:
            bucket_root = (self.root / bucket).resolve()
            candidate = (bucket_root / name).resolve()
            inside = bucket_root.parent == self.root and candidate.is_relative_to(bucket_root)
            if bucket in ("", ".", "..") or not inside or candidate == bucket_root or candidate.is_dir():
                raise InvalidParameterException(f"{bucket}/{name} cannot be an object of the local object folder")
        except (OSError, ValueError) as error:
            raise InvalidParameterException(f"{bucket}/{name} cannot be an object of the local object folder") from error
        return candidate


class S3ObjectSource:
    """Objects from an S3-compatible server through boto3 (credentials from the usual boto3 chain)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
        )

    def read(
        self,
        bucket: str,
        name: str,
        version: str | None,
        max_bytes: int,
        too_large: type[RekognitionError] = ImageTooLargeException,
    ) -> bytes:
        extra = {"VersionId": version} if version else {}
        try:
            response = self._client.get_object(Bucket=bucket, Key=name, **extra)
            size = int(response.get("ContentLength", 0))
            if size > max_bytes:
                response["Body"].close()
                raise too_large(f"S3 object size {size} bytes exceeds {max_bytes}")
            return response["Body"].read(max_bytes + 1)[: max_bytes + 1]
        except (ClientError, BotoCoreError) as error:
            raise InvalidS3ObjectException(f"Unable to get object metadata from S3: {error}") from None
        except UnicodeError:  # botocore encodes the key into the URL: text that is not UTF-8 names no object
            raise _unreadable(bucket, name) from None

    def write(self, bucket: str, name: str, data: bytes, content_type: str, kms_key_id: str | None = None) -> None:
        """``PutObject``, with ``SSE-KMS`` under ``kms_key_id`` when given."""
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
        try:
            self._client.put_object(Bucket=bucket, Key=name, Body=data, ContentType=content_type, **extra)
        except (ClientError, BotoCoreError, UnicodeError):
            raise _unwritable(bucket, name) from None


def _unwritable(bucket: str, name: str) -> InvalidS3ObjectException:
    shown = f"{bucket}/{name}"[:300].encode("utf-8", "backslashreplace").decode("utf-8")
    return InvalidS3ObjectException(f"Unable to write the object to S3: {shown}")


def _unreadable(bucket: str, name: str) -> InvalidS3ObjectException:
    shown = f"{bucket}/{name}"[:300].encode("utf-8", "backslashreplace").decode("utf-8")
    return InvalidS3ObjectException(f"Unable to get object metadata from S3: {shown}")

"""The collection backup file: a zip of ``manifest.json`` and JSON Lines members (docs/backup-format.md).

Format version 2 adds ``crops.jsonl`` (the faces' pictures, kept with ``--face-crops``); files of
version 1, without it, are read as before.

``write_archive`` streams each member's records into the zip, hashing what it writes, and puts the
SHA-256 and record count of every member into ``manifest.json``; the file appears under its name
only when complete (written as ``<name>.part``, then renamed). ``Archive`` opens one, checks the
format and every member's SHA-256 and count before anything is read from it, and then streams the
records. Vectors are base64 of little-endian float32 values, so they round-trip bit for bit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "rekollect-collection-backup"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
CROPS = "crops.jsonl"
MEMBERS = ("images.jsonl", "users.jsonl", "faces.jsonl", CROPS)
"""The record members, in the order they are written and imported."""
MEMBERS_OF_VERSION = {1: MEMBERS[:3], FORMAT_VERSION: MEMBERS}
"""The record members of each format version this release reads (version 1 had no face pictures)."""

_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup that cannot be written or a file that cannot be imported; the message says why."""


def encode_vector(vector: np.ndarray) -> str:
    """Base64 of the vector as little-endian float32 values."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: Any, what: str) -> np.ndarray:
    """The ``(d,)`` float32 vector ``encode_vector`` wrote; ``BackupError`` naming ``what`` if malformed."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise BackupError(f"{what}: not base64") from None
    if len(data) % 4:
        raise BackupError(f"{what}: {len(data)} bytes is not a whole number of float32 values")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def write_archive(path: Path, manifest: dict[str, Any], members: dict[str, Iterable[dict[str, Any]]]) -> dict[str, Any]:
    """Write ``members`` (name → records, consumed in ``MEMBERS`` order) and ``manifest`` (plus
    ``Format``, ``FormatVersion`` and ``Files``: each member's ``SHA256`` and ``Records``) to ``path``.

    Returns the manifest written. ``OSError`` if the file cannot be written (nothing is left at ``path``).
    """
    part = path.with_name(path.name + ".part")
    files: dict[str, dict[str, Any]] = {}
    try:
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in MEMBERS:
                digest, count = hashlib.sha256(), 0
                with archive.open(name, "w", force_zip64=True) as member:
                    for record in members[name]:
                        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
                        digest.update(line)
                        member.write(line)
                        count += 1
                files[name] = {"SHA256": digest.hexdigest(), "Records": count}
            written = {"Format": FORMAT, "FormatVersion": FORMAT_VERSION, **manifest, "Files": files}
            archive.writestr(MANIFEST, json.dumps(written, indent=2, ensure_ascii=False) + "\n")
        with open(part, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return written


class Archive:
    """A backup file opened for import, its format and checksums verified.

    ``BackupError`` (with the reason) if it is not a zip, lacks a member, is of another format or
    a newer format version, or a member's SHA-256 or record count differs from the manifest's.
    """

    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as error:
            raise BackupError(f"{path} is not a readable backup file: {error}") from None
        self.manifest = self._manifest(path)
        self._verify()

    def close(self) -> None:
        """Close the file."""
        self._zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def records(self, name: str) -> Iterator[dict[str, Any]]:
        """The records of member ``name`` (one of ``MEMBERS``), in file order; none for a member its
        format version does not have."""
        if name not in self.members:
            return
        with self._zip.open(name) as member:
            for number, line in enumerate(io.TextIOWrapper(member, encoding="utf-8"), start=1):
                try:
                    record = json.loads(line)
                except ValueError:
                    raise BackupError(f"{name} line {number}: not JSON") from None
                if not isinstance(record, dict):
                    raise BackupError(f"{name} line {number}: not a JSON object")
                yield record

    def _manifest(self, path: Path) -> dict[str, Any]:
        try:
            manifest = json.loads(self._read(MANIFEST))
        except ValueError:
            raise BackupError(f"{path}: {MANIFEST} is not JSON") from None
        if not isinstance(manifest, dict) or manifest.get("Format") != FORMAT:
            raise BackupError(f"{path} is not a Rekollect collection backup (no {FORMAT} manifest)")
        version = manifest.get("FormatVersion")
        if version not in MEMBERS_OF_VERSION:
            readable = " and ".join(str(number) for number in MEMBERS_OF_VERSION)
            raise BackupError(f"{path} is in backup format version {version}; this release reads {readable}")
        return manifest

    @property
    def members(self) -> tuple[str, ...]:
        """The record members of this file's format version."""
        return MEMBERS_OF_VERSION[self.manifest["FormatVersion"]]

    def _read(self, name: str) -> bytes:
        try:
            return self._zip.read(name)
        except KeyError:
            raise BackupError(f"the backup file has no {name}") from None
        except (OSError, zipfile.BadZipFile) as error:  # CRC mismatch, truncated file
            raise BackupError(f"{name} in the backup file cannot be read: {error}") from None

    def _verify(self) -> None:
        files = self.manifest.get("Files")
        if not isinstance(files, dict) or set(files) != set(self.members):
            raise BackupError(f"the manifest must list exactly {', '.join(self.members)} under Files")
        for name in self.members:
            digest, count = hashlib.sha256(), 0
            try:
                with self._zip.open(name) as member:
                    while chunk := member.read(_CHUNK):
                        digest.update(chunk)
                        count += chunk.count(b"\n")
            except KeyError:
                raise BackupError(f"the backup file has no {name}") from None
            except (OSError, zipfile.BadZipFile) as error:
                raise BackupError(f"{name} in the backup file cannot be read: {error}") from None
            expected = files[name]
            if not isinstance(expected, dict) or digest.hexdigest() != expected.get("SHA256"):
                raise BackupError(
                    f"{name} does not match its SHA-256 in the manifest: the file is damaged or was altered"
                )
            if count != expected.get("Records"):
                raise BackupError(f"{name} holds {count} records, the manifest says {expected.get('Records')}")

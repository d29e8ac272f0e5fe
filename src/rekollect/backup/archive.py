"""The collection backup file: a zip of ``manifest.json`` and JSON Lines members (docs/backup-format.md).

Format version 2 adds ``crops.jsonl`` (the faces' pictures, kept with ``--face-crops``); files of
version 1, without it, are read as before.

``write_archive`` streams each member's records into the zip, hashing what it writes, and puts the
SHA-256 and record count of every member into ``manifest.json``; the file appears under its name
only when complete (written as ``<name>.part``, then renamed). Vectors are base64 of little-endian
float32 values, so they round-trip bit for bit.

``Archive`` opens a file for import and reads it in bounded memory whatever the file holds
(limits in docs/backup-format.md, "Limits"): the zip's central directory is checked from its end
record before ``zipfile`` reads it (exactly the members of the file's format version, each once,
stored or DEFLATE, not encrypted); ``manifest.json`` is read up to ``MANIFEST_BYTES``; a record member is streamed in
chunks and split on ``\\n`` only, each line at most the length a record of the collection's face
model can have, no more lines than the manifest says. A member's SHA-256 and record count are
checked when it has been read to its end, so its records are only to be trusted (stored) once
``records`` has finished. Every refusal, a zip or decoding error included, is a ``BackupError``
whose one-line message names the member and the line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

FORMAT = "rekollect-collection-backup"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
CROPS = "crops.jsonl"
MEMBERS = ("images.jsonl", "users.jsonl", "faces.jsonl", CROPS)
"""The record members, in the order they are written and imported."""
MEMBERS_OF_VERSION = {1: MEMBERS[:3], FORMAT_VERSION: MEMBERS}
"""The record members of each format version this release reads (version 1 had no face pictures)."""

MAX_RECORDS = 20_000_000
"""Most records a member may hold: AWS's quota of faces in one collection (20 million), which
also bounds its images and, here, its users."""

MANIFEST_BYTES = 1 << 20
"""Most bytes of ``manifest.json``: 200 tags (the API's ``TagMap`` limit) of a 128-character key
and a 256-character value, every character a 6-byte JSON escape, is 0.46 MiB; the rest is small."""

LINE_BYTES = 4096
"""Most bytes of a record line besides its vector: ids, an ``ExternalImageId`` (255 characters)
and a ``UserId`` (128), even written as 6-byte JSON escapes, a box and a confidence fit in 3 KiB."""

CENTRAL_DIRECTORY_BYTES = 1 << 16
"""Most bytes of the zip's central directory (five entries take a few hundred)."""

_CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


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


def vector_line_bytes(size: int) -> int:
    """Most bytes of a record line holding one base64 vector of ``size`` float32 values."""
    return LINE_BYTES + 4 * -(-4 * size // 3)


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
    """A backup file opened for import: its zip structure and manifest checked (see the module docstring).

    ``BackupError`` (with the reason) if it is not a zip of exactly the members of its format version
    (``MEMBERS_OF_VERSION``, and ``manifest.json``), a member is
    encrypted or compressed otherwise than stored or DEFLATE, or the manifest is over
    ``MANIFEST_BYTES``, not JSON, of another format or version, or lacks what the format requires
    (a ``Collection`` with a ``CollectionId``; ``Files`` with each member's ``SHA256`` and ``Records``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = _open_zip(path)
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
            raise BackupError(f"{path} is not a readable backup file: {_one_line(error)}") from None
        try:
            self._check_entries()
            self.manifest = self._manifest()
            self._check_members()
        except BaseException:
            self._zip.close()
            raise

    def close(self) -> None:
        """Close the file."""
        self._zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def members(self) -> tuple[str, ...]:
        """The record members of this file's format version."""
        return MEMBERS_OF_VERSION[self.manifest["FormatVersion"]]

    def records(self, name: str, max_line: int) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(line number, record)`` of member ``name`` (one of ``MEMBERS``; none for a member its
        format version does not have), in file order, each line at most ``max_line`` bytes; after
        the last, ``BackupError`` unless the member's SHA-256 and record count are the manifest's."""
        if name not in self.members:
            return
        expected = self.manifest["Files"][name]
        digest, number = hashlib.sha256(), 0
        try:
            with self._zip.open(name) as member:
                for line in _lines(member, max_line, digest, name):
                    number += 1
                    if number > expected["Records"]:
                        raise BackupError(f"{name} holds more than the {expected['Records']} records the manifest says")
                    yield number, _record(line, name, number)
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
            raise BackupError(f"{name} line {number + 1}: the member cannot be read: {_one_line(error)}") from None
        if digest.hexdigest() != expected["SHA256"]:
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: the file is damaged or was altered")
        if number != expected["Records"]:
            raise BackupError(f"{name} holds {number} records, the manifest says {expected['Records']}")

    def damaged(self, name: str) -> bool:
        """Whether member ``name`` differs from its SHA-256 in the manifest (read again in chunks; a
        member that cannot be read counts as damaged). A refusal found while reading a member is
        reported as damage when it is: what was read is then not what was written."""
        digest = hashlib.sha256()
        try:
            with self._zip.open(name) as member:
                while chunk := member.read(_CHUNK):
                    digest.update(chunk)
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError):
            return True
        return digest.hexdigest() != self.manifest["Files"][name]["SHA256"]

    def _check_entries(self) -> None:
        """Every entry a member of some version, once, stored or DEFLATE, not encrypted."""
        infos = self._zip.infolist()
        names = [info.filename for info in infos]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise BackupError(f"the backup file holds {', '.join(map(repr, duplicated))} more than once")
        unknown = sorted(set(names) - {MANIFEST, *MEMBERS})
        if unknown or MANIFEST not in names:
            raise BackupError(
                f"the backup file must hold {MANIFEST} and its record members only; it holds"
                f" {', '.join(map(repr, names[:8]))}"
            )
        for info in infos:
            if info.flag_bits & 0x1:
                raise BackupError(f"{info.filename} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise BackupError(f"{info.filename} is compressed with method {info.compress_type}, not DEFLATE")

    def _check_members(self) -> None:
        """Exactly the members of the manifest's format version."""
        names = sorted(info.filename for info in self._zip.infolist())
        expected = sorted([MANIFEST, *self.members])
        if names != expected:
            raise BackupError(
                f"a backup file of format version {self.manifest['FormatVersion']} holds exactly"
                f" {', '.join(expected)}; this one holds {', '.join(names)}"
            )

    def _manifest(self) -> dict[str, Any]:
        try:
            with self._zip.open(MANIFEST) as member:
                data = member.read(MANIFEST_BYTES + 1)
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
            raise BackupError(f"{MANIFEST} in the backup file cannot be read: {_one_line(error)}") from None
        if len(data) > MANIFEST_BYTES:
            raise BackupError(f"{MANIFEST} is larger than {MANIFEST_BYTES} bytes")
        manifest = _record(data, MANIFEST, 1, whole=True)
        if manifest.get("Format") != FORMAT:
            raise BackupError(f"{self.path} is not a Rekollect collection backup (no {FORMAT} manifest)")
        version = manifest.get("FormatVersion")
        if isinstance(version, bool) or version not in MEMBERS_OF_VERSION:
            readable = " and ".join(str(number) for number in MEMBERS_OF_VERSION)
            raise BackupError(f"{self.path} is in backup format version {version!r}; this release reads {readable}")
        members = MEMBERS_OF_VERSION[version]
        collection = manifest.get("Collection")
        if not isinstance(collection, dict) or not isinstance(collection.get("CollectionId"), str):
            raise BackupError(f"{MANIFEST}: the Collection record needs a CollectionId (a string)")
        files = manifest.get("Files")
        if not isinstance(files, dict) or sorted(files) != sorted(members):
            raise BackupError(f"{MANIFEST}: Files must list exactly {', '.join(members)}")
        for name, entry in files.items():
            records = entry.get("Records") if isinstance(entry, dict) else None
            digest = entry.get("SHA256") if isinstance(entry, dict) else None
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise BackupError(f"{MANIFEST}: Files.{name}.SHA256 must be 64 lowercase hex digits")
            if isinstance(records, bool) or not isinstance(records, int) or not 0 <= records <= MAX_RECORDS:
                raise BackupError(f"{MANIFEST}: Files.{name}.Records must be a whole number from 0 to {MAX_RECORDS}")
        return manifest


def _open_zip(path: Path) -> zipfile.ZipFile:
    """``ZipFile(path)`` once its end record says it has the entries of a format version (4 or 5)
    in a central directory of at most
    ``CENTRAL_DIRECTORY_BYTES`` (``zipfile`` reads the whole directory into memory). The end
    record is read by ``zipfile._EndRecData``, the very function ``ZipFile`` reads it with, so both
    see the same record."""
    with open(path, "rb") as handle:
        end = zipfile._EndRecData(handle)
        if end is None:
            raise zipfile.BadZipFile("no zip end-of-central-directory record")
        entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
        counts = sorted({1 + len(members) for members in MEMBERS_OF_VERSION.values()})
        if entries not in counts or size > CENTRAL_DIRECTORY_BYTES:
            raise ValueError(
                f"the zip lists {entries} entries in {size} bytes; a backup file lists {' or '.join(map(str, counts))}"
            )
    return zipfile.ZipFile(path)


def _lines(member: BinaryIO, max_line: int, digest: Any, name: str) -> Iterator[bytes]:
    """The ``\\n``-terminated lines of ``member`` (read in chunks, hashed into ``digest``), each at
    most ``max_line`` bytes; ``BackupError`` for a longer one or a last line without ``\\n``."""
    pending, number = b"", 0
    while chunk := member.read(_CHUNK):
        digest.update(chunk)
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            number += 1
            if end + 1 - start > max_line:
                raise BackupError(f"{name} line {number}: longer than {max_line} bytes")
            yield pending[start : end + 1]
            start = end + 1
        pending = pending[start:]
        if len(pending) > max_line:
            raise BackupError(f"{name} line {number + 1}: longer than {max_line} bytes")
    if pending:
        raise BackupError(f"{name} line {number + 1}: the last line does not end with a newline")


def _record(line: bytes, name: str, number: int, *, whole: bool = False) -> dict[str, Any]:
    """The JSON object on ``line`` (UTF-8, strict JSON: no NaN or Infinity); ``BackupError`` otherwise."""
    where = name if whole else f"{name} line {number}"
    try:
        record = json.loads(line.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise BackupError(f"{where}: not UTF-8") from None
    except RecursionError:
        raise BackupError(f"{where}: JSON nested too deeply") from None
    except ValueError as error:
        raise BackupError(f"{where}: not JSON ({_one_line(error)})") from None
    if not isinstance(record, dict):
        raise BackupError(f"{where}: not a JSON object")
    return record


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(error: BaseException) -> str:
    """An exception's text on one line (its type when it has none)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__

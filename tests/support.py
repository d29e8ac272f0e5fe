"""Test helpers: the shared face data set, a real server process on a loopback port, and earlier releases' source."""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
FACES = Path(os.environ.get("REKOLLECT_FACES_DIR", REPO.parent / "shared" / "data" / "faces"))


@dataclass(frozen=True)
class ManifestRow:
    """One line of ``MANIFEST.tsv``."""

    path: str
    kind: str
    identity: str
    n_faces_expected: int | None
    notes: str

    @property
    def file(self) -> Path:
        return FACES / self.path

    @property
    def is_edge_case(self) -> bool:
        return self.notes.startswith("EDGE:")

    @property
    def is_jpeg_or_png(self) -> bool:
        return self.file.read_bytes().startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))


def manifest() -> list[ManifestRow]:
    """Every row of the shared data set's manifest."""
    with open(FACES / "MANIFEST.tsv", newline="") as handle:
        return [
            ManifestRow(
                path=row["path"],
                kind=row["kind"],
                identity=row["identity"],
                n_faces_expected=int(row["n_faces_expected"]) if row["n_faces_expected"] else None,
                notes=row["notes"],
            )
            for row in csv.DictReader(handle, delimiter="\t")
        ]


def missing(what: str, required_by: str) -> None:
    """Skip the test for lack of ``what`` (a message saying how to install it), or fail it when the
    environment variable ``required_by`` is ``1`` (``.ci/run`` sets it: CI must run every test)."""
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{what} ({required_by}=1)")
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``rekollect serve`` in a child process, on a free loopback port."""

    def __init__(self, data_dir: Path, *extra_args: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.env = env or {}
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        scheme = "https" if "--tls-certificate" in self.extra_args else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            "rekollect",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.extra_args], stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                urllib.request.urlopen(self.url, data=b"{}", timeout=1, context=ssl._create_unverified_context())
            except urllib.error.HTTPError:
                return self  # it answered (with an AWS error, as it should without a target)
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def client(self, service: str = "rekognition"):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            config=Config(retries={"max_attempts": 1}, read_timeout=120),
        )


class MotoServer:
    """moto's AWS mock server (S3, SNS, SQS...) on a free loopback port: a real S3-compatible endpoint."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", self.host, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def release_source(commit: str, root: Path) -> Path:
    """The ``src`` folder of ``commit``, taken from this repository's history, under ``root``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "src"], capture_output=True, check=False)
    assert archive.returncode == 0, (
        f"commit {commit} is not in this clone ({archive.stderr.decode().strip()}): clone with history"
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(root, filter="data")
    return root / "src"


def image_bytes(relative: str) -> bytes:
    """Bytes of a file in the shared data set."""
    return (FACES / relative).read_bytes()


_MEASURED = """
import os, sys
from rekollect.cli import main
try:
    main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status, open(os.environ["REKOLLECT_TEST_PEAK_FILE"], "w") as peak:
        peak.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
"""
"""``rekollect ARGS`` that writes its peak resident memory (``VmHWM``, KiB) to a file when it ends."""


def run_measured(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[int, str, str, int]:
    """``rekollect ARGS`` in a child process: exit status, stdout, stderr and peak RSS in bytes.

    The peak is the child's own (``VmHWM`` of ``/proc/self/status``, read as it ends): the
    ``ru_maxrss`` that ``wait4`` reports also counts the memory of the parent the child was forked
    from (a test process holding a gigabyte), so it cannot bound a child's memory."""
    peak_file = tmp_path / f"peak-{os.getpid()}-{time.monotonic_ns()}"
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(env or os.environ), "REKOLLECT_TEST_PEAK_FILE": str(peak_file)},
    )
    return completed.returncode, completed.stdout, completed.stderr, int(peak_file.read_text()) * 1024


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (the ``cryptography`` package), as the
    README's Face Liveness section shows; returns the certificate and key files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file

"""Shared fixtures: one real server for the session, boto3 clients, fresh collection names."""

from __future__ import annotations

import contextlib
import itertools
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import FACES, ServerProcess

_names = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    if not (FACES / "MANIFEST.tsv").is_file():
        raise pytest.UsageError(f"the shared face data set is missing at {FACES} (set REKOLLECT_FACES_DIR)")
    # Tests interrupt the tools with SIGINT, as Ctrl-C in a terminal does. A shell that starts the suite in
    # the background without job control (`nohup pytest &` in a script) sets SIGINT to ignored, every child
    # inherits that, and Python then installs no KeyboardInterrupt handler: the tools could not be
    # interrupted. Give the suite, and so every program it starts, the interactive default.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("server")
    process = ServerProcess(root / "data", "--s3-local-root", str(root / "buckets")).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def rekognition(server: ServerProcess):
    return server.client()


@pytest.fixture(scope="session")
def buckets(server: ServerProcess) -> Path:
    """The local object root: ``<root>/<bucket>/<key>`` is ``S3Object {Bucket, Name}``."""
    return server.data_dir.parent / "buckets"


@pytest.fixture
def collection(rekognition) -> Iterator[str]:
    """A new, empty collection, deleted afterwards."""
    name = f"test-{next(_names)}"
    rekognition.create_collection(CollectionId=name)
    yield name
    with contextlib.suppress(rekognition.exceptions.ResourceNotFoundException):
        rekognition.delete_collection(CollectionId=name)

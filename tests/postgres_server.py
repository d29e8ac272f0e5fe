"""A throw-away PostgreSQL server for tests: Debian's ``postgresql`` package, own user, free port.

PostgreSQL refuses to run as root, so as root the cluster is made and run as the ``postgres``
user (created by the Debian package) through ``runuser``; otherwise as the current user. The
cluster lives in a fresh temporary directory and listens on ``listen`` addresses (loopback by
default) on a free port; ``restart()`` and ``kill()`` are for fault tests.

``REKOLLECT_REQUIRE_CLUSTER=1`` (set by ``.ci/run``) makes a missing PostgreSQL a failure instead of a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from support import free_port, missing


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb``, or ``None``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    return Path(found[-1]).parent if found else None


def require_postgres() -> Path:
    """The PostgreSQL binaries, or skip (fail under ``REKOLLECT_REQUIRE_CLUSTER=1``)."""
    binaries = postgres_bin()
    if binaries is None:
        missing("PostgreSQL is not installed (Debian: apt-get install postgresql)", "REKOLLECT_REQUIRE_CLUSTER")
    return binaries


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory; ``url`` connects to its ``rekollect`` database."""

    def __init__(self, listen: tuple[str, ...] = ("127.0.0.1",)) -> None:
        self.binaries = require_postgres()
        self.listen = listen
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="rekollect-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self.process: subprocess.Popen[bytes] | None = None
        self._run(self.binaries / "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        hba = self.data / "pg_hba.conf"
        self._run("sh", "-c", f"echo 'host all all 0.0.0.0/0 trust' >> {hba}")
        self.start()
        with psycopg.connect(self.url_for("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE rekollect")

    def _run(self, *command: object) -> None:
        subprocess.run([*self.as_user, *map(str, command)], check=True, capture_output=True)

    def url_for(self, database: str, host: str = "127.0.0.1") -> str:
        return f"postgresql://postgres@{host}:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for("rekollect")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    *self.as_user,
                    str(self.binaries / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    f"listen_addresses={','.join(self.listen)}",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url_for("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.2)

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        """Stop the server: ``SIGINT`` is PostgreSQL's fast shutdown, ``SIGQUIT`` its immediate shutdown (every
        backend killed at once, recovery from the WAL at the next start, as after a crash)."""
        if self.process is None:
            return
        # The postmaster itself (runuser in between does not pass signals on).
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, sig)
        self.process.wait(timeout=60)
        self.process = None

    def restart(self) -> None:
        """Fast shutdown, then start again (every open connection is cut)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and remove its files."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

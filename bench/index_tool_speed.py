"""``rekollect index`` speed: images/s of the command itself, as the README states it.

Starts ``rekollect serve --workers 1`` on loopback with the default settings, then runs ``rekollect
index`` (a subprocess, as a user runs it) on the shared data set's ``deepface_person_02`` to
``_05`` folders (22 JPEGs of 330 to 4352 pixels, and a WebP named ``.jpg`` that fails as it should)
with ``--workers 1`` and ``--workers 4``, each ``RUNS`` times into a new collection with a new state
file, and prints the ``images_per_second`` of its ``--json`` summary (median and best of the runs),
then the README's sentence. Run it on an otherwise idle machine.

Usage: .venv/bin/python bench/index_tool_speed.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import FACES, ServerProcess

FOLDERS = [FACES / "people" / f"deepface_person_{number:02d}" for number in range(2, 6)]
WORKERS = (1, 4)
RUNS = 3


def run(server: ServerProcess, workers: int, collection: str, state: Path) -> dict:
    """One ``rekollect index --json`` run; its summary."""
    done = subprocess.run(
        [sys.executable, "-m", "rekollect", "index", *map(str, FOLDERS), "--collection-id", collection, "--create",
         "--workers", str(workers), "--state", str(state), "--json", "--no-progress", "--endpoint-url", server.url],
        capture_output=True, text=True, check=False, env={**os.environ, "AWS_ACCESS_KEY_ID": "local",
                                                         "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"},
    )  # fmt: skip
    if done.returncode not in (0, 1):  # 1: the WebP named .jpg failed, as it should
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        server = ServerProcess(Path(root) / "data").start()
        try:
            warm = FACES / "people" / "Lin-Manuel_Miranda" / "lin-manuel-miranda.png"
            server.client().detect_faces(Image={"Bytes": warm.read_bytes()})  # load the models
            rates = {}
            for workers in WORKERS:
                runs = [run(server, workers, f"bench-{workers}-{n}", Path(root) / f"state-{workers}-{n}") for n in range(RUNS)]
                summary = runs[-1]
                rates[workers] = statistics.median(result["images_per_second"] for result in runs)
                print(
                    f"--workers {workers}: {summary['indexed']} images indexed, {summary['failed']} failed,"
                    f" {summary['faces_indexed']} faces: {rates[workers]:.1f} images/s (median of {RUNS},"
                    f" best {max(result['images_per_second'] for result in runs):.1f}), {os.cpu_count()} cores"
                )
        finally:
            server.stop()
    print(
        f"README: indexed at {rates[1]:.1f} images/s with `--workers 1` and {rates[4]:.1f} with `--workers 4`,"
        " against `rekollect serve --workers 1`."
    )


if __name__ == "__main__":
    main()

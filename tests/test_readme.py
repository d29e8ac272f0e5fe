"""The README's examples run as a new user pastes them: in order, the shell blocks into one shell and
the Python blocks into one Python session, against a fresh server.

Only what a machine's layout makes different is replaced: the server's address (a free port here, not
8085), the sample photos' folder (``REKOLLECT_FACES_DIR``), activating the virtual environment (this
interpreter's), and the data directory ``rekollect paths`` and ``rekollect collection`` work on
(``REKOLLECT_DATA_DIR``: the test server's). The sections run are the walk-through's: Use it (with
Video), Command-line tools, Face clustering, Face pictures, Backup and restore.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import FACES, REPO, ServerProcess

SECTIONS = ("Use it", "Command-line tools", "Face clustering (extension)", "Face pictures (extension)", "Backup and restore")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
DONE = "__readme_block_done__"


def blocks() -> list[tuple[str, str, str]]:
    """``(section, language, code)`` of every fenced block of ``SECTIONS``, in README order; ``language``
    is ``python`` or ``""`` (a shell block)."""
    readme = (REPO / "README.md").read_text()
    found = []
    for section in re.split(r"^## ", readme, flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        if title in SECTIONS:
            found += [(title, language, code) for language, code in BLOCK.findall(section) if language in ("", "python")]
    return found


class Shell:
    """One bash session: each block runs in it, so exports and the working folder carry over."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=cwd, env=env,
        )  # fmt: skip

    def run(self, code: str) -> tuple[int, str]:
        """Run ``code``; the status of its last failing command (0 if none failed) and its output."""
        assert self.process.stdin is not None and self.process.stdout is not None
        # In this shell (so exports and `cd` carry over); the ERR trap keeps the status of any failing command.
        self.process.stdin.write(
            f"__failed=0; trap '__failed=$?' ERR\n{code}\ntrap - ERR; printf '\\n{DONE} %s\\n' $__failed\n"
        )
        self.process.stdin.flush()
        lines = []
        for line in self.process.stdout:
            if line.startswith(DONE):
                return int(line.split()[1]), "".join(lines)[:-1]  # without the newline printed before the mark
            lines.append(line)
        raise AssertionError("the shell ended:\n" + "".join(lines))

    def environment(self) -> dict[str, str]:
        """The shell's exported variables now."""
        status, output = self.run("env -0")
        assert status == 0
        return dict(item.split("=", 1) for item in output.split("\0") if "=" in item)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def local(code: str, url: str) -> str:
    """``code`` on this machine: the test server's address, this interpreter's virtual environment."""
    code = code.replace("http://127.0.0.1:8085", url)
    return code.replace(". .venv/bin/activate", f'export PATH="{Path(sys.executable).parent}:$PATH"')


def test_the_readme_examples_run_in_order(tmp_path, monkeypatch):
    found = blocks()
    assert {section for section, _, _ in found} == set(SECTIONS)
    server = ServerProcess(tmp_path / "data").start()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "REKOLLECT_"))}
    env |= {"HOME": str(tmp_path / "home"), "REKOLLECT_DATA_DIR": str(server.data_dir), "REKOLLECT_ENDPOINT_URL": server.url}
    (tmp_path / "work").mkdir()
    shell = Shell(tmp_path / "work", env)
    namespace: dict[str, object] = {"__name__": "__main__"}
    printed: list[str] = []  # what each Python block printed
    try:
        for number, (section, language, code) in enumerate(found, start=1):
            where = f"block {number} ({section}):\n{code}"
            code = local(code, server.url).replace("../shared/data/faces", str(FACES))
            if language == "python":
                for key, value in shell.environment().items():
                    monkeypatch.setenv(key, value)
                monkeypatch.chdir(tmp_path / "work")
                output = io.StringIO()
                with contextlib.redirect_stdout(output):
                    exec(compile(code, f"README block {number}", "exec"), namespace)
                printed.append(output.getvalue())
            else:
                status, output = shell.run(code)
                assert status == 0, f"{where}\nexited {status}:\n{output}"
    finally:
        shell.close()
        server.stop()
    first = printed[0]  # the match of the door camera's picture
    assert first.startswith("[('obama', ") and float(first.split(", ")[1].rstrip(")]\n")) >= 80


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_has_examples(section):
    assert any(found == section for found, _, _ in blocks())

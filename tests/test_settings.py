"""One declaration of the settings (``config.OPTIONS``) makes each command's flags, the server's
``Settings`` and the README's Configuration table; ``rekollect install`` and its old name."""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

from rekollect.config import (
    EXPORT,
    IMPORT,
    INSTALL,
    OPTIONS,
    SERVE,
    Settings,
    add_options,
    checked,
    models_dir,
    readme_table,
)


def test_the_readme_shows_the_table_of_settings():
    readme = (REPO / "README.md").read_text()
    shown = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", readme, re.S)
    assert shown is not None, "README.md has no settings table between its markers"
    assert shown.group(1) == readme_table(), f"regenerate it with `python -m rekollect.config`:\n{readme_table()}"


def test_settings_has_a_field_for_every_option_of_serve():
    fields = {field.name for field in dataclasses.fields(Settings)}
    assert fields == {option.name for option in OPTIONS if SERVE in option.commands}
    assert Settings().port == 8085 and Settings().data_dir.name == "rekollect"


def parsed(command: str, argv: list[str], environ: dict[str, str]) -> dict:
    parser = argparse.ArgumentParser()
    add_options(parser, command, environ)
    return checked(parser, parser.parse_args(argv), command)


@pytest.mark.parametrize("command", [SERVE, EXPORT, IMPORT, INSTALL])
def test_every_option_is_a_flag_or_a_variable_and_the_flag_wins(command):
    for option in OPTIONS:
        if command not in option.commands:
            continue
        assert option.flag or option.env, option.name
        text = {str: "x", int: "7", float: "2.5", Path: "/some/where"}.get(option.kind)
        if option.choices:
            text = option.choices[0]
        elif option.check is not None:
            text = {"database_url": "postgresql://db/x", "snapshot_url": "s3://b/p", "trusted_proxies": "10.0.0.0/8"}.get(
                option.name, text
            )
        if option.env:
            assert parsed(command, [], {option.env: text})[option.name] == option.kind(text)
        if option.flag and option.kind is not bool:
            other = option.choices[-1] if option.choices else text
            assert parsed(command, [option.flag, other], {option.env or "": text})[option.name] == option.kind(other)
        if option.flag and option.kind is bool:
            assert parsed(command, [option.flag], {})[option.name] is True
        if option.kind is bool and option.env:  # on/off words; --no-<flag> turns off what the variable turned on
            for text, value in (("1", True), ("ON", True), ("yes", True), ("0", False), ("off", False), ("No", False)):
                assert parsed(command, [], {option.env: text})[option.name] is value
            assert parsed(command, [f"--no-{option.flag[2:]}"], {option.env: "1"})[option.name] is False


def test_a_value_the_table_refuses_is_a_usage_error(capsys):
    for argv, environ, message in (
        (["--workers", "0"], {}, "--workers must be at least 1"),
        ([], {"REKOLLECT_JOB_LEASE": "-1"}, "--job-lease must be a positive number of seconds"),
        ([], {"REKOLLECT_PORT": "eighty"}, "REKOLLECT_PORT: 'eighty' is not a valid int"),
        ([], {"REKOLLECT_FACE_MODEL_VERSION": "9.9"}, "--face-model-version must be one of 1.0, 2.0"),
        ([], {"REKOLLECT_FACE_CROPS": "maybe"}, "REKOLLECT_FACE_CROPS: 'maybe' is not a valid on/off value"),
    ):
        with pytest.raises(SystemExit) as exit_:
            parsed(SERVE, argv, environ)
        assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_the_install_command_and_its_old_name():
    """Both run every step (the models are installed already, so nothing is downloaded) and say where."""
    for command in (["-m", "rekollect", "install"], ["-m", "rekollect.vision.attributes.install"]):
        run = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, run.stderr
        assert re.search(r"^\[(\d+)/\1\] done", run.stdout, re.M), run.stdout
        assert run.stdout.rstrip().endswith(f"models installed in {models_dir()}")

"""``rekollect`` command line: ``rekollect serve [options]``, ``rekollect install`` (the model files,
once at set-up: ``rekollect.install``), the API client tools ``rekollect index|search|compare|detect|paths``
(``rekollect.tools``) and ``rekollect cluster`` (``clustering.command``), and ``rekollect collection
export|import|upgrade`` (back up, restore or upgrade one collection: ``rekollect.backup.cli``).

``serve``'s options, their environment variables and defaults are the table ``config.OPTIONS``
(the README's Configuration section shows it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .config import SERVE, Settings, add_options, settings_from
from .tools import COMMANDS as TOOL_COMMANDS


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Parse ``serve`` arguments (with environment defaults) into ``Settings``."""
    parser = argparse.ArgumentParser(
        prog="rekollect",
        description="Amazon Rekognition-compatible face service",
        epilog=f"Set-up: install. Client tools: {', '.join(TOOL_COMMANDS)}, cluster; backups: collection"
        " export|import (rekollect COMMAND --help).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(SERVE, help="run the HTTP server")
    add_options(serve, SERVE)
    return settings_from(serve, parser.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``rekollect`` console script: ``install``, a client tool's command,
    ``cluster``, ``collection``, else ``serve``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["install"]:
        from .install import main as install

        install(arguments[1:])
        return
    if arguments and arguments[0] in TOOL_COMMANDS:
        from .tools.main import run

        raise SystemExit(run(arguments))
    if arguments[:1] == ["cluster"]:
        from .clustering.command import main as cluster

        cluster(arguments[1:])
        return
    if arguments[:1] == ["collection"]:
        from .backup.cli import main as collection_main

        collection_main(arguments[1:])
        return
    from .server import configure_logging, serve

    settings = parse_settings(arguments)
    configure_logging(settings.log_format)
    serve(settings)

"""``rekollect`` command line: ``rekollect serve [options]``, ``rekollect install`` (the model files,
once at set-up: ``rekollect.install``), the API client tools ``rekollect
index|search|compare|detect|cluster|paths`` (``rekollect.tools``), ``rekollect collection
export|import|upgrade`` (back up, restore or upgrade one collection: ``rekollect.backup.cli``) and
``rekollect keys create`` (a key pair in a credentials file: ``rekollect.security.keys``).
``rekollect --help`` lists them all (``COMMANDS``).

``serve``'s options, their environment variables and defaults are the table ``config.OPTIONS``
(the README's Configuration section shows it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .config import SERVE, Settings, add_options, settings_from
from .tools import COMMANDS as TOOL_COMMANDS

COMMANDS = {
    "install": "put the model files in place (once, at set-up)",
    SERVE: "run the HTTP server (the API, the web console, /health, /metrics)",
    "index": "index every JPEG/PNG under folders and s3:// prefixes into a collection",
    "search": "search a collection with each face of a photo",
    "compare": "compare the largest face of photo A with every face of photo B",
    "detect": "detect faces and their attributes, and draw them",
    "cluster": "group a collection's faces by person and accept groups as users",
    "paths": "print where the server keeps its data",
    "collection": "back up, restore or upgrade one collection: export, import, upgrade",
    "keys": "create a key pair in a credentials file: keys create",
}
"""Every ``rekollect`` command with what it does, as ``rekollect --help`` lists them."""


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Parse ``serve`` arguments (with environment defaults) into ``Settings``; ``rekollect --help``
    lists every command (each has its own ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="rekollect",
        description="Amazon Rekognition-compatible face service. `rekollect COMMAND --help` tells more of each.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        command = commands.add_parser(name, help=summary, add_help=name == SERVE)
        if name == SERVE:
            serve = command
    add_options(serve, SERVE)
    args = parser.parse_args(argv)
    if args.command != SERVE:  # only reached with arguments the other commands' own parsers did not see
        parser.error(f"run `rekollect {args.command} --help`")
    return settings_from(serve, args)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``rekollect`` console script: ``install``, a client tool's command,
    ``collection``, ``keys``, else ``serve`` (and ``--help``)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["install"]:
        from .install import main as install

        install(arguments[1:])
        return
    if arguments and arguments[0] in TOOL_COMMANDS:
        from .tools.main import run

        raise SystemExit(run(arguments))
    if arguments[:1] == ["keys"]:
        from .security.keys import main as keys

        raise SystemExit(keys(arguments[1:]))
    if arguments[:1] == ["collection"]:
        from .backup.cli import main as collection_main

        collection_main(arguments[1:])
        return
    from .server import configure_logging, serve

    settings = parse_settings(arguments)
    configure_logging(settings.log_format)
    serve(settings)

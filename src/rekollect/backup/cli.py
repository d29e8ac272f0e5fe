"""``rekollect collection export|import|upgrade``: back up one collection of a data directory, restore
one, or move one to a newer face model that reads its vectors as they are (``upgrade.py``).

All three run beside the data, on the SQLite store of ``--data-dir`` (same default and
``REKOLLECT_DATA_DIR`` as ``rekollect serve``) or, with ``--database-url`` (``REKOLLECT_DATABASE_URL``),
on the PostgreSQL database several nodes share, and are safe while servers run on it: an export
reads one consistent snapshot; an import checks the whole file, then writes it in short
transactions (``backup.transfer``); an upgrade is one transaction; the running server's index
follows them at its next search. ``--region`` and ``--account-id`` (``REKOLLECT_REGION``,
``REKOLLECT_ACCOUNT_ID``, same defaults as ``serve``) form the imported collection's ARN and must be
the target server's. A refused command exits with status 1 and says why on standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..config import EXPORT, IMPORT, STORE_FILE, UPGRADE, add_options, arn_prefix, checked
from ..startup import StartupRefused
from ..storage.postgres import PostgresStore
from ..storage.postgres_db import PostgresDatabase
from ..storage.sqlite import SqliteStore
from .archive import BackupError
from .transfer import export_collection, import_collection
from .upgrade import upgrade_collection


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rekollect collection", description="back up, restore or upgrade one collection"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a collection to a backup file")
    add_options(export, EXPORT)
    export.add_argument("--collection-id", required=True)
    export.add_argument("--output", type=Path, required=True, help="the backup file to write (replaced if it exists)")
    restore = commands.add_parser("import", help="restore a collection from a backup file")
    add_options(restore, IMPORT)
    restore.add_argument("--input", type=Path, required=True, help="the backup file to read")
    restore.add_argument("--collection-id", help="import under this id instead of the file's")
    restore.add_argument(
        "--new-face-ids", action="store_true", help="give the faces new FaceIds (for a copy in the store it came from)"
    )
    upgrade = commands.add_parser("upgrade", help="move a face model 2.0 collection to 2.1 without re-indexing")
    add_options(upgrade, UPGRADE)
    upgrade.add_argument("--collection-id", required=True)
    return parser


def main(argv: Sequence[str]) -> None:
    """Run ``rekollect collection <argv>``; ``SystemExit`` with the reason when refused."""
    parser = _parser()
    args = parser.parse_args(argv)
    checked(parser, args, f"collection {args.command}")
    store = _open_store(args)
    try:
        if args.command == "export":
            manifest = export_collection(store, args.collection_id, args.output)
            files = manifest["Files"]
            print(
                f"exported collection {args.collection_id} ({files['faces.jsonl']['Records']} faces,"
                f" {files['users.jsonl']['Records']} users) to {args.output}"
            )
        elif args.command == "upgrade":
            upgraded = upgrade_collection(store, args.collection_id)
            print(
                f"collection {upgraded.collection_id} moved from face model {upgraded.from_version} to"
                f" {upgraded.to_version} ({upgraded.users} user vectors made again)"
            )
        else:
            summary = import_collection(
                store,
                args.input,
                arn_prefix(args.region, args.account_id),
                collection_id=args.collection_id,
                new_face_ids=args.new_face_ids,
            )
            print(
                f"imported collection {summary.collection.collection_id} (face model"
                f" {summary.collection.face_model_version}: {summary.faces} faces, {summary.images} images,"
                f" {summary.users} users) into {'the database' if args.database_url else args.data_dir}"
            )
    except (BackupError, OSError) as error:
        print(f"rekollect collection {args.command}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        store.close()


def _open_store(args: argparse.Namespace) -> SqliteStore | PostgresStore:
    """The store of ``--database-url``, else of ``--data-dir``; ``SystemExit`` when there is none to export from."""
    if args.database_url:
        try:
            return PostgresStore(PostgresDatabase(args.database_url, max_connections=2))
        except StartupRefused as error:
            raise SystemExit(f"rekollect collection {args.command}: {error}") from None
    store_path = args.data_dir / STORE_FILE
    if args.command in ("export", "upgrade") and not store_path.is_file():
        raise SystemExit(f"rekollect collection {args.command}: no store at {store_path}")
    return SqliteStore(store_path)

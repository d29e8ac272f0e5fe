"""``rekollect keys create``: a new key pair, with its policy, added to a credentials file.

The file is the one ``rekollect serve --credentials-file`` reads (format: ``credentials.py`` and
docs/security.md). The access key id is ``AKRK`` and 16 characters of ``A-Z2-7`` (20 characters, the
shape of AWS's ids, with a prefix no AWS key has); the secret is 40 characters of base64url, 240
bits from ``secrets``. The policy is ``full`` (every action), ``read-only`` (the Describe, List,
Search, Detect, Compare and Get operations: nothing that writes) or the document of a policy file.
With ``--collection`` (repeatable), the preset's actions are allowed on those collections only
(their ARNs, in any region and account), and on the operations that name no collection
(``NO_COLLECTION_ACTIONS``: DetectFaces, CompareFaces, ListCollections, the video and clustering
jobs' Get*...), whose resource is ``*``. The new file is checked as the server will read it
(``load_credentials``), written whole to a temporary file beside it (mode 0600) and renamed over
it; a key id already in the file is refused. The server reads the file when it starts: restart it
to use the new key. The secret is printed once, on standard output.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .conditions import RequestContext
from .credentials import load_credentials
from .policy import Policy

READ_ONLY_ACTIONS = (
    "rekognition:Describe*",
    "rekognition:List*",
    "rekognition:Search*",
    "rekognition:Detect*",
    "rekognition:Compare*",
    "rekognition:Get*",
)
"""The actions of ``--policy read-only``: every operation that writes nothing."""

NO_COLLECTION_ACTIONS = (
    "rekognition:DetectFaces",
    "rekognition:CompareFaces",
    "rekognition:ListCollections",
    "rekognition:StartFaceDetection",
    "rekognition:GetFaceDetection",
    "rekognition:GetFaceSearch",
    "rekognition:GetFaceClustering",
    "rekognition:ListJobs",
    "rekognition:UploadVideoPart",
)
"""The operations this server serves that name no collection (their resource is ``*``; a test checks
the list against the served operations)."""


def new_access_key_id() -> str:
    """``AKRK`` and 16 random characters of base32 (``A-Z2-7``)."""
    return "AKRK" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def new_secret() -> str:
    """40 characters of base64url: 240 random bits."""
    return secrets.token_urlsafe(30)


def policy_document(preset: str, collections: Sequence[str]) -> dict[str, Any]:
    """The policy of ``--policy`` (``full``, ``read-only`` or a JSON file's path) and ``--collection``;
    ``ValueError`` (or ``OSError``) for a file that cannot be read or is not a policy."""
    if preset not in ("full", "read-only"):
        if collections:
            raise ValueError("--collection goes with --policy full or read-only, not with a policy file")
        document = json.loads(Path(preset).read_text())
        Policy.parse(document)
        return document
    actions = ["rekognition:*"] if preset == "full" else list(READ_ONLY_ACTIONS)
    if not collections:
        return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    policy = Policy.parse({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    anyone = RequestContext(None, False, dt.datetime.now(dt.UTC))  # the statement has no condition
    unscoped = [action for action in NO_COLLECTION_ACTIONS if policy.allows(action, "*", anyone)]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": actions,
                "Resource": [f"arn:aws:rekognition:*:*:collection/{collection}" for collection in collections],
            },
            {"Effect": "Allow", "Action": unscoped, "Resource": "*"},
        ],
    }


def add_key(path: Path, entry: dict[str, Any]) -> None:
    """Add ``entry`` to the credentials file ``path`` (created when missing); ``ValueError`` when the
    result is not a file the server would load, or the key id is taken."""
    document = json.loads(path.read_text()) if path.exists() else {"credentials": []}
    if not isinstance(document, dict) or not isinstance(document.get("credentials"), list):
        raise ValueError(f"{path}: expected {{'credentials': [...]}}")
    if any(isinstance(item, dict) and item.get("access_key_id") == entry["access_key_id"] for item in document["credentials"]):
        raise ValueError(f"{path} already has the access key id {entry['access_key_id']}")
    document["credentials"].append(entry)
    text = json.dumps(document, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        load_credentials(Path(scratch), {})  # the server's own reading: refuses what it would refuse
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str]) -> int:
    """``rekollect keys create``; returns the exit status (1 with the reason on standard error)."""
    parser = argparse.ArgumentParser(prog="rekollect keys", description="manage the keys of a credentials file")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="add a new key pair (printed once) to a credentials file")
    create.add_argument(
        "--credentials-file", type=Path, required=True, help="the file `rekollect serve --credentials-file` reads (created if missing)"
    )
    create.add_argument("--policy", default="full", help="full (default), read-only, or a policy file (JSON)")
    create.add_argument("--collection", action="append", default=[], help="limit the policy to this collection (repeatable)")
    create.add_argument("--requests-per-second", type=float, help="rate limit of the key (default: none)")
    create.add_argument("--access-key-id", help="the key id (default: a new random AKRK... id)")
    args = parser.parse_args(argv)
    key_id = args.access_key_id or new_access_key_id()
    secret = new_secret()
    try:
        entry: dict[str, Any] = {"access_key_id": key_id, "secret_access_key": secret}
        entry["policy"] = policy_document(args.policy, args.collection)
        if args.requests_per_second is not None:
            entry["requests_per_second"] = args.requests_per_second
        add_key(args.credentials_file, entry)
    except (OSError, ValueError) as error:
        print(f"rekollect keys create: {error}", file=sys.stderr)
        return 1
    print(f"access key id:     {key_id}\nsecret access key: {secret}")
    print(
        f"added to {args.credentials_file} (restart `rekollect serve --credentials-file {args.credentials_file}` to use it);"
        " the secret is shown only now"
    )
    return 0

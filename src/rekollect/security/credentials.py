"""Credentials the server accepts, from a JSON file and/or environment variables.

File (``--credentials-file``), JSON::

    {"credentials": [
        {"access_key_id": "AKIDADMIN", "secret_access_key": "...",
         "policy": {"Statement": [{"Effect": "Allow", "Action": "rekognition:*", "Resource": "*"}]},
         "requests_per_second": 50}
    ]}

``policy`` (IAM-style, with optional ``Condition`` blocks: see ``policy.py`` and ``conditions.py``)
defaults to every Rekognition action on every resource; ``requests_per_second`` (optional)
turns on a per-credential rate limit. ``REKOLLECT_ACCESS_KEY_ID`` and
``REKOLLECT_SECRET_ACCESS_KEY`` add one credential with full access. Secrets are never logged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .policy import Policy


@dataclass(frozen=True)
class Credential:
    """An access key with its secret, policy and optional rate limit (requests per second)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    policy: Policy
    requests_per_second: float | None = None


def load_credentials(path: Path | None, environ: Mapping[str, str]) -> dict[str, Credential]:
    """All configured credentials by access key id; ``ValueError`` for a malformed file, or a policy
    with anything the server would not evaluate."""
    credentials: dict[str, Credential] = {}
    if path is not None:
        document = json.loads(path.read_text())
        entries = document.get("credentials") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected {{'credentials': [...]}}")
        for number, entry in enumerate(entries, start=1):
            key, secret = entry.get("access_key_id"), entry.get("secret_access_key")
            if not isinstance(key, str) or not key or not isinstance(secret, str) or not secret:
                raise ValueError(f"{path}: credential {number} needs access_key_id and secret_access_key")
            rate = entry.get("requests_per_second")
            if rate is not None and (not isinstance(rate, (int, float)) or rate <= 0):
                raise ValueError(f"{path}: credential {number}: requests_per_second must be a positive number")
            try:
                policy = Policy.parse(entry["policy"]) if "policy" in entry else Policy.allow_all()
            except ValueError as error:
                raise ValueError(f"{path}: credential {number} ({key}): policy: {error}") from None
            credentials[key] = Credential(key, secret, policy, float(rate) if rate is not None else None)
    key, secret = environ.get("REKOLLECT_ACCESS_KEY_ID"), environ.get("REKOLLECT_SECRET_ACCESS_KEY")
    if key and secret:
        credentials[key] = Credential(key, secret, Policy.allow_all())
    return credentials

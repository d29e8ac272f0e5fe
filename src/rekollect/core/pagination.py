"""Opaque, tamper-evident pagination tokens.

A token is ``<cursor>.<mac>``: the store's cursor and an HMAC-SHA256 (truncated to 128 bits) of the
cursor and the listing it belongs to, keyed by a secret kept in the data directory. A token that
was altered, used for another listing, or is not of that form at all (any text can arrive in
``NextToken``) raises ``InvalidPaginationTokenException``.

The secret, ``<data-dir>/pagination.key``, is 32 random bytes created once: written to a temporary
file, fsynced, then hard-linked to its name, which fails if the name exists, so processes racing
on a fresh directory all end up with the first complete key and none sees a partial one. A key of
another length, or of one repeated byte (a file zeroed by a crash), refuses the start.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from ..errors import InvalidPaginationTokenException
from ..startup import StartupRefused

KEY_BYTES = 32

_TOKEN = re.compile(r"(?P<cursor>[0-9]{1,19})\.(?P<mac>[0-9a-f]{32})", re.ASCII)
"""What ``token`` makes: a decimal cursor (a 64-bit SQLite row id or offset at most) and the hex MAC.
Anything else (other digits, non-ASCII text that ``hmac.compare_digest`` refuses) is not ours."""


class TokenSigner:
    """Signs and checks cursors for one data directory."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> TokenSigner:
        """Use ``<data_dir>/pagination.key``, creating it on first use; ``StartupRefused`` if it is damaged."""
        path = data_dir / "pagination.key"
        if not path.exists():
            _create_key(path)
        secret = path.read_bytes()
        if len(secret) != KEY_BYTES or len(set(secret)) == 1:
            raise StartupRefused(
                f"{path} is damaged ({len(secret)} bytes; the key is {KEY_BYTES} random bytes). Delete it to start"
                " with a new key: NextTokens handed out before then will be refused as invalid."
            )
        return cls(secret)

    def _mac(self, cursor: int, listing: str) -> str:
        return hmac.new(self._secret, f"{listing}\n{cursor}".encode(), hashlib.sha256).hexdigest()[:32]

    def token(self, cursor: int | None, listing: str) -> str | None:
        """The NextToken for ``cursor`` in ``listing`` (``None`` at the end)."""
        return None if cursor is None else f"{cursor}.{self._mac(cursor, listing)}"

    def cursor(self, token: str | None, listing: str) -> int | None:
        """The cursor inside ``token``; ``InvalidPaginationTokenException`` if it is not ours."""
        if token is None:
            return None
        shape = _TOKEN.fullmatch(token)
        if shape is None or not hmac.compare_digest(shape["mac"], self._mac(int(shape["cursor"]), listing)):
            raise InvalidPaginationTokenException("Invalid pagination token")
        return int(shape["cursor"])



def _create_key(path: Path) -> None:
    """Create ``path`` with a new key unless another process got there first (never overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

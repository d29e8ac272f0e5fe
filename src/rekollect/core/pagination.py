"""Opaque, tamper-evident pagination tokens.

A token is ``<cursor>.<mac>``: the store's cursor and an HMAC-SHA256 (truncated to 128 bits) of the
cursor and the listing it belongs to, keyed by a secret kept in the data directory. A token that
was altered, used for another listing, or is not of that form at all (any text can arrive in
``NextToken``) raises ``InvalidPaginationTokenException``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

from ..errors import InvalidPaginationTokenException

_TOKEN = re.compile(r"(?P<cursor>[0-9]{1,19})\.(?P<mac>[0-9a-f]{32})", re.ASCII)
"""What ``token`` makes: a decimal cursor (a 64-bit SQLite row id or offset at most) and the hex MAC.
Anything else (other digits, non-ASCII text that ``hmac.compare_digest`` refuses) is not ours."""


class TokenSigner:
    """Signs and checks cursors for one data directory."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> TokenSigner:
        """Use ``<data_dir>/pagination.key``, creating it on first use."""
        path = data_dir / "pagination.key"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(secrets.token_bytes(32))
            path.chmod(0o600)
        return cls(path.read_bytes())

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

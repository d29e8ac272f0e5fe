"""Refusing request text that is not a sequence of Unicode scalar values.

JSON lets a string spell a lone UTF-16 surrogate (``"\\ud800"``); Python decodes it into a ``str``
that cannot be encoded to UTF-8, so it would fail deep inside the service (SQLite, HMAC, file
names, S3 keys). AWS defines string members as Unicode text, and Rekognition answers invalid
member values with ``InvalidParameterException``; so does ``check_scalar_values``, for every
string and map key anywhere in the body, before the body is validated against the model.

NUL and other control characters are valid scalar values: members whose pattern forbids them are
refused by validation, and the code that turns the others into file names refuses them there.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidParameterException

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_scalar_values(body: Any) -> None:
    """Raise ``InvalidParameterException`` naming a member (by path, as validation names them)
    whose text, or map key, holds a lone surrogate code point (U+D800..U+DFFF).

    Walks iteratively, so any depth ``json.loads`` accepted is fine.
    """
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            _check_text(path, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(f"{path}.key" if path else "key", key)
                pending.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{index + 1}.member", item) for index, item in enumerate(value))


def _check_text(path: str, text: str) -> None:
    if text.isascii():
        return
    found = _SURROGATE.search(text)
    if found is not None:
        shown = path[:200].encode("utf-8", "backslashreplace").decode("utf-8")
        raise InvalidParameterException(
            f"1 validation error detected: Value at '{shown}' failed to satisfy constraint: Member must be a "
            f"sequence of Unicode scalar values (lone surrogate U+{ord(found.group()):04X} at index {found.start()})"
        )

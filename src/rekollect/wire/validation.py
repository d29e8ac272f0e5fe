"""Request parsing and validation as a walk over botocore's input shapes.

``parse_request(shape, body)`` turns a decoded JSON body into plain Python values (``bytes`` for
blobs, ``datetime`` for timestamps) while checking required members, JSON types, ``min``/``max``
lengths and values, enums and patterns. Violations are reported in one
``InvalidParameterException`` whose message names bad fields by their paths, in the style of
AWS's own "N validation errors detected: Value ... at 'Image.S3Object.Bucket' failed to satisfy
constraint: ..." (the style of botocore's ``validate.py`` report). Members the model does not
know are ignored, as AWS ignores them.

The report and the work are bounded whatever the body: at most ``MAX_LISTED`` errors are spelled
out (values shortened with ``reprlib``) and the rest counted ("...; and 5 more"); the walk stops
at ``MAX_COUNTED`` errors ("At least 100 validation errors detected"); the items of a list or map
longer than its ``max``, and the pattern of a string longer than its ``max``, are not checked
(the length error says enough).

Blob ``max`` is not enforced here: an over-size image is AWS's ``ImageTooLargeException``, which
the image loader raises with the limit that applies to its source.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import reprlib
from functools import cache
from typing import Any

import regex
from botocore.model import Shape

from ..errors import InvalidParameterException


@cache
def _pattern(expression: str) -> regex.Pattern[str]:
    # AWS (Java) patterns match the whole value; the `regex` module understands \p{L} classes.
    return regex.compile(expression)


MAX_LISTED = 10
"""Validation errors spelled out in one message; the others are counted."""
MAX_COUNTED = 100
"""Validation errors after which the walk stops."""
MAX_SHOWN_VALUE = 100
"""Characters of an offending value quoted in the message."""


def _short_repr() -> reprlib.Repr:
    """A ``repr`` that never renders more than a few items of a container (Python 3.11 has no keywords)."""
    short = reprlib.Repr()
    short.maxlevel, short.maxtuple, short.maxlist, short.maxdict, short.maxset = 2, 4, 4, 4, 4
    short.maxstring = short.maxother = short.maxlong = MAX_SHOWN_VALUE
    return short


_SHORT = _short_repr()


class _TooManyErrors(Exception):
    """Raised inside the walk once ``MAX_COUNTED`` errors are found."""


class _Report:
    """Collects validation errors for one request: the first ``MAX_LISTED`` and how many in all."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.count = 0

    def add(self, path: str, value: Any, constraint: str) -> None:
        self.count += 1
        if len(self.errors) < MAX_LISTED:
            shown = value[: MAX_SHOWN_VALUE + 1] if isinstance(value, str) else _SHORT.repr(value)
            if len(shown) > MAX_SHOWN_VALUE:
                shown = shown[:MAX_SHOWN_VALUE] + "..."
            self.errors.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: {constraint}")
        if self.count >= MAX_COUNTED:
            raise _TooManyErrors

    def raise_if_any(self, stopped: bool = False) -> None:
        """Raise the report, if there is anything in it; ``stopped``: the walk ended at ``MAX_COUNTED``."""
        if not self.count:
            return
        listed = "; ".join(self.errors)
        unlisted = self.count - len(self.errors)
        if stopped:
            message = (
                f"At least {self.count} validation errors detected: {listed}; and at least {unlisted} more "
                f"(validation stopped at {self.count})"
            )
        else:
            noun = "error" if self.count == 1 else "errors"
            message = f"{self.count} validation {noun} detected: {listed}" + (
                f"; and {unlisted} more" if unlisted else ""
            )
        raise InvalidParameterException(message)


def parse_request(shape: Shape | None, body: dict[str, Any]) -> dict[str, Any]:
    """Validate ``body`` against the operation's input ``shape`` and return the parsed request.

    Raises ``InvalidParameterException`` naming the fields that break the model (bounded: see above).
    """
    if shape is None:
        return {}
    report = _Report()
    try:
        parsed = _parse_structure(shape, body, "", report)
    except _TooManyErrors:
        report.raise_if_any(stopped=True)
    report.raise_if_any()
    return parsed if isinstance(parsed, dict) else {}


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _parse(shape: Shape, value: Any, path: str, report: _Report) -> Any:
    parser = _PARSERS.get(shape.type_name)
    if parser is None:  # a type the Rekognition model does not use
        report.add(path, value, f"Member type {shape.type_name} is not supported")
        return None
    return parser(shape, value, path, report)


def _parse_structure(shape: Shape, value: Any, path: str, report: _Report) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        report.add(path or "request", value, "Member must be a structure")
        return None
    parsed: dict[str, Any] = {}
    for name in shape.required_members:
        if value.get(name) is None:
            report.add(_join(path, name), None, "Member must not be null")
    for name, member_shape in shape.members.items():
        if value.get(name) is not None:
            parsed[name] = _parse(member_shape, value[name], _join(path, name), report)
    return parsed


def _parse_list(shape: Shape, value: Any, path: str, report: _Report) -> list[Any] | None:
    if not isinstance(value, list):
        report.add(path, value, "Member must be a list")
        return None
    if not _check_length(shape, len(value), value, path, report):
        return None
    return [_parse(shape.member, item, f"{path}.{index + 1}.member", report) for index, item in enumerate(value)]


def _parse_map(shape: Shape, value: Any, path: str, report: _Report) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        report.add(path, value, "Member must be a map")
        return None
    if not _check_length(shape, len(value), value, path, report):
        return None
    return {
        _parse(shape.key, key, f"{path}.key", report): _parse(shape.value, item, f"{path}.{_shown_key(key)}", report)
        for key, item in value.items()
    }


def _shown_key(key: str) -> str:
    return key if len(key) <= MAX_SHOWN_VALUE else key[:MAX_SHOWN_VALUE] + "..."


def _parse_string(shape: Shape, value: Any, path: str, report: _Report) -> str | None:
    if not isinstance(value, str):
        report.add(path, value, "Member must be a string")
        return None
    if not _check_length(shape, len(value), value, path, report):
        return None
    if shape.enum and value not in shape.enum:
        report.add(path, value, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    pattern = shape.metadata.get("pattern")
    if pattern is not None and _pattern(pattern).fullmatch(value) is None:
        report.add(path, value, f"Member must satisfy regular expression pattern: {pattern}")
    return value


_INTEGER_BITS = {"integer": 32, "long": 64}


def _parse_integer(shape: Shape, value: Any, path: str, report: _Report) -> int | None:
    bits = _INTEGER_BITS[shape.type_name]
    if isinstance(value, bool) or not isinstance(value, int):
        report.add(path, value, "Member must be an integer")
        return None
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        report.add(path, value, f"Member must be a {bits}-bit integer")
        return None
    _check_range(shape, value, path, report)
    return value


def _parse_float(shape: Shape, value: Any, path: str, report: _Report) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        report.add(path, value, "Member must be a number")
        return None
    _check_range(shape, value, path, report)
    return float(value)


def _parse_boolean(shape: Shape, value: Any, path: str, report: _Report) -> bool | None:
    if not isinstance(value, bool):
        report.add(path, value, "Member must be a boolean")
        return None
    return value


def _parse_blob(shape: Shape, value: Any, path: str, report: _Report) -> bytes | None:
    if not isinstance(value, str):
        report.add(path, "<blob>", "Member must be base64-encoded binary data")
        return None
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        report.add(path, "<blob>", "Member must be base64-encoded binary data")
        return None
    minimum = shape.metadata.get("min")
    if minimum is not None and len(data) < minimum:
        report.add(path, "<blob>", f"Member must have length greater than or equal to {minimum}")
    return data


def _parse_timestamp(shape: Shape, value: Any, path: str, report: _Report) -> dt.datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        report.add(path, value, "Member must be a timestamp in epoch seconds")
        return None
    try:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        report.add(path, value, "Member must be a timestamp in epoch seconds")
        return None


def _check_length(shape: Shape, length: int, value: Any, path: str, report: _Report) -> bool:
    """Report a length outside ``min``/``max``; ``False`` when over ``max`` (the contents go unchecked)."""
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    if minimum is not None and length < minimum:
        report.add(path, value, f"Member must have length greater than or equal to {minimum}")
    if maximum is not None and length > maximum:
        report.add(path, value, f"Member must have length less than or equal to {maximum}")
        return False
    return True


def _check_range(shape: Shape, value: float, path: str, report: _Report) -> None:
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    if minimum is not None and value < minimum:
        report.add(path, value, f"Member must have value greater than or equal to {minimum}")
    if maximum is not None and value > maximum:
        report.add(path, value, f"Member must have value less than or equal to {maximum}")


_PARSERS = {
    "structure": _parse_structure,
    "list": _parse_list,
    "map": _parse_map,
    "string": _parse_string,
    "integer": _parse_integer,
    "long": _parse_integer,
    "float": _parse_float,
    "double": _parse_float,
    "boolean": _parse_boolean,
    "blob": _parse_blob,
    "timestamp": _parse_timestamp,
}

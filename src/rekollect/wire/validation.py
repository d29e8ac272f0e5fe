"""Request parsing and validation as a walk over botocore's input shapes.

``parse_request(shape, body)`` turns a decoded JSON body into plain Python values (``bytes`` for
blobs, ``datetime`` for timestamps) while checking required members, JSON types, ``min``/``max``
lengths and values, enums and patterns. Every violation is reported in one
``InvalidParameterException`` whose message names each bad field by its path, in the style of
AWS's own "N validation errors detected: Value ... at 'Image.S3Object.Bucket' failed to satisfy
constraint: ..." (the style of botocore's ``validate.py`` report). Members the model does not
know are ignored, as AWS ignores them.

Blob ``max`` is not enforced here: an over-size image is AWS's ``ImageTooLargeException``, which
the image loader raises with the limit that applies to its source.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from functools import cache
from typing import Any

import regex
from botocore.model import Shape

from ..errors import InvalidParameterException


@cache
def _pattern(expression: str) -> regex.Pattern[str]:
    # AWS (Java) patterns match the whole value; the `regex` module understands \p{L} classes.
    return regex.compile(expression)


class _Report:
    """Collects validation errors for one request."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, path: str, value: Any, constraint: str) -> None:
        shown = repr(value) if not isinstance(value, (str, int, float)) else str(value)
        if len(shown) > 100:
            shown = shown[:100] + "..."
        self.errors.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: {constraint}")

    def raise_if_any(self) -> None:
        if self.errors:
            count = len(self.errors)
            noun = "error" if count == 1 else "errors"
            raise InvalidParameterException(f"{count} validation {noun} detected: " + "; ".join(self.errors))


def parse_request(shape: Shape | None, body: dict[str, Any]) -> dict[str, Any]:
    """Validate ``body`` against the operation's input ``shape`` and return the parsed request.

    Raises ``InvalidParameterException`` naming every field that breaks the model.
    """
    if shape is None:
        return {}
    report = _Report()
    parsed = _parse_structure(shape, body, "", report)
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
    _check_length(shape, len(value), value, path, report)
    return [_parse(shape.member, item, f"{path}.{index + 1}.member", report) for index, item in enumerate(value)]


def _parse_map(shape: Shape, value: Any, path: str, report: _Report) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        report.add(path, value, "Member must be a map")
        return None
    _check_length(shape, len(value), value, path, report)
    return {
        _parse(shape.key, key, f"{path}.key", report): _parse(shape.value, item, f"{path}.{key}", report)
        for key, item in value.items()
    }


def _parse_string(shape: Shape, value: Any, path: str, report: _Report) -> str | None:
    if not isinstance(value, str):
        report.add(path, value, "Member must be a string")
        return None
    _check_length(shape, len(value), value, path, report)
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


def _check_length(shape: Shape, length: int, value: Any, path: str, report: _Report) -> None:
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    if minimum is not None and length < minimum:
        report.add(path, value, f"Member must have length greater than or equal to {minimum}")
    if maximum is not None and length > maximum:
        report.add(path, value, f"Member must have length less than or equal to {maximum}")


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

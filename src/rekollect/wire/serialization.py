"""Response serialization as a walk over botocore's output shapes.

Only members the model declares are written, under the model's own names; ``None`` members are
left out. Blobs become base64 text and timestamps epoch seconds, as AWS JSON 1.1 requires. A member
the model does not declare is a programming error (``ValueError``), so nothing undocumented can leak
onto the wire.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from botocore.model import Shape


def serialize_response(shape: Shape | None, value: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON-ready form of an operation's result ``value`` for output ``shape``."""
    if shape is None:
        return {}
    return _serialize(shape, value, shape.name)


def _serialize(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        unknown = set(value) - set(shape.members)
        if unknown:
            raise ValueError(f"{path}: members {sorted(unknown)} are not in the service model")
        return {
            name: _serialize(shape.members[name], item, f"{path}.{name}")
            for name, item in value.items()
            if item is not None
        }
    if kind == "list":
        return [_serialize(shape.member, item, f"{path}[]") for item in value]
    if kind == "map":
        return {key: _serialize(shape.value, item, f"{path}.{key}") for key, item in value.items()}
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    if kind == "timestamp":
        return value.timestamp() if isinstance(value, dt.datetime) else float(value)
    if kind in ("float", "double"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "string" and shape.enum and value not in shape.enum:
        raise ValueError(f"{path}: {value!r} is not one of {shape.enum}")
    return value

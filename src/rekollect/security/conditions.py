"""IAM policy ``Condition`` blocks: the keys and operators this server can evaluate, and nothing else.

A block maps operators to ``{key: value or [values]}``, e.g.
``{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}, "Bool": {"aws:SecureTransport": "true"}}``.
As in IAM's evaluation logic ("Condition element", "Creating a condition with multiple keys or
values"): every operator/key pair of a block must hold (AND); several values of one key match when
any does (OR), and a negated operator (``NotIpAddress``, ``DateNotEquals``) holds when none does.
When the request has no value for the key, the pair is false, except that negated operators and
the ``...IfExists`` form of any operator hold; ``Null`` tests for that absence.

Keys (case-insensitive, as in IAM) and their operators:

- ``aws:SourceIp``: ``IpAddress``, ``NotIpAddress`` with IPv4/IPv6 addresses or CIDR blocks;
- ``aws:SecureTransport``: ``Bool`` with ``true``/``false``;
- ``aws:CurrentTime``: ``DateEquals``, ``DateNotEquals``, ``DateLessThan``,
  ``DateLessThanEquals``, ``DateGreaterThan``, ``DateGreaterThanEquals`` with ISO 8601 times
  (UTC unless they carry an offset) or epoch seconds;
- any of them: ``Null`` with ``true``/``false``.

Anything else (another key, another operator, ``ForAllValues:``/``ForAnyValue:``, a value of the
wrong form) is a ``ValueError`` naming it, so a policy is never loaded with a condition ignored.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class RequestContext:
    """What conditions can test about a request: the values of ``aws:SourceIp``
    (``None`` when unknown), ``aws:SecureTransport`` and ``aws:CurrentTime`` (UTC)."""

    source_ip: IpAddress | None
    secure_transport: bool
    current_time: dt.datetime

    def value(self, key: str) -> Any:
        """The request's value for a supported (lower-case) key, or ``None`` when it has none."""
        return {
            "aws:sourceip": self.source_ip,
            "aws:securetransport": self.secure_transport,
            "aws:currenttime": self.current_time,
        }[key]


def _ip_network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(value, str):
        raise ValueError(f"expected an IP address or CIDR block, not {value!r}")
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"expected an IP address or CIDR block, not {value!r}") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"expected true or false, not {value!r}")


def _time(value: Any) -> dt.datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        if value.strip().isdigit():
            return dt.datetime.fromtimestamp(int(value), dt.UTC)
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise ValueError(f"expected an ISO 8601 time or epoch seconds, not {value!r}")


@dataclass(frozen=True)
class _Operator:
    kind: str
    """The type of key it applies to: ``ip``, ``bool`` or ``date``."""
    parse: Callable[[Any], Any]
    test: Callable[[Any, Any], bool]
    """``test(request value, policy value)``."""
    negated: bool = False


_OPERATORS = {
    "IpAddress": _Operator("ip", _ip_network, lambda address, network: address in network),
    "NotIpAddress": _Operator("ip", _ip_network, lambda address, network: address in network, negated=True),
    "Bool": _Operator("bool", _boolean, operator.eq),
    "DateEquals": _Operator("date", _time, operator.eq),
    "DateNotEquals": _Operator("date", _time, operator.eq, negated=True),
    "DateLessThan": _Operator("date", _time, operator.lt),
    "DateLessThanEquals": _Operator("date", _time, operator.le),
    "DateGreaterThan": _Operator("date", _time, operator.gt),
    "DateGreaterThanEquals": _Operator("date", _time, operator.ge),
}
_KEYS = {"aws:sourceip": "ip", "aws:securetransport": "bool", "aws:currenttime": "date"}
_IF_EXISTS = "IfExists"


@dataclass(frozen=True)
class _Test:
    """One operator/key pair with its values."""

    name: str
    key: str
    values: tuple[Any, ...]
    if_exists: bool

    def holds(self, context: RequestContext) -> bool:
        actual = context.value(self.key)
        if self.name == "Null":
            return any((actual is None) == expected for expected in self.values)
        spec = _OPERATORS[self.name]
        if actual is None:
            return self.if_exists or spec.negated
        matched = any(spec.test(actual, value) for value in self.values)
        return not matched if spec.negated else matched


@dataclass(frozen=True)
class Condition:
    """A parsed ``Condition`` block; the empty block always holds."""

    tests: tuple[_Test, ...] = ()

    @classmethod
    def parse(cls, block: Any) -> Condition:
        """Parse a ``Condition`` block; ``ValueError`` names an unsupported operator, key or value."""
        if not isinstance(block, dict):
            raise ValueError(f"Condition must be an object of operators, not {block!r}")
        tests = []
        for name, pairs in block.items():
            base = name.removesuffix(_IF_EXISTS) if name != "Null" else name
            if base != "Null" and base not in _OPERATORS:
                raise ValueError(
                    f"unsupported Condition operator {name!r} (supported: Null, "
                    f"{', '.join(_OPERATORS)}, each also with ...{_IF_EXISTS})"
                )
            if not isinstance(pairs, dict) or not pairs:
                raise ValueError(f"Condition operator {name}: expected an object of keys and values")
            for key, raw in pairs.items():
                tests.append(_parse_test(name, base, key, raw))
        return cls(tuple(tests))

    def holds(self, context: RequestContext) -> bool:
        """Whether every operator/key pair of the block holds for the request."""
        return all(test.holds(context) for test in self.tests)


def _parse_test(name: str, base: str, key: str, raw: Any) -> _Test:
    kind = _KEYS.get(key.lower()) if isinstance(key, str) else None
    if kind is None:
        raise ValueError(
            f"unsupported Condition key {key!r} (supported: aws:SourceIp, aws:SecureTransport, aws:CurrentTime)"
        )
    if base != "Null" and _OPERATORS[base].kind != kind:
        raise ValueError(f"Condition operator {name} does not apply to {key}")
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise ValueError(f"Condition {name} {key}: no values")
    parse = _boolean if base == "Null" else _OPERATORS[base].parse
    try:
        parsed = tuple(parse(value) for value in values)
    except ValueError as error:
        raise ValueError(f"Condition {name} {key}: {error}") from None
    return _Test(base, key.lower(), parsed, if_exists=name != base)

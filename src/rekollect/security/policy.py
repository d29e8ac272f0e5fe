"""IAM-style identity policies: which actions on which resources a credential may use.

A policy is a list of statements ``{"Effect": "Allow"|"Deny", "Action": str|[str],
"Resource": str|[str]}``. As in IAM's evaluation logic, an explicit ``Deny`` wins, otherwise some
``Allow`` must match, otherwise the request is denied. ``*`` matches any run of characters and ``?``
one character; actions (``rekognition:IndexFaces``) match case-insensitively, resources (ARNs)
case-sensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any


@cache
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    expression = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(expression, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@dataclass(frozen=True)
class Statement:
    """One policy statement."""

    allow: bool
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def matches(self, action: str, resource: str) -> bool:
        """True when both the action and the resource match one of this statement's patterns."""
        return any(_wildcard(pattern, True).fullmatch(action) for pattern in self.actions) and any(
            _wildcard(pattern, False).fullmatch(resource) for pattern in self.resources
        )


@dataclass(frozen=True)
class Policy:
    """An identity policy: its statements, evaluated as IAM does."""

    statements: tuple[Statement, ...]

    @classmethod
    def allow_all(cls) -> Policy:
        """Every Rekognition action on every resource."""
        return cls((Statement(True, ("rekognition:*",), ("*",)),))

    @classmethod
    def parse(cls, document: dict[str, Any]) -> Policy:
        """Build from a JSON policy document; ``ValueError`` names what is wrong with it."""
        statements = document.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            raise ValueError("a policy needs a non-empty Statement list")
        parsed = []
        for statement in statements:
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise ValueError(f"Effect must be Allow or Deny, not {effect!r}")
            parsed.append(Statement(effect == "Allow", _strings(statement, "Action"), _strings(statement, "Resource")))
        return cls(tuple(parsed))

    def allows(self, action: str, resource: str) -> bool:
        """Whether ``action`` (e.g. ``rekognition:IndexFaces``) on ``resource`` (an ARN or ``*``) is allowed."""
        matching = [statement for statement in self.statements if statement.matches(action, resource)]
        return bool(matching) and all(statement.allow for statement in matching)


def _strings(statement: dict[str, Any], key: str) -> tuple[str, ...]:
    value = statement.get(key)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(item, str) for item in values):
        raise ValueError(f"{key} must be a string or a non-empty list of strings")
    return tuple(values)

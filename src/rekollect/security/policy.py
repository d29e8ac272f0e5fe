"""IAM-style identity policies: which actions on which resources a credential may use, and when.

A policy is a list of statements ``{"Sid": ..., "Effect": "Allow"|"Deny", "Action": str|[str],
"Resource": str|[str], "Condition": {...}}`` (``Sid`` and ``Condition`` optional). As in IAM's
evaluation logic, an explicit ``Deny`` wins, otherwise some ``Allow`` must match, otherwise the
request is denied; a statement applies only when its ``Condition`` holds (``conditions.py``).
``*`` matches any run of characters and ``?`` one character; actions (``rekognition:IndexFaces``)
match case-insensitively, resources (ARNs) case-sensitively. Elements this server does not
evaluate (``NotAction``, ``NotResource``, ``Principal``...) are refused, never ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .conditions import Condition, RequestContext

_DOCUMENT_ELEMENTS = {"Version", "Id", "Statement"}
_STATEMENT_ELEMENTS = {"Sid", "Effect", "Action", "Resource", "Condition"}


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
    condition: Condition = field(default_factory=Condition)

    def matches(self, action: str, resource: str, context: RequestContext) -> bool:
        """True when the action and the resource match one of this statement's patterns and the
        statement's condition holds for the request."""
        return (
            any(_wildcard(pattern, True).fullmatch(action) for pattern in self.actions)
            and any(_wildcard(pattern, False).fullmatch(resource) for pattern in self.resources)
            and self.condition.holds(context)
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
        """Build from a JSON policy document; ``ValueError`` names what is wrong with it, including
        any element, condition operator or condition key this server would not evaluate."""
        if not isinstance(document, dict):
            raise ValueError("a policy must be a JSON object")
        _only(document, _DOCUMENT_ELEMENTS, "policy")
        statements = document.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            raise ValueError("a policy needs a non-empty Statement list")
        parsed = []
        for statement in statements:
            if not isinstance(statement, dict):
                raise ValueError("each Statement must be a JSON object")
            _only(statement, _STATEMENT_ELEMENTS, "statement")
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise ValueError(f"Effect must be Allow or Deny, not {effect!r}")
            condition = Condition.parse(statement["Condition"]) if "Condition" in statement else Condition()
            actions, resources = _strings(statement, "Action"), _strings(statement, "Resource")
            parsed.append(Statement(effect == "Allow", actions, resources, condition))
        return cls(tuple(parsed))

    def allows(self, action: str, resource: str, context: RequestContext) -> bool:
        """Whether ``action`` (e.g. ``rekognition:IndexFaces``) on ``resource`` (an ARN or ``*``) is
        allowed for a request described by ``context`` (source address, transport, time)."""
        matching = [statement for statement in self.statements if statement.matches(action, resource, context)]
        return bool(matching) and all(statement.allow for statement in matching)


def _only(element: dict[str, Any], known: set[str], what: str) -> None:
    unknown = sorted(set(element) - known)
    if unknown:
        raise ValueError(
            f"unsupported {what} element(s) {', '.join(unknown)}: this server evaluates only {', '.join(sorted(known))}"
        )


def _strings(statement: dict[str, Any], key: str) -> tuple[str, ...]:
    value = statement.get(key)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(item, str) for item in values):
        raise ValueError(f"{key} must be a string or a non-empty list of strings")
    return tuple(values)

"""Notices: facts about a response that its AWS shape has no member for.

Code running inside an operation calls ``notice(name, *values)`` (for example the face attributes
a request asked for that this server does not compute). The wire layer opens ``collect()`` around
each operation and sends every name it gathered as an ``x-rekollect-<name>`` response header, its
distinct values joined by commas in first-seen order. Outside ``collect()`` (a video job's worker
thread, a test calling core code directly) a notice goes nowhere.

The collection lives in a ``ContextVar``: the thread an operation runs on gets a copy of the
request's context, which shares the one mutable collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Notices = dict[str, list[str]]
"""Notice name -> distinct values, in first-seen order."""

_current: ContextVar[Notices | None] = ContextVar("rekollect_notices", default=None)


def notice(name: str, *values: str) -> None:
    """Record ``values`` under ``name`` (a header-name token, e.g. ``unsupported-attributes``)."""
    collected = _current.get()
    if collected is None:
        return
    known = collected.setdefault(name, [])
    known.extend(value for value in dict.fromkeys(values) if value not in known)


@contextmanager
def collect() -> Iterator[Notices]:
    """Gather the notices of the code run inside the block (and of threads it hands its context to)."""
    collected: Notices = {}
    token = _current.set(collected)
    try:
        yield collected
    finally:
        _current.reset(token)

"""Tallies: amounts an operation measured that are counted in the server's metrics.

Code running inside an operation calls ``tally(name, amount)`` (for example ``DetectedFaceCount``,
the faces DetectFaces or IndexFaces found: a metric AWS publishes for Rekognition in CloudWatch).
The wire layer opens ``collect()`` around each operation and adds every amount gathered to the
counter of that name, labelled by operation (``wire/observe.py``). Outside ``collect()`` (a video
job's worker thread, a test calling core code directly) a tally goes nowhere.

Like ``rekollect.notices``, the collection lives in a ``ContextVar``: the thread an operation runs
on gets a copy of the request's context, which shares the one mutable collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Tallies = dict[str, int]
"""Tally name -> the sum of the amounts recorded under it."""

_current: ContextVar[Tallies | None] = ContextVar("rekollect_tallies", default=None)


def tally(name: str, amount: int) -> None:
    """Add ``amount`` (≥ 0) to the tally ``name`` of the current request."""
    collected = _current.get()
    if collected is not None:
        collected[name] = collected.get(name, 0) + amount


@contextmanager
def collect() -> Iterator[Tallies]:
    """Gather the tallies of the code run inside the block (and of threads it hands its context to)."""
    collected: Tallies = {}
    token = _current.set(collected)
    try:
        yield collected
    finally:
        _current.reset(token)

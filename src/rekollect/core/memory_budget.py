"""A budget of bytes shared by concurrent work in one process (image decoding uses it).

A caller reserves an estimate of the memory it is about to use and waits until that much is free
(in no fixed order: a small reservation may pass a large one that waits); after ``wait_seconds`` it
is refused with ``ThrottlingException`` (documented by every image operation; boto3 retries it).
A reservation larger than the whole budget is clamped to it: it runs alone rather than never.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ThrottlingException


class MemoryBudget:
    """``capacity`` bytes; each ``reserve`` waits at most ``wait_seconds`` for its share."""

    def __init__(self, capacity: int, wait_seconds: float) -> None:
        if capacity < 1 or wait_seconds < 0:
            raise ValueError("the budget must be positive and the wait not negative")
        self.capacity = capacity
        self.wait_seconds = wait_seconds
        self._used = 0
        self._changed = threading.Condition()

    @property
    def used(self) -> int:
        """Bytes reserved now."""
        with self._changed:
            return self._used

    @contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        """Hold ``size`` bytes (at most ``capacity``) for the ``with`` block.

        Raises ``ThrottlingException`` when they are not free within ``wait_seconds``.
        """
        size = max(0, min(size, self.capacity))
        with self._changed:
            if not self._changed.wait_for(lambda: self._used + size <= self.capacity, timeout=self.wait_seconds):
                raise ThrottlingException(
                    f"Too many large images are being decoded at once (budget {self.capacity} bytes); retry later"
                )
            self._used += size
        try:
            yield
        finally:
            with self._changed:
                self._used -= size
                self._changed.notify_all()

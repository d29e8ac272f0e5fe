"""Analysing frames of a video several at a time while handing the results on in frame order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from .decode import Frame

Result = TypeVar("Result")


def analysed_in_order(
    frames: Iterable[Frame], analyse: Callable[[Frame], Result], threads: int
) -> Iterator[tuple[Frame, Result]]:
    """``(frame, analyse(frame))`` for each frame, in frame order, ``analyse`` running on up to
    ``threads`` frames at once; at most ``2 · threads`` decoded frames wait at any time."""
    if threads <= 1:
        yield from ((frame, analyse(frame)) for frame in frames)
        return
    pending: deque[tuple[Frame, Future[Result]]] = deque()
    with ThreadPoolExecutor(threads, thread_name_prefix="video-analysis") as pool:
        for frame in frames:
            pending.append((frame, pool.submit(analyse, frame)))
            if len(pending) >= 2 * threads:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()

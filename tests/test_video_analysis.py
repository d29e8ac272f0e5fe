"""Frames analysed several at a time come back in order, with a bounded number waiting."""

from __future__ import annotations

import threading
import time

from rekollect.video.decode import Frame
from rekollect.video.parallel import analysed_in_order


def test_frames_come_back_in_order_with_bounded_work_in_flight():
    pulled, running, most_running = [], 0, 0
    lock = threading.Lock()

    def frames():
        for index in range(40):
            pulled.append(index)
            yield Frame(timestamp=index, image=None)

    def analyse(frame: Frame) -> int:
        nonlocal running, most_running
        with lock:
            running += 1
            most_running = max(most_running, running)
        time.sleep(0.002 * (frame.timestamp % 3))  # later frames often finish first
        with lock:
            running -= 1
        return frame.timestamp * 10

    seen = []
    for frame, result in analysed_in_order(frames(), analyse, threads=2):
        assert result == frame.timestamp * 10
        assert len(pulled) - len(seen) <= 4  # at most 2 · threads frames decoded and not yet handed back
        seen.append(frame.timestamp)
    assert seen == list(range(40))
    assert most_running == 2


def test_one_thread_analyses_in_the_callers_thread():
    callers = set()
    results = list(analysed_in_order([Frame(timestamp=1, image=None)], lambda f: callers.add(threading.get_ident()), 1))
    assert len(results) == 1 and callers == {threading.get_ident()}

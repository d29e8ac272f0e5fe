"""Reading a live source with PyAV: connecting, reconnecting with back-off, sampling, and the
Kinesis Video timing each frame record carries.

``LiveSource`` runs one reader thread per running stream processor. It opens the URL with FFmpeg
(RTSP over TCP, which survives lossy networks without broken frames), decodes every frame (inter-
frame codecs need them all) and keeps the first frame of every ``1 / rate`` seconds of the stream's
own clock, converted to RGB. Only the newest sampled frame waits for analysis: when analysis is
slower than the sampling rate, older frames are skipped, so a record is never more than one
analysis behind the camera (AWS: "Amazon Rekognition Video doesn't analyze every frame"). A source
with a known duration (a file, local or over HTTP) is paced to its clock, so it plays like a camera;
a live one (no duration: RTSP, MJPEG...) never waits, whatever its clock's drift.

Connection. Opening a URL or reading from it gives up after ``OPEN_TIMEOUT``/``READ_TIMEOUT``
seconds. When the first connection of a session fails ``FIRST_ATTEMPTS`` times in a row (1 s and 2 s
apart), the session fails with the reason (the processor ends ``FAILED``). Once a
source has delivered frames, a drop (the camera restarting, the network, the end of a file) is
retried for ever, 1 s after the loss and then doubling up to ``MAX_BACKOFF`` seconds; each attempt
is reported to ``on_state`` (and so in ``StatusMessage``), and a file starts again from its beginning.

Timing (``LiveFrame``; Rekognition's ``InputInformation.KinesisVideo``, "Understanding the Kinesis
face recognition JSON frame record"). A Kinesis video stream is cut into fragments, which producers
start at key frames; here a fragment starts at every key frame, and at each (re)connection.
``FragmentNumber`` is the fragment's ``ServerTimestamp`` in microseconds, 20 digits with leading
zeros: it grows with every fragment of a processor, across reconnections, sessions and nodes (as
long as the nodes' clocks agree), and sorts as text. ``ServerTimestamp`` is the Unix time (seconds)
at which the fragment's first frame was decoded here. ``ProducerTimestamp`` is the source's own
clock (the frames' presentation times) placed on Unix time where the connection's first frame was
received: differences between producer timestamps are exact stream time, unaffected by network
jitter. ``FrameOffsetInSeconds`` is the frame's presentation time minus the fragment's first, so a
frame was shown at ``ProducerTimestamp + FrameOffsetInSeconds``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import av.error

from ..core.images import DecodedImage
from .sources import redacted

log = logging.getLogger(__name__)

OPEN_TIMEOUT = 5.0
"""Seconds to connect to a source and read its header."""
READ_TIMEOUT = 5.0
"""Seconds without data after which a connection counts as lost."""
FIRST_ATTEMPTS = 3
"""Failed attempts at a session's first connection after which the session fails."""
MAX_BACKOFF = 30.0
"""Longest wait, seconds, between reconnection attempts."""
MAX_UNTIMED_FRAMES = 30
"""Frames without a presentation time after which the source is timed by arrival instead."""


@dataclass(frozen=True)
class LiveFrame:
    """A sampled frame with its Kinesis Video timing (module docstring): Unix seconds, and
    ``received``, ``time.time()`` when it was decoded (for latency measurements)."""

    image: DecodedImage
    fragment_number: str
    server_timestamp: float
    producer_timestamp: float
    offset: float
    received: float


class LiveSource:
    """The reader of one URL for one session; ``next_frame`` hands out the newest sampled frame.

    ``on_state(message)`` is called from the reader thread with a message while the source is
    unavailable and ``None`` when frames flow again. ``failure`` is set (and the thread ends) when
    the first connection cannot be made; ``must_connect=False`` retries it for ever instead (a
    session taken over from a node that died: the source worked before).
    """

    def __init__(
        self,
        url: str,
        rate: float,
        *,
        on_state: Callable[[str | None], None],
        must_connect: bool = True,
    ) -> None:
        if rate <= 0:
            raise ValueError("the sampling rate must be positive")
        self.url = url
        self.rate = rate
        self.on_state = on_state
        self.must_connect = must_connect
        self.failure: str | None = None
        self.published = 0
        """Sampled frames handed to analysis (or replaced before it took them)."""
        self.skipped = 0
        """Sampled frames replaced by a newer one before analysis took them."""
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._latest: LiveFrame | None = None
        self._thread = threading.Thread(target=self._run, name="stream-source", daemon=True)

    def start(self) -> None:
        """Start the reader thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the reader to stop (it does at its next frame, or within ``READ_TIMEOUT``)."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()

    def next_frame(self, timeout: float) -> LiveFrame | None:
        """The newest sampled frame not handed out before, waiting up to ``timeout`` seconds; ``None``
        if none came (or the source failed, or was stopped)."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._latest is not None or self.failure is not None or self._stop.is_set(), timeout
            )
            frame, self._latest = self._latest, None
        return frame

    def _publish(self, frame: LiveFrame) -> None:
        with self._changed:
            if self._latest is not None:
                self.skipped += 1
            self._latest = frame
            self.published += 1
            self._changed.notify_all()

    def _run(self) -> None:
        failures = 0
        delivered = False
        while not self._stop.is_set():
            before = self.published
            try:
                container = _open(self.url)
                try:
                    self._read(container)
                finally:
                    container.close()
                problem = "it ended"
            except Exception as error:  # FFmpeg's errors, OSError, no video stream...
                problem = _reason(error)
            if self._stop.is_set():
                return
            if self.published > before:
                delivered, failures = True, 0
                message = f"Lost the source {redacted(self.url)}: {problem}"
            else:
                message = f"Cannot read the source {redacted(self.url)}: {problem}"
            failures += 1
            if self.must_connect and not delivered and failures >= FIRST_ATTEMPTS:
                with self._changed:
                    self.failure = message
                    self._changed.notify_all()
                return
            log.info("%s; reconnecting", message)
            self.on_state(f"{message}; reconnecting in {_backoff(failures):g} s")
            self._stop.wait(_backoff(failures))

    def _read(self, container: Any) -> None:
        """Decode ``container`` until it ends or the source is stopped, publishing sampled frames."""
        stream = container.streams.video[0]
        paced = container.duration is not None
        started = time.monotonic()
        first_time: float | None = None
        anchor = 0.0  # Unix time of stream time 0: ProducerTimestamp = anchor + stream time
        untimed = 0
        by_arrival = False
        last_interval = -1
        fragment: tuple[str, float, float, float] | None = None  # number, server ts, producer ts, stream time
        for frame in container.decode(stream):
            if self._stop.is_set():
                break
            now = time.time()
            if frame.time is None and not by_arrival:
                untimed += 1
                by_arrival = untimed >= MAX_UNTIMED_FRAMES and first_time is None
                if not by_arrival:
                    continue
            seconds = time.monotonic() - started if by_arrival else float(frame.time)
            if first_time is None:
                first_time, anchor = seconds, now
                self.on_state(None)
            media = seconds - first_time
            ahead = media - (time.monotonic() - started)
            if paced and ahead > 0:
                self._stop.wait(ahead)
                now = time.time()
            if fragment is None or frame.key_frame:
                fragment = (f"{round(now * 1_000_000):020d}", now, anchor + media, media)
            interval = math.floor(media * self.rate + 1e-6)
            if interval <= last_interval:
                continue
            last_interval = interval
            pixels = frame.to_ndarray(format="rgb24")
            number, server, producer, fragment_start = fragment
            self._publish(
                LiveFrame(DecodedImage(pixels=pixels, sha256=""), number, server, producer, media - fragment_start, now)
            )


def _open(url: str) -> Any:
    """The container of ``url`` with at least one video stream (``ValueError`` without one)."""
    parts = urllib.parse.urlsplit(url)
    options = {"rtsp_transport": "tcp"} if parts.scheme in ("rtsp", "rtsps") else {}
    target = urllib.parse.unquote(parts.path) if parts.scheme == "file" else url
    container = av.open(target, mode="r", options=options, timeout=(OPEN_TIMEOUT, READ_TIMEOUT))
    if not container.streams.video:
        container.close()
        raise ValueError("it has no video stream")
    return container


def _reason(error: Exception) -> str:
    """``error`` as a message, without the URL FFmpeg repeats (it may hold a password)."""
    if isinstance(error, av.error.FFmpegError):
        return error.strerror or type(error).__name__
    return str(error) or type(error).__name__


def _backoff(failures: int) -> float:
    """Seconds before attempt ``failures + 1``: 1, 2, 4... up to ``MAX_BACKOFF``."""
    return min(MAX_BACKOFF, 2.0 ** (failures - 1))

"""Where a stream processor's video comes from: Kinesis video stream ARNs mapped to URLs the server reads.

On AWS a stream processor reads a Kinesis Video Stream (``Input.KinesisVideoStream.Arn``). Cameras
that self-hosters own speak RTSP or HTTP, so the server maps each Kinesis video stream to a URL it
can open with FFmpeg (PyAV): the file named by ``--stream-sources`` holds one mapping a line,

    # <stream name, or the whole Kinesis video stream ARN> = <URL>
    front-door = rtsp://viewer:secret@192.168.1.20:554/stream1
    arn:aws:kinesisvideo:us-east-1:123456789012:stream/lab/1700000000000 = http://lab-camera.local/video.mjpg
    demo = file:///srv/videos/entrance.mp4

A line naming the whole ARN wins over one naming the stream (the part after ``stream/``, as in
``arn:aws:kinesisvideo:<region>:<account>:stream/<name>/<creation time>``). URLs are ``rtsp``,
``rtsps``, ``http``, ``https`` or ``file`` (an absolute path). The file belongs to the operator, not to
API clients: only its URLs are ever opened, so a client cannot make the server read an arbitrary URL
or file. It is read when the server starts (a malformed line stops it, naming the line) and again
whenever it changes, so cameras are added without a restart. Passwords in URLs are never logged or
returned: messages show URLs through ``redacted``.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidParameterException
from ..startup import StartupRefused

log = logging.getLogger(__name__)

SCHEMES = ("rtsp", "rtsps", "http", "https", "file")
"""URL schemes a source may have."""

_ARN_PARTS = 6


@dataclass(frozen=True)
class VideoStreamArn:
    """A Kinesis video stream ARN, taken apart: ``arn:<partition>:kinesisvideo:<region>:<account>:stream/<name>/<time>``."""

    arn: str
    region: str
    account: str
    name: str


def video_stream_arn(arn: str) -> VideoStreamArn:
    """``arn`` taken apart; ``InvalidParameterException`` unless it names a Kinesis video stream (the
    model's pattern already holds: the wire layer checked it)."""
    parts = arn.split(":", _ARN_PARTS - 1)
    kind, _, rest = parts[-1].partition("/") if len(parts) == _ARN_PARTS else ("", "", "")
    name = rest.split("/", 1)[0]
    if len(parts) != _ARN_PARTS or parts[2] != "kinesisvideo" or kind != "stream" or not name:
        raise InvalidParameterException(
            f"Input.KinesisVideoStream.Arn is not a Kinesis video stream ARN"
            f" (arn:aws:kinesisvideo:<region>:<account>:stream/<name>/<creation time>): {arn}"
        )
    return VideoStreamArn(arn=arn, region=parts[3], account=parts[4], name=name)


def redacted(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def parse_sources(text: str, origin: str) -> dict[str, str]:
    """The mappings in ``text`` (the format of the module docstring), key to URL; ``ValueError``
    naming ``origin`` and the line for a malformed one."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, url = (part.strip() for part in line.partition("="))
        parts = urllib.parse.urlsplit(url)
        problem = None
        if not equals or not key or not url:
            problem = "expected `<stream name or ARN> = <URL>`"
        elif parts.scheme not in SCHEMES:
            problem = f"the URL's scheme must be one of {', '.join(SCHEMES)}"
        elif parts.scheme == "file" and (
            parts.netloc not in ("", "localhost") or not Path(urllib.parse.unquote(parts.path)).is_absolute()
        ):
            problem = "a file URL needs an absolute path (file:///...)"
        elif parts.scheme != "file" and not parts.hostname:
            problem = "the URL has no host"
        if problem:
            raise ValueError(f"{origin}, line {number}: {problem}")
        mapping[key] = url
    return mapping


class StreamSources:
    """The ``--stream-sources`` file (``None``: no sources), re-read when its modification time changes.

    ``StartupRefused`` at construction when the file cannot be read or has a malformed line; a
    later change that cannot be read is logged and the previous mapping kept.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._mapping: dict[str, str] = {}
        if path is not None:
            try:
                self._reload()
            except (OSError, ValueError, UnicodeError) as error:
                raise StartupRefused(f"cannot read the stream sources: {error}") from None

    def url_for(self, stream: VideoStreamArn) -> str | None:
        """The URL mapped to ``stream`` (by ARN, else by name), or ``None``."""
        if self.path is None:
            return None
        with self._lock:
            try:
                self._reload()
            except (OSError, ValueError, UnicodeError) as error:
                log.error("cannot read the stream sources, keeping the previous ones: %s", error)
            return self._mapping.get(stream.arn) or self._mapping.get(stream.name)

    def _reload(self) -> None:
        assert self.path is not None
        status = self.path.stat()
        stamp = (status.st_mtime_ns, status.st_size)
        if stamp != self._stamp:
            self._mapping = parse_sources(self.path.read_text(encoding="utf-8"), str(self.path))
            self._stamp = stamp

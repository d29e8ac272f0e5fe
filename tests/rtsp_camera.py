"""A looping RTSP camera for the stream processor tests and bench: GStreamer's RTSP server (Debian's
``gir1.2-gst-rtsp-server-1.0``, ``gstreamer1.0-plugins-good`` and ``-bad``) run by the system Python
with ``python3-gi``, serving an H.264 MP4 file at ``rtsp://<address>:<port>/<mount>`` for ever.

Each client connection gets its own pipeline, which starts at the file's first frame (so a client
knows where in the file each frame it receives is) and plays it in real time, looping: the file's
frames are read once (``qtdemux ! h264parse``) and pushed into an ``appsrc`` at their presentation
times, loop after loop, the appsrc live and timestamping them as a camera would (``do-timestamp``).
It prints ``ready <port>`` once it listens. Run with ``/usr/bin/python3`` (not the project's
virtual environment, which has no ``gi``):

    /usr/bin/python3 tests/rtsp_camera.py FILE --port 8554 [--address 0.0.0.0] [--mounts clip cam2]
"""

from __future__ import annotations

import argparse
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def read_frames(path: str) -> tuple[list, Gst.Caps, list[int], int]:
    """The file's H.264 access units (buffers), their caps, presentation times (ns) and the loop period (ns)."""
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! h264parse ! video/x-h264,stream-format=avc,alignment=au'
        " ! appsink name=out sync=false"
    )
    sink = pipeline.get_by_name("out")
    pipeline.set_state(Gst.State.PLAYING)
    samples = []
    while (sample := sink.emit("pull-sample")) is not None:
        samples.append(sample)
    pipeline.set_state(Gst.State.NULL)
    if not samples:
        raise SystemExit(f"no H.264 video in {path}")
    buffers = [sample.get_buffer() for sample in samples]
    times = [buffer.pts for buffer in buffers]
    return buffers, samples[0].get_caps(), times, times[-1] + buffers[-1].duration


class Feed:
    """Pushes the frames, looping, into one media's appsrc until the media is unprepared."""

    def __init__(self, appsrc: Gst.Element, media: GstRtspServer.RTSPMedia, frames: tuple) -> None:
        self.buffers, _, self.times, self.period = frames
        self.stop = threading.Event()
        media.connect("unprepared", lambda *_: self.stop.set())
        threading.Thread(target=self.run, args=(appsrc,), daemon=True).start()

    def run(self, appsrc: Gst.Element) -> None:
        start = time.monotonic()
        index = 0
        while not self.stop.is_set():
            loop, position = divmod(index, len(self.buffers))
            delay = start + (loop * self.period + self.times[position]) / 1e9 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            original = self.buffers[position]
            buffer = Gst.Buffer.new_wrapped(original.extract_dup(0, original.get_size()))
            buffer.duration = original.duration
            if original.has_flags(Gst.BufferFlags.DELTA_UNIT):
                buffer.set_flags(Gst.BufferFlags.DELTA_UNIT)
            if appsrc.emit("push-buffer", buffer) != Gst.FlowReturn.OK:
                return
            index += 1


def main() -> None:
    parser = argparse.ArgumentParser(description="A looping RTSP camera (GStreamer's RTSP server)")
    parser.add_argument("file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--mounts", nargs="+", default=["clip"])
    args = parser.parse_args()
    Gst.init(None)
    frames = read_frames(args.file)
    feeds = []

    def configure(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
        appsrc = media.get_element().get_by_name("src")
        appsrc.set_property("caps", frames[1])
        appsrc.set_property("format", Gst.Format.TIME)
        appsrc.set_property("is-live", True)
        appsrc.set_property("do-timestamp", True)
        feeds.append(Feed(appsrc, media, frames))

    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    for mount in args.mounts:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch("( appsrc name=src ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )")
        factory.connect("media-configure", configure)
        server.get_mount_points().add_factory(f"/{mount}", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on {args.address}:{args.port}")
    print("ready", server.get_bound_port(), flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()

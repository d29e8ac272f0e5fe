"""Stream processors in real time: analysed frames per second, frame-to-record latency and CPU per stream,
for 1, 2 and 4 live 720p cameras at once.

The shared Hamilton clip is upscaled to 1280 × 720 (H.264, PyAV's libx264, a key frame every 2 s)
and looped by GStreamer's RTSP server (``tests/rtsp_camera.py`` under the system Python; Debian's
``gir1.2-gst-rtsp-server-1.0``), one mount per camera. One ``rekollect serve`` (default settings:
5 frames a second, 4 stream slots) runs the processors, with Lin-Manuel Miranda indexed, and puts
their records to moto's Kinesis server, where a boto3 consumer reads them. For each count of
cameras: warm up until every processor has written records, then measure ``--seconds``:

- analysed fps: records whose frame falls in the window, per stream, over its length;
- frame-to-record latency: Kinesis's ``ApproximateArrivalTimestamp`` of each record minus the time
  its frame reached the server (``ServerTimestamp + FrameOffsetInSeconds``: the camera is live);
- CPU: the server process's user + system time over the window (``/proc``), per stream, in % of
  one core. The camera and moto run on the same machine, outside that figure.

Run it on an otherwise idle machine. Usage: .venv/bin/python bench/stream_processor.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cameras import CLIP, Camera, StreamReader, create_kinesis_stream, frame_time, matched, require_camera
from support import FACES, MotoServer, ServerProcess

LIN = FACES / "people" / "Lin-Manuel_Miranda" / "lin-manuel-miranda.png"
COUNTS = (1, 2, 4)
VIDEO_STREAM = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/cam{}/1"


def upscaled_clip(target: Path) -> Path:
    """The clip at 1280 × 720, same frame times, a key frame every 60 frames."""
    with av.open(str(CLIP)) as source, av.open(str(target), "w") as output:
        stream_in = source.streams.video[0]
        stream = output.add_stream("libx264", rate=stream_in.average_rate)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.time_base = Fraction(1, 90000)
        stream.options = {"preset": "veryfast", "crf": "23", "g": "60", "keyint_min": "60", "bf": "0"}
        for frame in source.decode(stream_in):
            pixels = cv2.resize(frame.to_ndarray(format="rgb24"), (1280, 720), interpolation=cv2.INTER_CUBIC)
            out = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            out.pts = round(frame.time * 90000)
            out.time_base = stream.time_base
            output.mux(stream.encode(out))
        output.mux(stream.encode(None))
    return target


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(server: ServerProcess, aws: MotoServer, count: int, seconds: float, tag: str) -> dict:
    client = server.client()
    kinesis = aws.client("kinesis")
    readers, names = [], []
    for camera in range(1, count + 1):
        name = f"{tag}-cam{camera}"
        arn = create_kinesis_stream(kinesis, name)
        client.create_stream_processor(
            Name=name,
            Input={"KinesisVideoStream": {"Arn": VIDEO_STREAM.format(camera)}},
            Output={"KinesisDataStream": {"Arn": arn}},
            RoleArn="arn:aws:iam::123456789012:role/bench",
            Settings={"FaceSearch": {"CollectionId": "bench"}},
        )
        readers.append(StreamReader(aws.client("kinesis"), name))
        names.append(name)
    for name in names:
        client.start_stream_processor(Name=name)
    for reader in readers:
        reader.read_until(lambda records: len(records) >= 10, 120, f"{reader.stream_name} warming up")
    pid = server.process.pid
    began, cpu_began = time.time(), cpu_seconds(pid)
    time.sleep(seconds)
    ended, cpu_ended = time.time(), cpu_seconds(pid)
    for name in names:
        client.stop_stream_processor(Name=name)
    for name in names:
        while client.describe_stream_processor(Name=name)["Status"] != "STOPPED":
            time.sleep(0.2)
    fps, latencies, matches = [], [], 0
    for reader in readers:
        while reader.read():
            pass
        inside = [
            (record, arrival)
            for record, arrival in zip(reader.records, reader.arrivals, strict=True)
            if began <= frame_time(record) < ended
        ]
        fps.append(len(inside) / (ended - began))
        for record, arrival in inside:
            video = record["InputInformation"]["KinesisVideo"]
            latencies.append(arrival - (video["ServerTimestamp"] + video["FrameOffsetInSeconds"]))
        matches += sum(matched(record, "lin") for record, _ in inside)
    for name in names:
        client.delete_stream_processor(Name=name)
    cpu = (cpu_ended - cpu_began) / (ended - began)
    quantiles = statistics.quantiles(latencies, n=20)
    return {
        "fps": fps,
        "p50": statistics.median(latencies),
        "p95": quantiles[18],
        "cpu": cpu,
        "matches": matches,
        "records": len(latencies),
    }


def embedding_share(log: Path, tag: str) -> str:
    """The faces embedded of the faces seen by the sessions of ``tag`` (from the server's log)."""
    embedded = seen = 0
    for found in re.finditer(rf"stream processor {tag}-cam\d+: session .* (\d+) of (\d+) faces embedded", log.read_text()):
        embedded, seen = embedded + int(found.group(1)), seen + int(found.group(2))
    return f"{embedded} of {seen} faces embedded" if seen else "no faces"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    require_camera()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        video = upscaled_clip(root / "clip-720p.mp4")
        camera = Camera(root / "camera.log", video=video, mounts=tuple(f"cam{n}" for n in range(1, max(COUNTS) + 1)))
        camera.start()
        aws = MotoServer().start()
        sources = root / "sources.conf"
        sources.write_text("".join(f"cam{n} = {camera.url(mount=f'cam{n}')}\n" for n in range(1, max(COUNTS) + 1)))
        environment = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        server = ServerProcess(
            root / "data", "--stream-sources", str(sources), "--kinesis-endpoint-url", aws.url, env=environment
        ).start()
        try:
            client = server.client()
            client.create_collection(CollectionId="bench")
            client.index_faces(CollectionId="bench", Image={"Bytes": LIN.read_bytes()}, ExternalImageId="lin")
            print(
                f"720p H.264 camera at 29.97 fps over RTSP, 5 frames a second analysed per stream,"
                f" {os.cpu_count()} cores, {args.seconds:g} s measured per row"
            )
            print("streams  analysed fps per stream      latency p50 / p95   CPU per stream  (whole server)   matches")
            for count in COUNTS:
                result = run(server, aws, count, args.seconds, f"n{count}")
                fps = " ".join(f"{value:.2f}" for value in result["fps"])
                print(
                    f"{count:>7}  {fps:<28} {result['p50'] * 1000:5.0f} / {result['p95'] * 1000:4.0f} ms"
                    f"   {result['cpu'] / count * 100:5.0f} %        ({result['cpu'] * 100:4.0f} %)"
                    f"   {result['matches']} of {result['records']} frames; {embedding_share(server.log, f'n{count}')}"
                )
        finally:
            server.stop()
            aws.stop()
            camera.stop()


if __name__ == "__main__":
    main()

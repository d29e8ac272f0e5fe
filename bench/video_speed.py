"""Stored-video processing speed: video-seconds analysed per wall-clock second.

Starts a server on loopback with the default settings (so the default frame sampling rate),
indexes ``lin-manuel-miranda.png``, then runs StartFaceSearch and StartFaceDetection on
``video/short_hamilton_clip.mp4`` ``RUNS`` times each, one job at a time, and times each job from
the Start call until Get* reports it finished (polling every 50 ms). Speed is the clip's measured
``DurationMillis`` over that wall time. Run it on an otherwise idle machine; the number scales with
the cores dlib gets (one job uses about one core).

Usage: .venv/bin/python bench/video_speed.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import FACES, ServerProcess

from rekollect.config import Settings

RUNS = 3
CLIP = FACES / "video" / "short_hamilton_clip.mp4"
LIN = FACES / "people" / "Lin-Manuel_Miranda" / "lin-manuel-miranda.png"


def timed_job(start, get, **kwargs) -> tuple[float, dict]:
    """Wall seconds from Start* to a finished Get*, and that last Get* response."""
    began = time.perf_counter()
    job_id = start(**kwargs)["JobId"]
    while (response := get(JobId=job_id, MaxResults=1))["JobStatus"] == "IN_PROGRESS":
        time.sleep(0.05)
    elapsed = time.perf_counter() - began
    if response["JobStatus"] != "SUCCEEDED":
        raise RuntimeError(f"job {job_id} {response['JobStatus']}: {response.get('StatusMessage')}")
    return elapsed, response


def main() -> None:
    rate = Settings().video_sample_rate
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "buckets" / "videos").mkdir(parents=True)
        shutil.copyfile(CLIP, Path(root) / "buckets" / "videos" / "clip.mp4")
        server = ServerProcess(Path(root) / "data", "--s3-local-root", str(Path(root) / "buckets")).start()
        try:
            client = server.client()
            client.create_collection(CollectionId="bench")
            client.index_faces(CollectionId="bench", Image={"Bytes": LIN.read_bytes()})
            video = {"S3Object": {"Bucket": "videos", "Name": "clip.mp4"}}
            jobs = {
                "StartFaceSearch": (client.start_face_search, client.get_face_search, {"CollectionId": "bench"}),
                "StartFaceDetection": (client.start_face_detection, client.get_face_detection, {}),
            }
            print(f"clip {CLIP.name}, default sampling rate {rate:g} frames per video-second, {os.cpu_count()} cores")
            for name, (start, get, extra) in jobs.items():
                walls = []
                for _ in range(RUNS):
                    wall, response = timed_job(start, get, Video=video, **extra)
                    walls.append(wall)
                video_seconds = response["VideoMetadata"]["DurationMillis"] / 1000
                median = statistics.median(walls)
                print(
                    f"{name:<19} {video_seconds:.2f} video-s in {median:.2f} s wall (median of {RUNS}):"
                    f" {video_seconds / median:.2f} video-seconds per wall-second"
                    f" (best {video_seconds / min(walls):.2f})"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()

"""Stored video: StartFaceSearch / GetFaceSearch and StartFaceDetection / GetFaceDetection on a real clip.

``video/short_hamilton_clip.mp4`` (9.2 s) shows Lin-Manuel Miranda on stage (a wide shot in the
first half second, a profile close-up, then a frontal shot from about 2.8 s to 7.1 s) and an
audience cut-away after 7.2 s. Jobs run on a server with an SNS endpoint (moto's server, started
here) and a webhook (a loopback HTTP server in this process).
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from support import FACES, ServerProcess, free_port, image_bytes

from rekollect.video.tracker import FaceTracker

CLIP = FACES / "video" / "short_hamilton_clip.mp4"
LIN = "people/Lin-Manuel_Miranda/lin-manuel-miranda.png"
AUDIENCE_FROM_MS = 7200
SAMPLE_RATE = 10
TOPIC = "AmazonRekognitionVideoTests"
ROLE = "arn:aws:iam::123456789012:role/RekognitionVideo"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


def wait_for(get, job_id: str, timeout: float = 300, **kwargs) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = get(JobId=job_id, **kwargs)
        if response["JobStatus"] != "IN_PROGRESS":
            return response
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still in progress after {timeout} s")


def all_pages(get, job_id: str, key: str, **kwargs) -> list[dict]:
    items, token = [], None
    while True:
        page = get(JobId=job_id, **kwargs, **({"NextToken": token} if token else {}))
        items += page[key]
        token = page.get("NextToken")
        if not token:
            return items


class _Hook(BaseHTTPRequestHandler):
    received: queue.Queue[dict] = queue.Queue()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.put(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, queue.Queue[dict]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/done", _Hook.received
    server.shutdown()


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto did not start:\n{log.read_text()}") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=30)


def aws_client(service: str, url: str):
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture(scope="module")
def topic(moto_url: str) -> tuple[str, str]:
    """An SNS topic on moto with an SQS queue subscribed to it: ``(topic ARN, queue URL)``."""
    sns, sqs = aws_client("sns", moto_url), aws_client("sqs", moto_url)
    topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="rekognition-video-tests")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


@pytest.fixture(scope="module")
def video_server(tmp_path_factory, moto_url, webhook) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("video")
    (root / "buckets" / "videos").mkdir(parents=True)
    shutil.copyfile(CLIP, root / "buckets" / "videos" / "clip.mp4")
    process = ServerProcess(
        root / "data",
        *("--s3-local-root", str(root / "buckets"), "--video-sample-rate", str(SAMPLE_RATE)),
        *("--sns-endpoint-url", moto_url, "--video-webhook-url", webhook[0]),
        env=AWS_ENV,
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def rekognition_video(video_server: ServerProcess):
    return video_server.client()


@pytest.fixture(scope="module")
def lin_collection(rekognition_video) -> str:
    rekognition_video.create_collection(CollectionId="hamilton")
    rekognition_video.index_faces(CollectionId="hamilton", Image={"Bytes": image_bytes(LIN)}, ExternalImageId="lin")
    return "hamilton"


CLIP_OBJECT = {"S3Object": {"Bucket": "videos", "Name": "clip.mp4"}}


@pytest.fixture(scope="module")
def search_job(rekognition_video, lin_collection, topic) -> tuple[str, dict, float]:
    """The finished face search job: ``(JobId, first GetFaceSearch page, start time in Unix seconds)``."""
    started = time.time()
    job_id = rekognition_video.start_face_search(
        CollectionId=lin_collection,
        Video=CLIP_OBJECT,
        ClientRequestToken="search-1",
        NotificationChannel={"SNSTopicArn": topic[0], "RoleArn": ROLE},
        JobTag="hamilton-search",
    )["JobId"]
    return job_id, wait_for(rekognition_video.get_face_search, job_id), started


@pytest.fixture(scope="module")
def detection_job(rekognition_video) -> tuple[str, dict]:
    job_id = rekognition_video.start_face_detection(Video=CLIP_OBJECT, JobTag="hamilton-faces")["JobId"]
    return job_id, wait_for(rekognition_video.get_face_detection, job_id)


def test_video_metadata_is_measured_from_the_file(search_job):
    _, response, _ = search_job
    assert response["JobStatus"] == "SUCCEEDED" and "StatusMessage" not in response
    metadata = response["VideoMetadata"]
    assert metadata["Codec"] == "h264" and metadata["Format"] == "QuickTime / MOV"
    assert (metadata["FrameWidth"], metadata["FrameHeight"]) == (640, 360)
    assert metadata["FrameRate"] == pytest.approx(29.97, abs=0.01)
    assert 9000 < metadata["DurationMillis"] < 9400
    assert metadata["ColorRange"] == "LIMITED"
    assert response["Video"] == CLIP_OBJECT and response["JobTag"] == "hamilton-search"


def test_face_search_finds_the_indexed_person_on_stage(rekognition_video, lin_collection, search_job):
    persons = search_job[1]["Persons"]
    response = search_job[1]
    indexed = {face["FaceId"] for face in rekognition_video.list_faces(CollectionId=lin_collection)["Faces"]}
    duration = response["VideoMetadata"]["DurationMillis"]
    assert len(persons) >= 15
    for person in persons:
        assert 0 <= person["Timestamp"] <= duration
        assert person["FaceMatches"], person
        for match in person["FaceMatches"]:
            assert match["Face"]["FaceId"] in indexed and match["Face"]["ExternalImageId"] == "lin"
            assert match["Similarity"] >= 80
        detail = person["Person"]["Face"]
        assert detail["BoundingBox"] == person["Person"]["BoundingBox"]
        assert {"Confidence", "Landmarks", "Pose", "Quality"} <= set(detail)
    times = [person["Timestamp"] for person in persons]
    assert any(t < 1000 for t in times), "the wide stage shot at the start"
    frontal = [person for person in persons if 2800 <= person["Timestamp"] <= 7100]
    assert len(frontal) >= 30  # of the 43 frames sampled in it
    # The frontal shot is one person: the tracker keeps one Index through it.
    assert len({person["Person"]["Index"] for person in frontal}) == 1
    # He stands in the middle-left of the frame during the frontal shot.
    assert all(0.1 < person["Person"]["BoundingBox"]["Left"] < 0.5 for person in frontal)


def test_face_detection_finds_faces_through_the_clip(detection_job):
    _, response = detection_job
    assert response["JobStatus"] == "SUCCEEDED" and response["JobTag"] == "hamilton-faces"
    faces = response["Faces"]
    times = [face["Timestamp"] for face in faces]
    assert times == sorted(times)
    assert any(t < 1000 for t in times) and any(t >= AUDIENCE_FROM_MS for t in times)
    assert sum(2800 <= t <= 7100 for t in times) >= 30
    # One sampled frame per 1/SAMPLE_RATE second interval.
    assert len({t * SAMPLE_RATE // 1000 for t in times}) == len(set(times))
    for face in faces:
        detail = face["Face"]
        assert detail["Confidence"] > 50
        assert [mark["Type"] for mark in detail["Landmarks"]] == [
            "eyeLeft",
            "eyeRight",
            "mouthLeft",
            "mouthRight",
            "nose",
        ]
        # AWS's BoundingBox reference: a face cut by the image edge may have a negative Left or Top,
        # or one past 1; the box still overlaps the frame.
        box = detail["BoundingBox"]
        assert -box["Width"] < box["Left"] < 1 and -box["Height"] < box["Top"] < 1


def test_face_detection_sees_the_audience_shot(detection_job):
    """The audience cut-away (7.6 s to the end) shows four to seven clear faces in each frame."""
    faces = detection_job[1]["Faces"]
    per_frame = Counter(face["Timestamp"] for face in faces if 8000 <= face["Timestamp"] <= 9000)
    assert max(per_frame.values(), default=0) >= 4
    assert any(face["Timestamp"] >= 9000 for face in faces)


def test_face_search_does_not_match_the_audience(search_job, detection_job):
    audience = [face for face in detection_job[1]["Faces"] if face["Timestamp"] >= AUDIENCE_FROM_MS]
    assert audience, "the detector sees audience faces after the cut"
    matched = {person["Timestamp"] for person in search_job[1]["Persons"]}
    assert not matched & {face["Timestamp"] for face in audience}
    assert max(matched) < AUDIENCE_FROM_MS


def test_pagination_and_both_sort_orders(rekognition_video, search_job):
    job_id, response, _ = search_job
    everything = response["Persons"]
    assert "NextToken" not in response

    by_time = all_pages(rekognition_video.get_face_search, job_id, "Persons", MaxResults=4)
    assert by_time == everything
    assert [(p["Timestamp"], p["Person"]["Index"]) for p in by_time] == sorted(
        (p["Timestamp"], p["Person"]["Index"]) for p in by_time
    )
    by_index = all_pages(rekognition_video.get_face_search, job_id, "Persons", MaxResults=3, SortBy="INDEX")
    assert [(p["Person"]["Index"], p["Timestamp"]) for p in by_index] == sorted(
        (p["Person"]["Index"], p["Timestamp"]) for p in everything
    )
    first = rekognition_video.get_face_search(JobId=job_id, MaxResults=4)
    assert len(first["Persons"]) == 4 and first["VideoMetadata"] == response["VideoMetadata"]
    with pytest.raises(ClientError) as caught:
        rekognition_video.get_face_search(JobId=job_id, MaxResults=4, SortBy="INDEX", NextToken=first["NextToken"])
    assert error_code(caught) == "InvalidPaginationTokenException"


def test_foreign_next_tokens_are_invalid_pagination_tokens(rekognition_video, search_job, detection_job):
    """Non-ASCII digits and letters in NextToken (issue 12, item 5)."""
    for get, job_id in ((rekognition_video.get_face_detection, detection_job[0]),
                        (rekognition_video.get_face_search, search_job[0])):  # fmt: skip
        for token in ("1.\u00e9", "\u00b2.0", "\u0661." + "0" * 32):
            with pytest.raises(ClientError) as caught:
                get(JobId=job_id, MaxResults=1, NextToken=token)
            assert error_code(caught) == "InvalidPaginationTokenException"


def test_completion_message_reaches_the_sns_topic(moto_url, topic, search_job):
    job_id, _, started = search_job
    sqs = aws_client("sqs", moto_url)
    received = sqs.receive_message(QueueUrl=topic[1], MaxNumberOfMessages=10, WaitTimeSeconds=10)["Messages"]
    envelopes = [json.loads(message["Body"]) for message in received]
    assert all(envelope["TopicArn"] == topic[0] for envelope in envelopes)
    (message,) = [json.loads(envelope["Message"]) for envelope in envelopes]
    assert message["JobId"] == job_id and message["Status"] == "SUCCEEDED"
    assert message["API"] == "StartFaceSearch" and message["JobTag"] == "hamilton-search"
    assert message["Video"] == {"S3ObjectName": "clip.mp4", "S3Bucket": "videos"}
    assert started * 1000 <= message["Timestamp"] <= time.time() * 1000


def test_webhook_gets_every_completion(webhook, search_job, detection_job):
    messages = {}
    while len(messages) < 2:
        message = webhook[1].get(timeout=30)
        messages[message["JobId"]] = message
    assert messages[search_job[0]]["API"] == "StartFaceSearch"
    assert messages[detection_job[0]]["API"] == "StartFaceDetection"
    assert messages[detection_job[0]]["JobTag"] == "hamilton-faces"


def test_client_request_token_is_idempotent(rekognition_video, lin_collection, topic, search_job):
    job_id = search_job[0]
    again = rekognition_video.start_face_search(
        CollectionId=lin_collection,
        Video=CLIP_OBJECT,
        ClientRequestToken="search-1",
        NotificationChannel={"SNSTopicArn": topic[0], "RoleArn": ROLE},
        JobTag="hamilton-search",
    )
    assert again["JobId"] == job_id
    with pytest.raises(ClientError) as caught:
        rekognition_video.start_face_search(
            CollectionId=lin_collection, Video=CLIP_OBJECT, ClientRequestToken="search-1", FaceMatchThreshold=95
        )
    assert error_code(caught) == "IdempotentParameterMismatchException"


def test_unknown_jobs_objects_and_collections(rekognition_video, lin_collection, detection_job):
    missing = "00000000-0000-0000-0000-000000000000"
    for get in (rekognition_video.get_face_search, rekognition_video.get_face_detection):
        with pytest.raises(ClientError) as caught:
            get(JobId=missing)
        assert error_code(caught) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        rekognition_video.get_face_search(JobId=detection_job[0])
    assert error_code(caught) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        rekognition_video.start_face_detection(Video={"S3Object": {"Bucket": "videos", "Name": "absent.mp4"}})
    assert error_code(caught) == "InvalidS3ObjectException"
    with pytest.raises(ClientError) as caught:
        rekognition_video.start_face_search(CollectionId="no-such-collection", Video=CLIP_OBJECT)
    assert error_code(caught) == "ResourceNotFoundException"


def _write_long_video(path: Path, seconds: int) -> None:
    """A tiny MPEG-4 file whose second (and last) frame is shown ``seconds`` after the first."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=1)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1)
        for pts in (0, seconds):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def test_videos_over_six_hours_are_too_large(rekognition_video, video_server):
    _write_long_video(video_server.data_dir.parent / "buckets" / "videos" / "long.mp4", 7 * 3600)
    with pytest.raises(ClientError) as caught:
        rekognition_video.start_face_detection(Video={"S3Object": {"Bucket": "videos", "Name": "long.mp4"}})
    assert error_code(caught) == "VideoTooLargeException"


def test_a_file_that_is_not_a_video_fails_the_job(rekognition_video, video_server, webhook, search_job, detection_job):
    (video_server.data_dir.parent / "buckets" / "videos" / "notes.mp4").write_bytes(b"these are not video frames" * 99)
    job_id = rekognition_video.start_face_detection(Video={"S3Object": {"Bucket": "videos", "Name": "notes.mp4"}})[
        "JobId"
    ]
    response = wait_for(rekognition_video.get_face_detection, job_id)
    assert response["JobStatus"] == "FAILED" and "Unsupported codec/format" in response["StatusMessage"]
    assert "Faces" not in response
    while (message := webhook[1].get(timeout=30))["JobId"] != job_id:
        pass
    assert message["Status"] == "FAILED" and message["Message"] == response["StatusMessage"]


def _remux_to_mov(source: Path, target: Path) -> None:
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mov") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is not None:
                packet.stream = copy
                out.mux(packet)


def test_jobs_survive_a_crash_and_respect_the_limit(tmp_path):
    """MOV input; at most 2 jobs in progress; after ``kill -9`` finished results stay, unfinished jobs resume
    at once (or fail with a message when both their spooled video and the object are gone).

    No step depends on timing: while the test holds the metadata store's write lock, no face search
    can end (its last step checks its collection in a write transaction of that store), so the two
    jobs started meanwhile are provably in progress, both at the limit and at the kill."""
    (tmp_path / "buckets" / "videos").mkdir(parents=True)
    _remux_to_mov(CLIP, tmp_path / "buckets" / "videos" / "clip.mov")
    args = ("--s3-local-root", str(tmp_path / "buckets"), "--video-max-jobs", "2")
    video = {"S3Object": {"Bucket": "videos", "Name": "clip.mov"}}
    first = ServerProcess(tmp_path / "data", *args).start()
    lock = None
    try:
        client = first.client()
        client.create_collection(CollectionId="stage")
        client.index_faces(CollectionId="stage", Image={"Bytes": image_bytes(LIN)}, ExternalImageId="lin")
        done = client.start_face_search(CollectionId="stage", Video=video)["JobId"]
        finished = wait_for(client.get_face_search, done)
        assert finished["JobStatus"] == "SUCCEEDED" and finished["Persons"]
        assert finished["VideoMetadata"]["Format"] == "QuickTime / MOV"
        lock = sqlite3.connect(tmp_path / "data" / "rekollect.sqlite3", isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # held until the server is killed
        running = client.start_face_search(CollectionId="stage", Video=video)["JobId"]
        queued = client.start_face_search(CollectionId="stage", Video=video, FaceMatchThreshold=90)["JobId"]
        with pytest.raises(ClientError) as caught:
            client.start_face_detection(Video=video)
        assert error_code(caught) == "LimitExceededException"
        assert client.get_face_search(JobId=running)["JobStatus"] == "IN_PROGRESS"
        assert client.get_face_search(JobId=queued)["JobStatus"] == "IN_PROGRESS"
    finally:
        first.stop(signal.SIGKILL)
        if lock is not None:
            lock.execute("ROLLBACK")
            lock.close()
    (tmp_path / "data" / "video-spool" / queued).unlink()
    (tmp_path / "buckets" / "videos" / "clip.mov").unlink()

    second = ServerProcess(tmp_path / "data", *args).start()
    try:
        client = second.client()
        assert client.get_face_search(JobId=done)["Persons"] == finished["Persons"]
        resumed = wait_for(client.get_face_search, running)
        assert resumed["JobStatus"] == "SUCCEEDED" and resumed["Persons"] == finished["Persons"]
        lost = client.get_face_search(JobId=queued)
        assert lost["JobStatus"] == "FAILED" and "no longer available" in lost["StatusMessage"]
    finally:
        second.stop()


def test_tracker_links_by_overlap_and_by_appearance():
    tracker = FaceTracker(link_distance=0.6, overlap_distance=0.7)
    alice, bob = np.zeros(128), np.full(128, 0.1)  # 1.13 apart
    assert tracker.assign(0, [(0, 0, 10, 10), (50, 50, 60, 60)], np.stack([alice, bob])) == [0, 1]
    # Bob walks into Alice's old place: the overlap alone does not make him Alice.
    assert tracker.assign(200, [(1, 1, 11, 11)], np.stack([bob + 0.01])) == [1]
    # Alice comes back elsewhere after a long gap: her appearance re-links her.
    assert tracker.assign(9000, [(80, 0, 90, 10)], np.stack([alice + 0.02])) == [0]
    # Someone new gets the next index.
    assert tracker.assign(9200, [(30, 30, 40, 40)], np.stack([np.full(128, -0.1)])) == [2]


def test_video_from_an_s3_compatible_endpoint(tmp_path, moto_url):
    s3 = aws_client("s3", moto_url)
    s3.create_bucket(Bucket="media")
    s3.upload_file(str(CLIP), "media", "shows/clip.mp4")
    server = ServerProcess(
        tmp_path / "data", "--s3-endpoint-url", moto_url, "--video-sample-rate", "1", env=AWS_ENV
    ).start()
    try:
        client = server.client()
        job_id = client.start_face_detection(Video={"S3Object": {"Bucket": "media", "Name": "shows/clip.mp4"}})["JobId"]
        response = wait_for(client.get_face_detection, job_id)
        assert response["JobStatus"] == "SUCCEEDED" and response["VideoMetadata"]["Codec"] == "h264"
        times = [face["Timestamp"] for face in response["Faces"]]
        assert len(times) >= 4 and len({t // 1000 for t in times}) == len(set(times))  # one frame a second
        with pytest.raises(ClientError) as caught:
            client.start_face_detection(Video={"S3Object": {"Bucket": "media", "Name": "shows/absent.mp4"}})
        assert error_code(caught) == "InvalidS3ObjectException"
    finally:
        server.stop()

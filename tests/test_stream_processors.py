"""Stream processors on a live RTSP camera, end to end: boto3 against the server, records read back from
a Kinesis emulator (moto's server) by an unchanged boto3 consumer.

The camera is GStreamer's RTSP server (``rtsp_camera.py`` under Debian's Python) looping the shared
Hamilton clip (``video/short_hamilton_clip.mp4``, 9.18 s: Lin-Manuel Miranda in a wide shot at the
start, in profile, then frontal from about 2.8 s to 7.1 s, then the audience); each connection
starts at the clip's first frame. Lin-Manuel Miranda is indexed from his photo. Checked: his face
is matched with frame timestamps that fit the clip (where a stored-video face search of the same clip
finds him), records also land in S3 objects, the webhook and the latest matches, status changes
are published to SNS, and the console's Live streams page shows them; stopping, ``MaxDurationInSeconds``, a camera outage, regions of interest; and
AWS's errors (or ``FAILED`` with a message) for bad requests, unknown collections, unreachable
cameras, missing output streams and a collection deleted under a running processor. Every wait is
for a condition, with a deadline.
"""

from __future__ import annotations

import json
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import boto3
import pytest
from botocore.exceptions import ClientError
from cameras import (
    CLIP,
    Camera,
    StreamReader,
    clip_phase,
    create_kinesis_stream,
    frame_time,
    key_frames,
    matched,
    require_camera,
)
from playwright.sync_api import expect
from support import MotoServer, ServerProcess, free_port, image_bytes
from test_console import browser, page, screenshot  # noqa: F401 - the console tests' fixtures

from rekollect.wire.service_model import DATA_PATH

LIN = "people/Lin-Manuel_Miranda/lin-manuel-miranda.png"
ROLE = "arn:aws:iam::123456789012:role/RekognitionStreams"
VIDEO_STREAM = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/{}/1700000000000"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
CLIP_SECONDS = key_frames(CLIP)[1]
"""The clip's length: the camera's loop period."""
FRONTAL = (2.8, 7.1)
"""Clip seconds where he faces the camera."""


class _Hook(BaseHTTPRequestHandler):
    received: queue.Queue[dict] = queue.Queue()

    def do_POST(self) -> None:
        self.received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class _Files(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def camera(tmp_path_factory) -> Iterator[Camera]:
    require_camera()
    started = Camera(tmp_path_factory.mktemp("camera") / "camera.log").start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, queue.Queue[dict]]]:
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{hook.server_address[1]}/records", _Hook.received
    hook.shutdown()


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("streams")


@pytest.fixture(scope="module")
def http_video(root) -> Iterator[str]:
    """The clip served over HTTP (a file a camera-less user might point a processor at), its index
    first ("faststart"): Python's file server does not answer the range requests that reading an MP4
    with its index at the end takes."""
    (root / "www").mkdir()
    with av.open(str(CLIP)) as source, av.open(str(root / "www" / "clip.mp4"), "w", options={"movflags": "faststart"}) as copy:
        video = copy.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = video
                copy.mux(packet)
    files = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Files, directory=str(root / "www")))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{files.server_address[1]}/clip.mp4"
    files.shutdown()


@pytest.fixture(scope="module")
def server(root, aws, camera, webhook, http_video) -> Iterator[ServerProcess]:
    (root / "buckets" / "videos").mkdir(parents=True)
    (root / "buckets" / "records").mkdir()
    shutil.copyfile(CLIP, root / "buckets" / "videos" / "clip.mp4")
    sources = root / "sources.conf"
    sources.write_text(
        "# the test camera, and one nobody listens for\n"
        f"hamilton = {camera.url()}\n"
        f"nowhere = rtsp://127.0.0.1:{free_port()}/gone\n"
        f"recorded = {CLIP.resolve().as_uri()}\n"
        f"downloaded = {http_video}\n"
    )
    process = ServerProcess(
        root / "data",
        *("--s3-local-root", str(root / "buckets"), "--stream-sources", str(sources)),
        *("--kinesis-endpoint-url", aws.url, "--sns-endpoint-url", aws.url, "--stream-webhook-url", webhook[0]),
        env=AWS_ENV,
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def rekognition(server):
    client = server.client()
    client.create_collection(CollectionId="hamilton")
    client.index_faces(CollectionId="hamilton", Image={"Bytes": image_bytes(LIN)}, ExternalImageId="lin")
    return client


@pytest.fixture(scope="module")
def notifications(aws) -> tuple[str, str]:
    """An SNS topic with an SQS queue subscribed: ``(topic ARN, queue URL)``."""
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="stream-status")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="stream-status")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue_url


def create(rekognition, name: str, output: dict, stream: str = "hamilton", **extra) -> str:
    return rekognition.create_stream_processor(
        Name=name,
        Input={"KinesisVideoStream": {"Arn": VIDEO_STREAM.format(stream)}},
        Output=output,
        RoleArn=ROLE,
        Settings={"FaceSearch": {"CollectionId": extra.pop("collection", "hamilton"), "FaceMatchThreshold": 80}},
        **extra,
    )["StreamProcessorArn"]


def wait_status(rekognition, name: str, statuses: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (described := rekognition.describe_stream_processor(Name=name))["Status"] not in statuses:
        assert time.monotonic() < deadline, f"{name} is still {described['Status']} ({described.get('StatusMessage')})"
        time.sleep(0.2)
    return described


def code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


def kinesis_output(aws: MotoServer, name: str) -> tuple[dict, StreamReader]:
    kinesis = aws.client("kinesis")
    arn = create_kinesis_stream(kinesis, name)
    return {"KinesisDataStream": {"Arn": arn}}, StreamReader(kinesis, name)


def clip_times(records: list[dict]) -> list[float]:
    """Each record's position in the clip (seconds), placed by its fragments (``cameras.clip_phase``)."""
    phase = clip_phase(records, CLIP)
    return [(frame_time(record) - phase) % CLIP_SECONDS for record in records]


def extensions_client(server: ServerProcess, monkeypatch: pytest.MonkeyPatch):
    """A client of the ``rekollect-extensions`` operations (a new session reads ``AWS_DATA_PATH``)."""
    monkeypatch.setenv("AWS_DATA_PATH", str(DATA_PATH))
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
    return session.client("rekollect-extensions", endpoint_url=server.url)


def test_requests_get_aws_errors(rekognition, aws):
    output, _ = kinesis_output(aws, "errors")
    create(rekognition, "checked", output, Tags={"site": "door"})

    def refused(expected: str, **request) -> str:
        with pytest.raises(ClientError) as caught:
            rekognition.create_stream_processor(**request)
        assert code(caught) == expected, caught.value
        return caught.value.response["Error"]["Message"]

    good = {
        "Name": "another",
        "Input": {"KinesisVideoStream": {"Arn": VIDEO_STREAM.format("hamilton")}},
        "Output": output,
        "RoleArn": ROLE,
        "Settings": {"FaceSearch": {"CollectionId": "hamilton"}},
    }
    assert "already exists" in refused("ResourceInUseException", **{**good, "Name": "checked"})
    assert refused(
        "InvalidParameterException", **{**good, "Input": {"KinesisVideoStream": {"Arn": "arn:aws:s3:::bucket"}}}
    )
    message = refused(
        "InvalidParameterException",
        **{**good, "Input": {"KinesisVideoStream": {"Arn": VIDEO_STREAM.format("unknown")}}},
    )
    assert "No source is configured" in message and "unknown = " in message
    other_region = "arn:aws:kinesisvideo:eu-west-1:123456789012:stream/hamilton/1"
    assert "region" in refused(
        "InvalidParameterException", **{**good, "Input": {"KinesisVideoStream": {"Arn": other_region}}}
    )
    not_a_stream = "arn:aws:kinesisvideo:us-east-1:123456789012:channel/hamilton/1"
    assert refused("InvalidParameterException", **{**good, "Input": {"KinesisVideoStream": {"Arn": not_a_stream}}})
    assert refused(
        "InvalidParameterException",
        **{**good, "Output": {"KinesisDataStream": {"Arn": "arn:aws:sqs:us-east-1:123456789012:q"}}},
    )
    assert refused("InvalidParameterException", **{**good, "Output": {}})
    assert "does not exist" in refused(
        "InvalidParameterException", **{**good, "Settings": {"FaceSearch": {"CollectionId": "nobody"}}}
    )
    label_detection = {"ConnectedHome": {"Labels": ["PERSON"]}}
    assert "ConnectedHome" in refused("InvalidParameterException", **{**good, "Settings": label_detection})
    assert "KmsKeyId" in refused("InvalidParameterException", **good, KmsKeyId="alias/mine")
    assert refused(
        "InvalidParameterException",
        **good,
        RegionsOfInterest=[{"Polygon": [{"X": 0.1, "Y": 0.1}, {"X": 0.2, "Y": 0.2}]}],
    )
    assert refused("InvalidParameterException", **{**good, "Name": "bad name!"})  # the model's pattern
    assert refused("InvalidParameterException", **{**good, "RoleArn": "not-a-role"})

    for operation in (
        "start_stream_processor",
        "stop_stream_processor",
        "describe_stream_processor",
        "delete_stream_processor",
    ):
        with pytest.raises(ClientError) as caught:
            getattr(rekognition, operation)(Name="missing")
        assert code(caught) == "ResourceNotFoundException", operation
    with pytest.raises(ClientError) as caught:
        rekognition.stop_stream_processor(Name="checked")
    assert code(caught) == "ResourceInUseException"  # it is not running
    with pytest.raises(ClientError) as caught:
        rekognition.start_stream_processor(
            Name="checked", StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": 1}}
        )
    assert code(caught) == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        rekognition.start_stream_processor(Name="checked", StopSelector={"MaxDurationInSeconds": 121})
    assert code(caught) == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        rekognition.update_stream_processor(Name="checked", ParametersToDelete=["ConnectedHomeMinConfidence"])
    assert code(caught) == "InvalidParameterException"

    described = rekognition.describe_stream_processor(Name="checked")
    assert described["Status"] == "STOPPED" and described["Settings"] == {
        "FaceSearch": {"CollectionId": "hamilton", "FaceMatchThreshold": 80.0}
    }
    assert described["Input"]["KinesisVideoStream"]["Arn"] == VIDEO_STREAM.format("hamilton")
    assert described["Output"] == output and described["RoleArn"] == ROLE
    arn = described["StreamProcessorArn"]
    assert arn == "arn:aws:rekognition:us-east-1:000000000000:streamprocessor/checked"
    rekognition.update_stream_processor(
        Name="checked",
        RegionsOfInterestForUpdate=[{"BoundingBox": {"Left": 0.5, "Top": 0, "Width": 0.5, "Height": 1}}],
        DataSharingPreferenceForUpdate={"OptIn": False},
    )
    described = rekognition.describe_stream_processor(Name="checked")
    assert described["RegionsOfInterest"][0]["BoundingBox"]["Left"] == 0.5
    assert described["DataSharingPreference"] == {"OptIn": False}
    assert described["LastUpdateTimestamp"] >= described["CreationTimestamp"]
    rekognition.update_stream_processor(Name="checked", ParametersToDelete=["RegionsOfInterest"])
    assert "RegionsOfInterest" not in rekognition.describe_stream_processor(Name="checked")

    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"site": "door"}
    rekognition.tag_resource(ResourceArn=arn, Tags={"floor": "1"})
    rekognition.untag_resource(ResourceArn=arn, TagKeys=["site"])
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"floor": "1"}
    with pytest.raises(ClientError) as caught:
        rekognition.list_tags_for_resource(ResourceArn=arn.replace("checked", "missing"))
    assert code(caught) == "ResourceNotFoundException"

    create(rekognition, "listed-last", output)
    first = rekognition.list_stream_processors(MaxResults=1)
    rest = rekognition.list_stream_processors(MaxResults=1000, NextToken=first["NextToken"])
    names = [item["Name"] for item in first["StreamProcessors"] + rest["StreamProcessors"]]
    assert names.index("checked") < names.index("listed-last") and "NextToken" not in rest
    assert {"Name": "checked", "Status": "STOPPED"} in first["StreamProcessors"] + rest["StreamProcessors"]
    for name in ("checked", "listed-last"):
        rekognition.delete_stream_processor(Name=name)
    with pytest.raises(ClientError) as caught:
        rekognition.describe_stream_processor(Name="checked")
    assert code(caught) == "ResourceNotFoundException"
    create(rekognition, "checked", output)  # the name is free again
    rekognition.delete_stream_processor(Name="checked")


def test_the_indexed_person_is_matched_at_times_that_fit_the_clip(
    server, rekognition, aws, root, webhook, notifications, monkeypatch
):
    # Where a stored-video face search of the same clip matches him (5 frames a second, as the processor samples).
    job = rekognition.start_face_search(
        CollectionId="hamilton", Video={"S3Object": {"Bucket": "videos", "Name": "clip.mp4"}}
    )
    output, reader = kinesis_output(aws, "matches")
    output["S3Destination"] = {"Bucket": "records", "KeyPrefix": "cameras"}
    create(rekognition, "door", output, NotificationChannel={"SNSTopicArn": notifications[0]})
    session = rekognition.start_stream_processor(Name="door")["SessionId"]
    with pytest.raises(ClientError) as caught:
        rekognition.start_stream_processor(Name="door")
    assert code(caught) == "ResourceInUseException"
    with pytest.raises(ClientError) as caught:
        rekognition.delete_stream_processor(Name="door")
    assert code(caught) == "ResourceInUseException"

    # Read until the camera has looped back to the frontal shot (the second loop's 7.5 s).
    records = reader.read_until(
        lambda records: bool(records) and frame_time(records[-1]) - frame_time(records[0]) > CLIP_SECONDS + 7.5,
        120,
        "a loop and a half of the clip",
    )
    running = rekognition.describe_stream_processor(Name="door")
    assert running["Status"] == "RUNNING" and "StatusMessage" not in running
    rekognition.stop_stream_processor(Name="door")
    stopped = wait_status(rekognition, "door", {"STOPPED"}, 30)
    stopped_at = time.time()
    assert "StatusMessage" not in stopped

    while reader.read():
        pass
    records = reader.records
    video = records[0]["InputInformation"]["KinesisVideo"]
    assert video["StreamArn"] == VIDEO_STREAM.format("hamilton")
    assert records[0]["StreamProcessorInformation"] == {"Status": "RUNNING"}
    assert all(record["InputInformation"]["KinesisVideo"]["ServerTimestamp"] < stopped_at for record in records)
    # Fragments start at key frames and their numbers grow; frames move forward in time.
    fragments = [record["InputInformation"]["KinesisVideo"]["FragmentNumber"] for record in records]
    assert fragments == sorted(fragments) and len(set(fragments)) > 5
    times = [frame_time(record) for record in records]
    assert times == sorted(times)
    assert len(records) <= 5 * (times[-1] - times[0]) + 1  # at most five frames a second

    wanted = {"lin"}
    faces = rekognition.list_faces(CollectionId="hamilton")["Faces"]
    for record in records:
        for face in record["FaceSearchResponse"]:
            assert set(face["DetectedFace"]) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
            for match in face["MatchedFaces"]:
                assert match["Similarity"] >= 80 and match["Face"]["ExternalImageId"] in wanted
                assert match["Face"]["FaceId"] == faces[0]["FaceId"] and match["Face"]["ImageId"] == faces[0]["ImageId"]
    stored = rekognition.get_face_search(JobId=job["JobId"])
    while stored["JobStatus"] == "IN_PROGRESS":
        time.sleep(0.5)
        stored = rekognition.get_face_search(JobId=job["JobId"])
    stored_times = sorted({person["Timestamp"] / 1000 for person in stored["Persons"]})
    matched_at = [at for at, record in zip(clip_times(records), records, strict=True) if matched(record, "lin")]
    assert sum(FRONTAL[0] <= at <= FRONTAL[1] for at in matched_at) >= 3, matched_at
    misplaced = [at for at in matched_at if min(abs(at - when) for when in stored_times) > 0.5]
    assert not misplaced, (misplaced, stored_times)
    assert not [at for at in matched_at if at > 7.3], "the audience shot matched him"

    # The same records, as S3 objects of the session, in frame order.
    objects = sorted((root / "buckets" / "records" / "cameras" / "door" / session).glob("*.json"))
    assert [json.loads(path.read_text()) for path in objects] == records
    # The webhook got them too.
    posted = []
    while not webhook[1].empty():
        batch = webhook[1].get()
        if batch["StreamProcessorName"] == "door":
            assert batch["SessionId"] == session
            posted += batch["Records"]
    assert posted == records
    # The latest matches (extension), newest first.
    extensions = extensions_client(server, monkeypatch)
    latest = extensions.get_stream_processor_matches(Name="door", MaxResults=5)
    assert latest["Status"] == "STOPPED" and latest["SessionId"] == session and len(latest["Matches"]) == 5
    assert [json.loads(item["Record"]) for item in latest["Matches"]] == [
        record for record in records if matched(record, "lin")
    ][::-1][:5]
    # Status changes published to SNS.
    sqs = aws.client("sqs")
    statuses = []
    deadline = time.monotonic() + 30
    while statuses[-1:] != ["STOPPED"]:
        assert time.monotonic() < deadline, statuses
        for message in sqs.receive_message(QueueUrl=notifications[1], MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            body = json.loads(json.loads(message["Body"])["Message"])
            if body["Name"] == "door":
                assert body["SessionId"] == session and body["StreamProcessorArn"].endswith(":streamprocessor/door")
                statuses.append(body["Status"])
    assert statuses == ["RUNNING", "STOPPED"]
    rekognition.delete_stream_processor(Name="door")


def test_max_duration_stops_the_processor_by_itself(rekognition, aws):
    output, reader = kinesis_output(aws, "limited")
    create(rekognition, "limited", output)
    started = time.time()
    rekognition.start_stream_processor(Name="limited", StopSelector={"MaxDurationInSeconds": 3})
    wait_status(rekognition, "limited", {"STOPPED"}, 60)
    while reader.read():
        pass
    assert reader.records, "no record before it stopped"
    last = max(record["InputInformation"]["KinesisVideo"]["ServerTimestamp"] for record in reader.records)
    assert last - started < 3 + 4  # the deadline is checked every second, between frames
    rekognition.delete_stream_processor(Name="limited")


def test_a_camera_outage_ends_with_the_processor_running_again(rekognition, aws, camera):
    output, reader = kinesis_output(aws, "outage")
    create(rekognition, "outage", output)
    rekognition.start_stream_processor(Name="outage")
    reader.read_until(lambda records: len(records) >= 3, 60, "records before the outage")
    camera.stop()
    try:
        deadline = time.monotonic() + 60
        while not (described := rekognition.describe_stream_processor(Name="outage")).get("StatusMessage"):
            assert time.monotonic() < deadline, "the outage was not reported"
            time.sleep(0.2)
        assert described["Status"] == "RUNNING" and "reconnecting" in described["StatusMessage"]
    finally:
        camera.start()
    restarted = time.time()
    reader.read_until(
        lambda records: any(r["InputInformation"]["KinesisVideo"]["ServerTimestamp"] > restarted for r in records),
        90,
        "records after the camera came back",
    )
    described = wait_status(rekognition, "outage", {"RUNNING"})
    deadline = time.monotonic() + 30
    while "StatusMessage" in described:
        assert time.monotonic() < deadline, described["StatusMessage"]
        time.sleep(0.2)
        described = rekognition.describe_stream_processor(Name="outage")
    rekognition.stop_stream_processor(Name="outage")
    wait_status(rekognition, "outage", {"STOPPED"})
    rekognition.delete_stream_processor(Name="outage")


def test_files_and_http_videos_play_like_cameras(rekognition, aws):
    readers = {}
    for stream in ("recorded", "downloaded"):
        output, readers[stream] = kinesis_output(aws, stream)
        create(rekognition, stream, output, stream=stream)
        rekognition.start_stream_processor(Name=stream)
    started = time.time()
    for stream, reader in readers.items():
        records = reader.read_until(
            lambda records: bool(records) and frame_time(records[-1]) - frame_time(records[0]) > 4, 60, stream
        )
        assert time.time() - started > 4 - 0.5, "read faster than it plays"
        assert any(matched(record, "lin") for record in records)
    for stream in readers:
        rekognition.stop_stream_processor(Name=stream)
        wait_status(rekognition, stream, {"STOPPED"})
        rekognition.delete_stream_processor(Name=stream)


def test_regions_of_interest_keep_only_the_faces_inside(rekognition, aws):
    output, reader = kinesis_output(aws, "regions")
    right_third = {"BoundingBox": {"Left": 2 / 3, "Top": 0, "Width": 1 / 3, "Height": 1}}
    create(rekognition, "regions", output, RegionsOfInterest=[right_third])
    rekognition.start_stream_processor(Name="regions")
    records = reader.read_until(
        lambda records: bool(records) and frame_time(records[-1]) - frame_time(records[0]) > CLIP_SECONDS,
        90,
        "a loop of the clip",
    )
    rekognition.stop_stream_processor(Name="regions")
    faces = [face["DetectedFace"]["BoundingBox"] for record in records for face in record["FaceSearchResponse"]]
    assert faces, "the audience shot has faces on the right"
    for box in faces:  # more than half of each face inside the region
        inside = max(0.0, box["Left"] + box["Width"] - max(box["Left"], 2 / 3))
        assert inside / box["Width"] > 0.5, box
    frontal = [
        record for at, record in zip(clip_times(records), records, strict=True) if FRONTAL[0] <= at <= FRONTAL[1]
    ]
    assert frontal and not any(matched(record, "lin") for record in frontal), "he stands left of the region"
    wait_status(rekognition, "regions", {"STOPPED"})
    rekognition.delete_stream_processor(Name="regions")


def test_an_unreachable_camera_fails_the_processor_with_a_message(rekognition, aws, notifications):
    output, _ = kinesis_output(aws, "unreachable")
    create(rekognition, "unreachable", output, stream="nowhere")
    rekognition.start_stream_processor(Name="unreachable")
    failed = wait_status(rekognition, "unreachable", {"FAILED"}, 60)
    assert failed["StatusMessage"].startswith("Cannot read the source rtsp://127.0.0.1:"), failed["StatusMessage"]
    # A failed processor can be started again (and fails again), and deleted.
    rekognition.start_stream_processor(Name="unreachable")
    assert rekognition.describe_stream_processor(Name="unreachable")["Status"] in {"STARTING", "FAILED"}
    wait_status(rekognition, "unreachable", {"FAILED"}, 60)
    rekognition.delete_stream_processor(Name="unreachable")


def test_a_missing_output_stream_fails_the_processor(rekognition):
    missing_stream = {"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/never-created"}}
    create(rekognition, "no-output", missing_stream)
    rekognition.start_stream_processor(Name="no-output")
    failed = wait_status(rekognition, "no-output", {"FAILED"}, 60)
    assert "ResourceNotFoundException" in failed["StatusMessage"] and "never-created" in failed["StatusMessage"]
    rekognition.delete_stream_processor(Name="no-output")


def test_deleting_the_collection_fails_a_running_processor(rekognition, aws):
    rekognition.create_collection(CollectionId="short-lived")
    output, reader = kinesis_output(aws, "short-lived")
    create(rekognition, "short-lived", output, collection="short-lived")
    rekognition.start_stream_processor(Name="short-lived")
    reader.read_until(lambda records: len(records) >= 2, 60, "records")
    rekognition.delete_collection(CollectionId="short-lived")
    failed = wait_status(rekognition, "short-lived", {"FAILED"}, 30)
    assert (
        failed["StatusMessage"] == "The collection id: short-lived was deleted while the stream processor was running"
    )
    with pytest.raises(ClientError) as caught:
        rekognition.start_stream_processor(Name="short-lived")
    assert code(caught) == "ResourceNotFoundException"
    rekognition.delete_stream_processor(Name="short-lived")


def test_the_console_lists_processors_with_their_latest_matches(server, rekognition, aws, page):  # noqa: F811
    output, _ = kinesis_output(aws, "console")
    create(rekognition, "console-door", output)
    rekognition.start_stream_processor(Name="console-door")
    page.goto(f"{server.url}/console/#/streams")
    article = page.locator('article.stream[data-name="console-door"]')
    expect(article.locator(".status")).to_have_text("RUNNING", timeout=60_000)
    rows = article.locator("table.matches tbody tr")
    expect(rows.first.locator("td").nth(1)).to_have_text("lin", timeout=60_000)
    expect(rows).to_have_count(8, timeout=60_000)  # as many as the page shows
    expect(article).to_contain_text("Video stream hamilton · collection hamilton · threshold 80")
    screenshot(page, "streams")
    article.get_by_role("button", name="Stop").click()
    expect(article.locator(".status")).to_have_text("STOPPED", timeout=30_000)
    rekognition.delete_stream_processor(Name="console-door")

"""``rekollect index|search|compare|detect|paths``: the client tools, run as subprocesses against a real server.

They run as on a fresh machine: no AWS variables, an empty home (no ``~/.aws``), so the loopback
defaults (region ``us-east-1``, key ``local``) are what lets them sign requests.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import FACES, MotoServer, ServerProcess, run_measured

from rekollect.tools.client import DEFAULT_ENDPOINT, is_loopback, resolve_endpoint
from rekollect.tools.sources import external_image_id, sanitize_external_image_id

PEOPLE = {
    "Kit_Harington": ["john1.jpeg"],
    "Rose_Leslie": ["img1.jpg", "img2.jpg"],
    "Barack_Obama": ["obama.jpg"],
}


def tool(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m rekollect ARGS`` with no AWS configuration at all, its state under ``home``."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "REKOLLECT_"))}
    clean |= {"HOME": str(home), "XDG_STATE_HOME": str(home / "state"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rekollect", *args], capture_output=True, text=True, env=clean, timeout=120
    )


def photo_folder(root: Path, people: dict[str, list[str]]) -> Path:
    """``root/<person>/<file>`` copied from the shared data set (at test time, never into the repo)."""
    for person, files in people.items():
        (root / person).mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copy(FACES / "people" / person / name, root / person / name)
    return root


@pytest.fixture(scope="module")
def indexed(server, rekognition, tmp_path_factory):
    """A collection made by ``rekollect index --create`` from person folders and one bad file; its first run."""
    root = tmp_path_factory.mktemp("tools")
    photos = photo_folder(root / "photos", PEOPLE)
    (photos / "notes.jpg").write_text("not an image")
    (photos / "readme.txt").write_text("not even named like an image: skipped")
    first = tool(
        root / "home",
        "index",
        str(photos),
        "--collection-id",
        "tools",
        "--create",
        "--external-image-id",
        "folder",
        "--workers",
        "3",
        "--endpoint-url",
        server.url,
    )
    yield root, photos, first
    rekognition.delete_collection(CollectionId="tools")


def test_index_reports_progress_failures_and_a_summary(indexed, rekognition):
    _, _, first = indexed
    assert first.returncode == 1, first.stderr
    assert "img/s" in first.stderr and "faces=" in first.stderr  # the progress bar
    failures = [line for line in first.stderr.splitlines() if "FAILED" in line]
    assert len(failures) == 1 and "notes.jpg: InvalidImageFormatException" in failures[0], first.stderr
    assert "images found" in first.stdout and "InvalidImageFormatException" in first.stdout
    faces = rekognition.list_faces(CollectionId="tools")["Faces"]
    assert sorted(face["ExternalImageId"] for face in faces) == sorted(
        person for person, files in PEOPLE.items() for _ in files
    )


def test_index_resumes_without_indexing_twice(indexed, server, rekognition):
    root, photos, _ = indexed
    before = rekognition.describe_collection(CollectionId="tools")["FaceCount"]
    again = tool(
        root / "home", "index", str(photos), "--collection-id", "tools", "--json", "--endpoint-url", server.url
    )
    assert again.returncode == 1  # notes.jpg still fails
    result = json.loads(again.stdout)
    assert (result["images"], result["indexed"], result["skipped"], result["failed"]) == (5, 0, 4, 1)
    assert result["failures"][0]["error"].startswith("InvalidImageFormatException")
    assert result["collection_face_count"] == before == 4
    assert rekognition.describe_collection(CollectionId="tools")["FaceCount"] == before

    (photos / "notes.jpg").unlink()
    photo_folder(photos, {"Kit_Harington": ["john2.jpeg"]})
    more = tool(root / "home", "index", str(photos), "--collection-id", "tools", "--json", "--endpoint-url", server.url)
    assert more.returncode == 0, more.stderr
    result = json.loads(more.stdout)
    assert (result["indexed"], result["skipped"], result["failed"], result["faces_indexed"]) == (1, 4, 0, 1)
    assert rekognition.describe_collection(CollectionId="tools")["FaceCount"] == before + 1


def test_an_interrupted_run_resumes_where_it_stopped(server, rekognition, tmp_path):
    """Ctrl-C (SIGINT) mid-run: exit 130, and the next run sends only what the first did not finish."""
    photos = photo_folder(tmp_path / "photos", {"deepface_person_04": ["img13.jpg", "img14.jpg", "img15.jpg"]})
    photo_folder(photos, {"deepface_person_05": ["img16.jpg", "img17.jpg", "img59.jpg", "img61.jpg", "img62.jpg"]})
    state = tmp_path / "state.jsonl"
    command = ["index", str(photos), "--collection-id", "tools-sigint", "--create", "--state", str(state)]
    command += ["--workers", "1", "--json", "--endpoint-url", server.url]
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "REKOLLECT_"))}
    first = subprocess.Popen(
        [sys.executable, "-m", "rekollect", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, "HOME": str(tmp_path)},
    )
    try:
        deadline = time.monotonic() + 60
        while not (state.is_file() and state.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=60)
        assert first.returncode == 130 and "interrupted" in stderr, stderr
        done = [json.loads(line) for line in state.read_text().splitlines()]
        assert 1 <= len(done) < 8
        again = tool(tmp_path, *command)
        assert again.returncode == 0, again.stderr
        result = json.loads(again.stdout)
        assert (result["skipped"], result["indexed"]) == (len(done), 8 - len(done))
        every = [json.loads(line) for line in state.read_text().splitlines()]
        assert sorted(entry["source"] for entry in every) == sorted(str(p) for p in photos.rglob("*.jpg"))
        stored = sum(len(entry["face_ids"]) for entry in every)
        assert (
            result["collection_face_count"]
            == stored
            == len(rekognition.list_faces(CollectionId="tools-sigint")["Faces"])
        )
    finally:
        first.kill()
        rekognition.delete_collection(CollectionId="tools-sigint")


class HeldRekognition:
    """A loopback endpoint answering DescribeCollection at once and IndexFaces (with one new face) only
    once ``release`` is set; ``in_flight`` counts the IndexFaces requests it holds, ``answered`` those
    it answered."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.in_flight = 0
        self.answered = 0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers["X-Amz-Target"].endswith("DescribeCollection"):
                    body = {
                        "FaceCount": endpoint.answered,
                        "FaceModelVersion": "2.0",
                        "CollectionARN": "arn:aws:rekognition:us-east-1:000000000000:collection/held",
                        "CreationTimestamp": 1764556800.0,
                    }
                else:
                    with endpoint.lock:
                        endpoint.in_flight += 1
                    endpoint.release.wait(120)
                    face = {"FaceId": str(uuid.uuid4()), "ImageId": str(uuid.uuid4()), "Confidence": 99.0}
                    body = {"FaceRecords": [{"Face": face, "FaceDetail": {"Confidence": 99.0}}], "UnindexedFaces": []}
                    with endpoint.lock:
                        endpoint.in_flight -= 1
                        endpoint.answered += 1
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_answers_its_requests_in_flight_and_resumes_without_repeats(tmp_path, sig):
    """SIGTERM (as systemd and Docker stop a process) drains the requests in flight like Ctrl-C: with
    --external-image-id none, where the service cannot tell a repeat, no photo is sent twice."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for number in range(10):
        shutil.copy(FACES / "people/Barack_Obama/obama.jpg", photos / f"p{number}.jpg")
    endpoint = HeldRekognition()
    state = tmp_path / "state.jsonl"
    command = [sys.executable, "-m", "rekollect", "index", str(photos), "--collection-id", "held", "--state", str(state)]
    command += ["--external-image-id", "none", "--workers", "4", "--no-progress", "--json", "--endpoint-url", endpoint.url]
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "REKOLLECT_"))}
    env = {**clean, "HOME": str(tmp_path)}
    try:
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in first.stderr], daemon=True).start()
        deadline = time.monotonic() + 60
        while endpoint.in_flight < 4:  # every worker waits on the endpoint
            assert time.monotonic() < deadline and first.poll() is None, "the requests never reached the endpoint"
            time.sleep(0.02)
        first.send_signal(sig)
        while "stopping: waiting for the requests in flight" not in lines.get(timeout=60):
            pass
        endpoint.release.set()  # only now are the held requests answered
        first.wait(timeout=60)
        assert first.returncode == (143 if sig == signal.SIGTERM else 130)
        assert endpoint.answered == 4
        assert len(state.read_text().splitlines()) == 4  # each answered request recorded
        again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert again.returncode == 0, again.stderr
        assert (json.loads(again.stdout)["skipped"], endpoint.answered) == (4, 10)
        assert sorted(json.loads(line)["source"] for line in state.read_text().splitlines()) == sorted(
            str(path) for path in photos.iterdir()
        )
    finally:
        endpoint.close()


def test_files_over_the_limit_are_not_read_and_odd_paths_are_refused(tmp_path):
    """A 1 GiB sparse file named .jpg is stat'ed and not read; a FIFO or /dev/zero named on the command
    line is refused; a name's control characters are printed escaped."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(FACES / "people/Barack_Obama/obama.jpg", photos / "obama.jpg")
    big = photos / "big\x1b[2J\r\x07.jpg"
    with open(big, "wb") as handle:
        handle.truncate(1 << 30)
    endpoint = HeldRekognition()
    endpoint.release.set()
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "REKOLLECT_"))}
    env = {**clean, "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "rekollect", "index", "--collection-id", "held", "--no-progress"]
    command += ["--endpoint-url", endpoint.url, "--state", str(tmp_path / "state.jsonl")]
    try:
        status, stdout, stderr, peak = run_measured([*command[3:], str(photos)], tmp_path, env=env)
        assert status == 1, stderr
        assert "FAILED " in stderr and "ImageTooLargeException: not sent: 1073741824 bytes" in stderr
        assert "\x1b" not in stderr + stdout and "\a" not in stderr + stdout and "\r" not in stderr
        assert "big\\x1b[2J\\r\\x07.jpg" in stderr
        assert peak < 512 << 20, "the large file was read"
        assert endpoint.answered == 1

        fifo = tmp_path / "pipe.jpg"
        os.mkfifo(fifo)
        for odd in (str(fifo), "/dev/zero"):
            refused = subprocess.run([*command, odd], capture_output=True, text=True, env=env, timeout=60)
            assert refused.returncode == 2 and f"{odd}: not a regular file or a folder" in refused.stderr
    finally:
        endpoint.close()


def test_search_finds_the_right_person(indexed, server, rekognition):
    root, _, _ = indexed
    probe = str(FACES / "people/Rose_Leslie/img2.jpg")
    found = tool(root / "home", "search", probe, "--collection-id", "tools", "--json", "--endpoint-url", server.url)
    assert found.returncode == 0, found.stderr
    (face,) = json.loads(found.stdout)["Faces"]
    assert {m["Face"]["ExternalImageId"] for m in face["Search"]["FaceMatches"]} == {"Rose_Leslie"}
    text = tool(root / "home", "search", probe, "--collection-id", "tools", env={"REKOLLECT_ENDPOINT_URL": server.url})
    assert text.returncode == 0 and "Rose_Leslie" in text.stdout and "Kit_Harington" not in text.stdout

    rekognition.create_user(CollectionId="tools", UserId="kit")
    kit_faces = [
        face["FaceId"]
        for face in rekognition.list_faces(CollectionId="tools")["Faces"]
        if face["ExternalImageId"] == "Kit_Harington"
    ]
    assert kit_faces
    rekognition.associate_faces(CollectionId="tools", UserId="kit", FaceIds=kit_faces)
    users = tool(
        root / "home",
        "search",
        str(FACES / "people/Kit_Harington/johnsnow_test1.jpg"),
        "--collection-id",
        "tools",
        "--users",
        "--json",
        "--endpoint-url",
        server.url,
    )
    assert users.returncode == 0, users.stderr
    (face,) = json.loads(users.stdout)["Faces"]
    assert [m["User"]["UserId"] for m in face["Search"]["UserMatches"]] == ["kit"]
    rekognition.delete_user(CollectionId="tools", UserId="kit")


def test_search_identifies_every_face_of_a_group_photo(indexed, server, tmp_path):
    """Kit Harington and Rose Leslie are both in the photo, and both in the collection: each is named on
    its own box (the largest face alone would name one of them)."""
    root, _, _ = indexed
    photo = FACES / "groups/kit_with_rose.jpg"
    drawn = tmp_path / "labelled.jpg"
    found = tool(root / "home", "search", str(photo), "--collection-id", "tools", "--json", "--draw", str(drawn),
                 "--endpoint-url", server.url)  # fmt: skip
    assert found.returncode == 0, found.stderr
    faces = json.loads(found.stdout)["Faces"]
    assert len(faces) == 2
    best = [face["Search"]["FaceMatches"][0]["Face"]["ExternalImageId"] for face in faces]
    assert sorted(best) == ["Kit_Harington", "Rose_Leslie"]
    assert all(face["Search"]["FaceMatches"][0]["Similarity"] >= 80 for face in faces)
    # Each face's match is on its own box: Rose Leslie's face is left of Kit Harington's in this photo.
    by_name = {name: face["BoundingBox"]["Left"] for name, face in zip(best, faces, strict=True)}
    detected = tool(root / "home", "detect", str(photo), "--json", "--endpoint-url", server.url)
    lefts = sorted(face["BoundingBox"]["Left"] for face in json.loads(detected.stdout)["FaceDetails"])
    assert sorted(by_name.values()) == lefts
    assert Image.open(drawn).size == Image.open(photo).size
    text = tool(root / "home", "search", str(photo), "--collection-id", "tools", "--endpoint-url", server.url)
    assert "#1" in text.stdout and "#2" in text.stdout


def test_compare(server, tmp_path):
    compared = tool(
        tmp_path,
        "compare",
        str(FACES / "people/Kit_Harington/john1.jpeg"),
        str(FACES / "groups/kit_with_rose.jpg"),
        "--json",
        "--endpoint-url",
        server.url,
    )
    assert compared.returncode == 0, compared.stderr
    result = json.loads(compared.stdout)
    assert len(result["FaceMatches"]) == 1 and len(result["UnmatchedFaces"]) == 1


def test_detect_draws_the_faces_on_a_copy(server, tmp_path):
    photo = FACES / "groups/kit_with_rose.jpg"
    out = tmp_path / "drawn.jpg"
    detected = tool(tmp_path, "detect", str(photo), "--draw", str(out), "--json", "--endpoint-url", server.url)
    assert detected.returncode == 0, detected.stderr
    faces = json.loads(detected.stdout)["FaceDetails"]
    assert len(faces) == 2 and all("AgeRange" in face and "Smile" in face for face in faces)
    original = Image.open(photo).convert("RGB")
    drawn = Image.open(out)
    assert drawn.format == "JPEG" and drawn.size == original.size
    before, after = np.asarray(original, dtype=np.int16), np.asarray(drawn.convert("RGB"), dtype=np.int16)
    width, height = original.size
    for face in faces:
        box = face["BoundingBox"]
        left, top = int(box["Left"] * width), int(box["Top"] * height)
        right, bottom = int(left + box["Width"] * width), int(top + box["Height"] * height)
        inside = np.abs(after[top:bottom, left:right] - before[top:bottom, left:right]).max(axis=2)
        assert (inside > 60).mean() > 0.02  # the outline and landmark dots, not JPEG noise
    text = tool(tmp_path, "detect", str(photo), "--endpoint-url", server.url)
    assert text.returncode == 0 and "Female" in text.stdout and "Male" in text.stdout


def test_index_lists_s3_prefixes(server, rekognition, buckets, tmp_path):
    """``s3://`` sources are listed through S3 (moto here) and sent as ``Image.S3Object`` references."""
    moto = MotoServer().start()
    try:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="tools-photos")
        photo = (FACES / "people/Kit_Harington/john1.jpeg").read_bytes()
        s3.put_object(Bucket="tools-photos", Key="staff/Kit_Harington/a.jpeg", Body=photo)
        s3.put_object(Bucket="tools-photos", Key="other/b.jpg", Body=b"outside the prefix: never sent")
        # The server reads S3Object references from its local root (the session server has no S3 endpoint).
        (buckets / "tools-photos/staff/Kit_Harington").mkdir(parents=True)
        (buckets / "tools-photos/staff/Kit_Harington/a.jpeg").write_bytes(photo)
        run = tool(
            tmp_path,
            "index",
            "s3://tools-photos/staff/",
            "--collection-id",
            "tools-s3",
            "--create",
            "--external-image-id",
            "folder",
            "--json",
            "--endpoint-url",
            server.url,
            "--s3-endpoint-url",
            moto.url,
            env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        )
        assert run.returncode == 0, run.stderr
        assert (json.loads(run.stdout)["images"], json.loads(run.stdout)["faces_indexed"]) == (1, 1)
        faces = rekognition.list_faces(CollectionId="tools-s3")["Faces"]
        assert [face["ExternalImageId"] for face in faces] == ["Kit_Harington"]
    finally:
        moto.stop()
        rekognition.delete_collection(CollectionId="tools-s3")


def test_errors_are_named_and_exit_non_zero(server, tmp_path):
    """Every tool's errors go through one handler: a line naming the error, never a traceback."""
    photo = str(FACES / "people/Kit_Harington/john1.jpeg")
    stopped = "http://127.0.0.1:9"  # nothing listens there
    runs = {
        "search": tool(tmp_path, "search", photo, "--collection-id", "no-such", "--endpoint-url", server.url),
        "index": tool(tmp_path, "index", photo, "--collection-id", "no-such", "--endpoint-url", server.url),
        "cluster": tool(tmp_path, "cluster", "--collection-id", "no-such", "--endpoint-url", server.url),
        "cluster job": tool(tmp_path, "cluster", "--job-id", "no-such-job", "--endpoint-url", server.url),
    }
    for name, run in runs.items():
        assert run.returncode == 1 and "ResourceNotFoundException" in run.stderr, name
    for command in (["detect", photo], ["cluster", "--collection-id", "c"], ["index", photo, "--collection-id", "c"]):
        run = tool(tmp_path, *command, "--endpoint-url", stopped)
        assert run.returncode == 1 and f"cannot reach {stopped}" in run.stderr, command
        runs[command[0]] = run
    # Not loopback: boto3's chain alone, which has nothing on this "fresh machine".
    remote = tool(tmp_path, "detect", photo, "--endpoint-url", "http://192.0.2.1:8085")
    assert remote.returncode == 1 and "AWS_DEFAULT_REGION" in remote.stderr
    usage = tool(tmp_path, "cluster", "--endpoint-url", server.url)
    assert usage.returncode == 2 and "--collection-id" in usage.stderr
    assert not any("Traceback" in run.stderr for run in [*runs.values(), remote, usage])


def test_every_tool_takes_the_same_connection_flags(tmp_path):
    """--endpoint-url, --region, --aws and --json, for each tool; --region is the requests' region."""
    from rekollect.tools.main import _parser

    commands = _parser()._subparsers._group_actions[0].choices
    for name, command in commands.items():
        if name == "paths":
            continue  # not a client: it reads the server's settings
        flags = {option for action in command._actions for option in action.option_strings}
        assert {"--endpoint-url", "--region", "--aws", "--json"} <= flags, name
    # A server whose signatures must be scoped to eu-west-3: each tool reaches it with --region only.
    keys = {"AWS_ACCESS_KEY_ID": "AKIDREGION", "AWS_SECRET_ACCESS_KEY": "region-secret"}
    signed = ServerProcess(
        tmp_path / "data", "--region", "eu-west-3",
        env={"REKOLLECT_ACCESS_KEY_ID": "AKIDREGION", "REKOLLECT_SECRET_ACCESS_KEY": "region-secret"},
    ).start()  # fmt: skip
    try:
        photo = str(FACES / "people/Kit_Harington/john1.jpeg")
        for command in (
            ["detect", photo],
            ["search", photo, "--collection-id", "none-here"],
            ["index", photo, "--collection-id", "none-here"],
            ["cluster", "--job-id", "none-here"],
        ):
            wrong = tool(tmp_path, *command, "--endpoint-url", signed.url, env=keys)
            assert wrong.returncode == 1 and "eu-west-3" in wrong.stderr, (command, wrong.stderr)
            right = tool(tmp_path, *command, "--region", "eu-west-3", "--endpoint-url", signed.url, env=keys)
            assert right.returncode == 0 or "ResourceNotFoundException" in right.stderr, (command, right.stderr)
    finally:
        signed.stop()


def test_index_names_the_images_without_a_face_and_associates_known_people(server, rekognition, tmp_path):
    photos = photo_folder(tmp_path / "photos", {"Barack_Obama": ["obama.jpg", "obama1.jpg"], "Joe_Biden": ["biden.jpg"]})
    shutil.copy(FACES / "nonfaces/rocket.jpg", photos / "rocket.jpg")
    first = tool(tmp_path, "index", str(photos), "--collection-id", "tools-known", "--create", "--external-image-id",
                 "folder", "--json", "--endpoint-url", server.url)  # fmt: skip
    try:
        assert first.returncode == 0, first.stderr
        result = json.loads(first.stdout)
        assert result["images_without_faces"] == [{"source": str(photos / "rocket.jpg"), "why": "no face found"}]
        text = tool(tmp_path, "index", str(photos / "rocket.jpg"), "--collection-id", "tools-known", "--state",
                    str(tmp_path / "other-state"), "--endpoint-url", server.url)  # fmt: skip
        assert "rocket.jpg" in text.stdout and "no face found" in text.stdout

        obama = [f["FaceId"] for f in rekognition.list_faces(CollectionId="tools-known")["Faces"] if f["ExternalImageId"] == "Barack_Obama"]
        rekognition.create_user(CollectionId="tools-known", UserId="obama")
        rekognition.associate_faces(CollectionId="tools-known", UserId="obama", FaceIds=obama)
        arrivals = photo_folder(tmp_path / "arrivals", {"Barack_Obama": ["obama3.jpg"], "Kit_Harington": ["john1.jpeg"]})
        shutil.copy(FACES / "groups/obama_and_biden.jpg", arrivals / "group.jpg")
        run = tool(tmp_path, "index", str(arrivals), "--collection-id", "tools-known", "--associate-users", "--json",
                   "--endpoint-url", server.url)  # fmt: skip
        assert run.returncode == 0, run.stderr
        done = json.loads(run.stdout)["associations"]
        associated = {(entry["source"].split("/")[-1], entry["user_id"]) for entry in done if entry["outcome"] == "associated"}
        assert associated == {("obama3.jpg", "obama"), ("group.jpg", "obama")}
        assert all(entry["similarity"] >= 75 for entry in done if entry["outcome"] == "associated")
        assert {entry["source"].split("/")[-1] for entry in done if entry["outcome"] == "no matching user"} >= {"john1.jpeg"}
        assert "-> user obama" in run.stderr  # said as it happens
        users_faces = rekognition.list_faces(CollectionId="tools-known", UserId="obama")["Faces"]
        assert len(users_faces) == len(obama) + 2
    finally:
        rekognition.delete_collection(CollectionId="tools-known")


def test_paths_follow_the_server_settings(tmp_path):
    default = tool(tmp_path, "paths", "--json", env={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert json.loads(default.stdout) == {
        "data-dir": str(tmp_path / "xdg" / "rekollect"),
        "s3-local-root": str(tmp_path / "xdg" / "rekollect" / "s3"),
    }
    flagged = tool(tmp_path, "paths", "--json", "--data-dir", str(tmp_path / "d"), "--s3-local-root", "/srv/s3")
    assert json.loads(flagged.stdout) == {"data-dir": str(tmp_path / "d"), "s3-local-root": "/srv/s3"}
    one = tool(tmp_path, "paths", "s3-local-root", "--data-dir", str(tmp_path / "d"))
    assert one.stdout == f"{tmp_path / 'd' / 's3'}\n"


def test_external_image_ids_fit_the_service_pattern():
    assert sanitize_external_image_id("José María/photo 1 (copy).jpg") == "Jose_Maria_photo_1__copy_.jpg"
    assert sanitize_external_image_id("x" * 300) == "x" * 255
    assert sanitize_external_image_id("写真") is None
    assert external_image_id("a b.png", "Rose Leslie", "folder") == "Rose_Leslie"
    assert external_image_id("a b.png", "Rose Leslie", "file") == "a_b.png"
    assert external_image_id("a.png", "x", "none") is None


def test_endpoint_resolution(monkeypatch):
    for name in ("REKOLLECT_ENDPOINT_URL", "AWS_ENDPOINT_URL_REKOGNITION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert resolve_endpoint(None, use_aws=False) == DEFAULT_ENDPOINT
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws-env:1")
    assert resolve_endpoint(None, use_aws=False) == "http://aws-env:1"
    monkeypatch.setenv("REKOLLECT_ENDPOINT_URL", "http://rekollect-env:2")
    assert resolve_endpoint(None, use_aws=False) == "http://rekollect-env:2"
    assert resolve_endpoint("http://flag:3", use_aws=False) == "http://flag:3"
    assert resolve_endpoint("http://flag:3", use_aws=True) is None
    assert [is_loopback(url) for url in ("http://127.0.0.1:8085", "http://[::1]:1", "http://localhost")] == [True] * 3
    assert [is_loopback(url) for url in ("http://10.0.0.1", "https://rekognition.us-east-1.amazonaws.com", None)] == [
        False
    ] * 3

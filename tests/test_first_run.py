"""What a new user meets first: ``rekollect --help``, the start-up log naming the console, ``/``
opening the console, a busy port as one clear error, ``rekollect keys create``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import boto3
import pytest
from support import ServerProcess

from rekollect.cli import COMMANDS
from rekollect.operations import OPERATIONS, VIDEO_OPERATIONS
from rekollect.security.keys import NO_COLLECTION_ACTIONS
from rekollect.tools import COMMANDS as TOOL_COMMANDS
from rekollect.wire.service_model import DATA_PATH, extensions_model, rekognition_model


def rekollect(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rekollect", *args], capture_output=True, text=True, timeout=timeout)


def test_help_lists_every_command():
    shown = rekollect("--help")
    assert shown.returncode == 0
    listed = re.findall(r"^    (\S+)", shown.stdout, re.M)
    assert listed == list(COMMANDS)
    assert set(TOOL_COMMANDS) | {"install", "serve", "collection", "keys"} == set(COMMANDS)
    for command in COMMANDS:
        assert rekollect(command, "--help").returncode == 0, command


def test_the_root_opens_the_console_and_the_log_names_it(server):
    with urllib.request.urlopen(f"{server.url}/", timeout=10) as response:  # follows the redirect
        assert response.url == f"{server.url}/console/" and b"Rekollect console" in response.read()
    assert f"web console: {server.url}/console/" in server.log.read_text()


def test_a_busy_port_is_one_clear_error(server, tmp_path):
    second = rekollect("serve", "--port", str(server.port), "--data-dir", str(tmp_path / "data"), timeout=60)
    assert second.returncode == 1
    assert f"port {server.port} on 127.0.0.1 is already in use" in second.stderr and "--port" in second.stderr
    assert "Traceback" not in second.stderr and "serving on" not in second.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_keys_create_adds_a_working_key_with_its_policy(tmp_path, monkeypatch):
    credentials = tmp_path / "credentials.json"
    made = rekollect("keys", "create", "--credentials-file", str(credentials), "--policy", "read-only",
                     "--collection", "staff")  # fmt: skip
    assert made.returncode == 0, made.stderr
    key_id = made.stdout.split("access key id:")[1].split()[0]
    secret = made.stdout.split("secret access key:")[1].split()[0]
    assert key_id.startswith("AKRK") and len(key_id) == 20 and len(secret) == 40
    assert credentials.stat().st_mode & 0o777 == 0o600
    other = rekollect("keys", "create", "--credentials-file", str(credentials))
    assert other.returncode == 0 and len(json.loads(credentials.read_text())["credentials"]) == 2
    taken = rekollect("keys", "create", "--credentials-file", str(credentials), "--access-key-id", key_id)
    assert taken.returncode == 1 and "already has the access key id" in taken.stderr

    server = ServerProcess(tmp_path / "data", "--credentials-file", str(credentials)).start()
    try:
        client = boto3.client("rekognition", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id=key_id, aws_secret_access_key=secret)  # fmt: skip
        assert client.list_collections()["CollectionIds"] == []  # read-only: lists and reads
        with pytest.raises(client.exceptions.AccessDeniedException):  # writes nothing
            client.create_collection(CollectionId="staff")
        with pytest.raises(client.exceptions.AccessDeniedException):  # only collection staff
            client.describe_collection(CollectionId="elsewhere")
        with pytest.raises(client.exceptions.ResourceNotFoundException):  # allowed; it just does not exist
            client.describe_collection(CollectionId="staff")
        # The extension operations are signed and authorized alike: face pictures are a Get* of the collection.
        monkeypatch.setenv("AWS_DATA_PATH", str(DATA_PATH))
        pictures = boto3.session.Session().client(
            "rekollect-extensions", endpoint_url=server.url, region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
        )  # fmt: skip
        face_id = "00000000-0000-4000-8000-000000000000"
        with pytest.raises(pictures.exceptions.AccessDeniedException):
            pictures.get_face_crops(CollectionId="elsewhere", FaceIds=[face_id])
        with pytest.raises(pictures.exceptions.ResourceNotFoundException):
            pictures.get_face_crops(CollectionId="staff", FaceIds=[face_id])
    finally:
        server.stop()


def test_the_operations_without_a_collection_are_those_keys_name():
    """``keys create --collection`` allows these on resource ``*``: every served operation whose request
    names no collection, tagged resource or stream processor (CollectionId, ResourceArn, a stream
    processor operation's Name)."""
    served = [(rekognition_model(), {**OPERATIONS, **VIDEO_OPERATIONS}), (extensions_model(), extensions_model().operation_names)]
    unscoped = {
        f"rekognition:{name}"
        for model, names in served
        for name in names
        if not {"CollectionId", "ResourceArn"} & set(model.operation_model(name).input_shape.members)
        and "StreamProcessor" not in name
    }
    assert unscoped == set(NO_COLLECTION_ACTIONS)

"""The real ``aws`` CLI against the server: the commands a newcomer types."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from support import FACES

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def aws(server, *args: str) -> dict:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    completed = subprocess.run(
        [AWS, "rekognition", *args, "--endpoint-url", server.url, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout) if completed.stdout.strip() else {}


def test_cli_workflow(server):
    assert AWS, "the aws CLI comes with the test extra (awscli)"
    aws(server, "create-collection", "--collection-id", "cli")
    try:
        indexed = aws(
            server,
            "index-faces",
            "--collection-id",
            "cli",
            "--image-bytes",
            f"fileb://{FACES / 'people/Kit_Harington/john1.jpeg'}",
            "--external-image-id",
            "kit",
        )
        assert len(indexed["FaceRecords"]) == 1
        aws(
            server,
            "index-faces",
            "--collection-id",
            "cli",
            "--image-bytes",
            f"fileb://{FACES / 'people/Rose_Leslie/img2.jpg'}",
            "--external-image-id",
            "rose",
        )
        found = aws(
            server,
            "search-faces-by-image",
            "--collection-id",
            "cli",
            "--image-bytes",
            f"fileb://{FACES / 'people/Kit_Harington/john2.jpeg'}",
        )
        assert [match["Face"]["ExternalImageId"] for match in found["FaceMatches"]] == ["kit"]
        detected = aws(server, "detect-faces", "--image-bytes", f"fileb://{FACES / 'groups/kit_with_rose.jpg'}")
        assert len(detected["FaceDetails"]) == 2
    finally:
        aws(server, "delete-collection", "--collection-id", "cli")

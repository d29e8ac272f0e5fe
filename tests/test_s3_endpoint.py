"""Image.S3Object read through boto3 from a real S3-compatible server (moto's)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from support import MotoServer, ServerProcess, image_bytes

from rekollect.core.images import MAX_BYTES_S3
from rekollect.core.objects import S3ObjectSource
from rekollect.errors import InvalidS3ObjectException


@pytest.fixture(scope="module")
def s3_server():
    moto = MotoServer().start()
    yield moto
    moto.stop()


def test_images_come_from_the_s3_endpoint(tmp_path, s3_server):
    s3 = s3_server.client("s3")
    s3.create_bucket(Bucket="photos")
    s3.put_object(Bucket="photos", Key="kit/john1.jpeg", Body=image_bytes("people/Kit_Harington/john1.jpeg"))
    s3.put_object(Bucket="photos", Key="huge.jpg", Body=b"\xff\xd8\xff" + b"\0" * (15 * 1024 * 1024))
    server = ServerProcess(
        tmp_path / "data",
        "--s3-endpoint-url",
        s3_server.url,
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    ).start()
    try:
        client = server.client()
        client.create_collection(CollectionId="from-s3")
        indexed = client.index_faces(
            CollectionId="from-s3", Image={"S3Object": {"Bucket": "photos", "Name": "kit/john1.jpeg"}}
        )
        assert len(indexed["FaceRecords"]) == 1
        for name, expected in (("missing.jpg", "InvalidS3ObjectException"), ("huge.jpg", "ImageTooLargeException")):
            with pytest.raises(ClientError) as caught:
                client.detect_faces(Image={"S3Object": {"Bucket": "photos", "Name": name}})
            assert caught.value.response["Error"]["Code"] == expected
        with pytest.raises(ClientError) as caught:
            client.detect_faces(Image={"S3Object": {"Bucket": "no-such-bucket", "Name": "x.jpg"}})
        assert caught.value.response["Error"]["Code"] == "InvalidS3ObjectException"
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("name", "version"),
    [("\ud800.jpg", None), ("face.jpg", "\udfff"), ("face\x00.jpg", None), ("x" * 300, None), ("\u00e9" * 1000, None)],
)
def test_names_no_object_can_have_are_invalid_s3_objects(s3_server, monkeypatch, name, version):
    """Lone surrogates cannot be encoded into the request URL; NUL and over-long names name no object."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3_server.client("s3").create_bucket(Bucket="names")
    with pytest.raises(InvalidS3ObjectException):
        S3ObjectSource(s3_server.url, "us-east-1").read("names", name, version, MAX_BYTES_S3)

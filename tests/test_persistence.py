"""Data survives a restart of the server, including one killed with SIGKILL."""

from __future__ import annotations

import signal

from support import ServerProcess, image_bytes


def test_collections_faces_and_tags_survive_restarts(tmp_path):
    data = tmp_path / "data"
    first = ServerProcess(data).start()
    try:
        client = first.client()
        client.create_collection(CollectionId="durable", Tags={"k": "v"})
        face_id = client.index_faces(
            CollectionId="durable", Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")}, ExternalImageId="o"
        )["FaceRecords"][0]["Face"]["FaceId"]
        token = client.list_faces(CollectionId="durable", MaxResults=1).get("NextToken")
    finally:
        first.stop(signal.SIGKILL)

    second = ServerProcess(data).start()
    try:
        client = second.client()
        assert client.describe_collection(CollectionId="durable")["FaceCount"] == 1
        arn = client.describe_collection(CollectionId="durable")["CollectionARN"]
        assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"k": "v"}
        matches = client.search_faces_by_image(
            CollectionId="durable", Image={"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}
        )["FaceMatches"]
        assert [match["Face"]["FaceId"] for match in matches] == [face_id]
        assert token is None
    finally:
        second.stop()

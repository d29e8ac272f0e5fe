"""Crash safety (SIGKILL mid-stream) and concurrent clients on one collection."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from support import ServerProcess, image_bytes

SMALL_FACES = [
    image_bytes("people/Barack_Obama/obama_small.jpg"),
    image_bytes("people/Tom_Hanks/Tom_Hanks_54745.png"),
    image_bytes("people/deepface_person_09/img25.jpg"),
]
CONNECTION_ERRORS = (ConnectionClosedError, EndpointConnectionError, ReadTimeoutError, ConnectionError)


def all_faces(client, collection: str) -> dict[str, dict]:
    faces, token = {}, None
    while True:
        page = client.list_faces(CollectionId=collection, MaxResults=100, **({"NextToken": token} if token else {}))
        faces.update({face["FaceId"]: face for face in page["Faces"]})
        token = page.get("NextToken")
        if not token:
            return faces


def assert_store_and_index_agree(client, collection: str, faces: dict[str, dict]) -> None:
    """Every listed face is searchable by id, and image search returns only listed faces."""
    assert client.describe_collection(CollectionId=collection)["FaceCount"] == len(faces)
    for face_id in faces:
        client.search_faces(CollectionId=collection, FaceId=face_id, MaxFaces=1)
    matches = client.search_faces_by_image(
        CollectionId=collection, Image={"Bytes": SMALL_FACES[0]}, FaceMatchThreshold=0, MaxFaces=4096
    )["FaceMatches"]
    assert {match["Face"]["FaceId"] for match in matches} == set(faces)


def test_acknowledged_writes_survive_sigkill(tmp_path):
    data = tmp_path / "data"
    indexed: set[str] = set()
    deleted: set[str] = set()
    unanswered: set[str] = set()  # deletions sent but cut off before their answer: either outcome is right
    kills = 3
    for cycle in range(kills):
        server = ServerProcess(data).start()
        client = server.client()
        if cycle == 0:
            client.create_collection(CollectionId="crash")
        stop = threading.Event()
        lock = threading.Lock()

        def writer(number: int, server=server, stop=stop, lock=lock) -> None:
            worker = server.client()
            while not stop.is_set():
                try:
                    if number != 3 or not (indexed - deleted - unanswered):
                        response = worker.index_faces(
                            CollectionId="crash",
                            Image={"Bytes": SMALL_FACES[number % len(SMALL_FACES)]},
                            ExternalImageId=str(uuid.uuid4()),
                        )
                        with lock:
                            indexed.update(record["Face"]["FaceId"] for record in response["FaceRecords"])
                    else:
                        with lock:
                            victim = sorted(indexed - deleted - unanswered)[0]
                            unanswered.add(victim)
                        response = worker.delete_faces(CollectionId="crash", FaceIds=[victim])
                        with lock:
                            deleted.update(response["DeletedFaces"])
                            unanswered.discard(victim)
                except CONNECTION_ERRORS:
                    return

        with ThreadPoolExecutor(4) as pool:
            for number in range(4):
                pool.submit(writer, number)
            deadline = time.monotonic() + 120
            while len(indexed) < 3 * (cycle + 1) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # let more requests get under way, then cut them off
            server.stop(signal.SIGKILL)
            stop.set()

        survivor = ServerProcess(data).start()
        try:
            client = survivor.client()
            faces = all_faces(client, "crash")
            assert indexed - deleted - unanswered <= set(faces), "an acknowledged face was lost"
            assert not (deleted & set(faces)), "an acknowledged deletion came back"
            assert_store_and_index_agree(client, "crash", faces)
        finally:
            survivor.stop()
    assert len(indexed) >= 6 and deleted, (len(indexed), len(deleted))
    print(f"survived {kills} SIGKILLs: {len(indexed)} faces acknowledged, {len(deleted)} deletions acknowledged")


def test_sixteen_concurrent_clients(server):
    collection = "concurrency"
    setup = server.client()
    setup.create_collection(CollectionId=collection)
    indexed: set[str] = set()
    deleted: set[str] = set()
    associated: dict[str, str] = {}
    lock = threading.Lock()
    operations = 0

    def work(number: int) -> None:
        nonlocal operations
        client = server.client()
        user_id = f"user-{number}"
        client.create_user(CollectionId=collection, UserId=user_id)
        mine: list[str] = []
        for step in range(6):
            response = client.index_faces(
                CollectionId=collection,
                Image={"Bytes": SMALL_FACES[(number + step) % len(SMALL_FACES)]},
                ExternalImageId=f"{number}-{step}",
            )
            ids = [record["Face"]["FaceId"] for record in response["FaceRecords"]]
            mine += ids
            with lock:
                indexed.update(ids)
            client.search_faces(CollectionId=collection, FaceId=ids[0], FaceMatchThreshold=0, MaxFaces=10)
            if step == 2:
                result = client.associate_faces(
                    CollectionId=collection, UserId=user_id, FaceIds=mine[:2], UserMatchThreshold=0
                )
                with lock:
                    associated.update({face["FaceId"]: user_id for face in result["AssociatedFaces"]})
            if step == 4:
                result = client.delete_faces(CollectionId=collection, FaceIds=[mine[3]])
                with lock:
                    deleted.update(result["DeletedFaces"])
            with lock:
                operations += 3

    with ThreadPoolExecutor(16) as pool:
        for future in [pool.submit(work, number) for number in range(16)]:
            future.result(timeout=600)

    faces = all_faces(setup, collection)
    assert set(faces) == indexed - deleted
    assert len(deleted) == 16 and len(indexed) == 16 * 6
    assert {face_id: face["UserId"] for face_id, face in faces.items() if "UserId" in face} == associated
    users = setup.list_users(CollectionId=collection)["Users"]
    assert len(users) == 16 and all(user["UserStatus"] == "ACTIVE" for user in users)
    assert setup.describe_collection(CollectionId=collection)["UserCount"] == 16
    assert_store_and_index_agree(setup, collection, faces)
    for user in users:
        matched = setup.search_users(CollectionId=collection, UserId=user["UserId"], UserMatchThreshold=0, MaxUsers=500)
        assert len(matched["UserMatches"]) == 15
    setup.delete_collection(CollectionId=collection)
    try:
        setup.describe_collection(CollectionId=collection)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
    print(f"16 concurrent clients ran {operations} operations")

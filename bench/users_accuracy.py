"""Top-1 identification on the shared people: user vectors (SearchUsersByImage) vs single faces
(SearchFacesByImage), side by side on the same gallery and probes; and SearchUsers latency.

For each rotation r, every identity with 2+ usable photos holds out photo r (mod its count); the
others are indexed (ExternalImageId = identity) and associated with a user of that identity;
single-photo identities are indexed as distractors. Each held-out photo is then searched both ways
with threshold 0; top-1 is right when the best match is the probe's identity.

Usage: .venv/bin/python bench/users_accuracy.py [rotations, default 3]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _common import ServerProcess, percentile, usable_people


def margin(matches: list[tuple[str, float]], identity: str) -> float:
    """Best genuine Similarity minus best impostor Similarity (0 where either is missing)."""
    genuine = max((similarity for name, similarity in matches if name == identity), default=0.0)
    impostor = max((similarity for name, similarity in matches if name != identity), default=0.0)
    return genuine - impostor


def main(rotations: int) -> None:
    people = usable_people()
    users_right = faces_right = probes = 0
    users_margin: list[float] = []
    faces_margin: list[float] = []
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as root:
        server = ServerProcess(Path(root) / "data").start()
        client = server.client()
        try:
            for rotation in range(rotations):
                collection = f"rotation-{rotation}"
                client.create_collection(CollectionId=collection)
                held_out = {}
                for identity, rows in people.items():
                    probe = rows[rotation % len(rows)] if len(rows) >= 2 else None
                    face_ids = []
                    for row in rows:
                        if row is probe:
                            continue
                        indexed = client.index_faces(
                            CollectionId=collection,
                            Image={"Bytes": row.file.read_bytes()},
                            ExternalImageId=identity,
                            MaxFaces=1,
                        )
                        face_ids += [record["Face"]["FaceId"] for record in indexed["FaceRecords"]]
                    client.create_user(CollectionId=collection, UserId=identity)
                    client.associate_faces(
                        CollectionId=collection, UserId=identity, FaceIds=face_ids, UserMatchThreshold=0
                    )
                    if probe is not None:
                        held_out[identity] = probe
                for identity, probe in held_out.items():
                    data = probe.file.read_bytes()
                    users = client.search_users_by_image(
                        CollectionId=collection, Image={"Bytes": data}, UserMatchThreshold=0, MaxUsers=len(people)
                    )["UserMatches"]
                    faces = client.search_faces_by_image(
                        CollectionId=collection, Image={"Bytes": data}, FaceMatchThreshold=0, MaxFaces=4096
                    )["FaceMatches"]
                    probes += 1
                    users_right += bool(users) and users[0]["User"]["UserId"] == identity
                    faces_right += bool(faces) and faces[0]["Face"]["ExternalImageId"] == identity
                    users_margin.append(margin([(m["User"]["UserId"], m["Similarity"]) for m in users], identity))
                    faces_margin.append(
                        margin([(m["Face"]["ExternalImageId"], m["Similarity"]) for m in faces], identity)
                    )
                for identity in people:
                    start = time.perf_counter()
                    client.search_users(CollectionId=collection, UserId=identity, UserMatchThreshold=0)
                    latencies.append((time.perf_counter() - start) * 1000)
                client.delete_collection(CollectionId=collection)
        finally:
            server.stop()
    print(f"probes: {probes} held-out photos over {rotations} rotations, {len(people)} identities in each gallery")
    print(f"top-1 SearchUsersByImage (user vectors): {users_right / probes:.4f} ({users_right}/{probes})")
    print(f"top-1 SearchFacesByImage (single faces): {faces_right / probes:.4f} ({faces_right}/{probes})")
    print(
        "mean Similarity margin, genuine minus best impostor (higher separates better):"
        f" users {sum(users_margin) / probes:.2f}, faces {sum(faces_margin) / probes:.2f}"
    )
    print(
        f"SearchUsers latency over {len(latencies)} calls: p50 {percentile(latencies, 0.5):.1f} ms,"
        f" p95 {percentile(latencies, 0.95):.1f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)

"""Face clustering quality on the shared people photos, through a real server and the extension API.

Indexes the largest face of every usable person photo (``_common.usable_people``: JPEG/PNG, not an
edge case) of the identities with at least two photos, runs StartFaceClustering at several
FaceMatchThresholds (``MinClusterSize`` 2) and scores the clusters against the identities
(pairwise and BCubed precision / recall / F1, ``clustering_quality.scores``; unclustered faces
count as clusters of their own).

Usage: .venv/bin/python bench/clustering_people.py [--thresholds 90 95 97 ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import boto3
import numpy as np
from _common import ServerProcess, usable_people
from clustering_quality import scores

from rekollect.wire.service_model import DATA_PATH, EXTENSIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[80, 90, 95, 97, 98, 99])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        server = ServerProcess(Path(root) / "data").start()
        try:
            os.environ["AWS_DATA_PATH"] = str(DATA_PATH)  # the documented setup for the extension model
            core = boto3.session.Session(region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
            rekognition = core.client("rekognition", endpoint_url=server.url)
            extensions = core.client(EXTENSIONS, endpoint_url=server.url)
            rekognition.create_collection(CollectionId="people")
            identity = {}
            for person, rows in usable_people().items():
                if len(rows) < 2:
                    continue
                for row in rows:
                    image = {"Bytes": row.file.read_bytes()}
                    found = rekognition.index_faces(CollectionId="people", Image=image, MaxFaces=1)["FaceRecords"]
                    if found:
                        identity[found[0]["Face"]["FaceId"]] = person
            face_ids = sorted(identity)
            truth = np.unique([identity[f] for f in face_ids], return_inverse=True)[1]
            print(f"{len(face_ids)} faces of {truth.max() + 1} identities")
            print("  threshold  clusters   P      R      F     BCubed P  R      F")
            for threshold in args.thresholds:
                job = extensions.start_face_clustering(CollectionId="people", FaceMatchThreshold=threshold)["JobId"]
                while (result := extensions.get_face_clustering(JobId=job))["JobStatus"] == "IN_PROGRESS":
                    time.sleep(0.2)
                label = {f: n for n, c in enumerate(result["Clusters"]) for f in c["FaceIds"]}
                labels = np.array([label.get(f, len(result["Clusters"]) + i) for i, f in enumerate(face_ids)])
                s = scores(truth, labels)
                print(
                    f"  {threshold:9.1f}  {len(result['Clusters']):8d}  {s['P']:.3f}  {s['R']:.3f}  {s['F']:.3f}  "
                    f"{s['BP']:.3f}     {s['BR']:.3f}  {s['BF']:.3f}"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()

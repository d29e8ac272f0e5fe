"""IndexFaces and SearchFaces on SQLite (one node) vs PostgreSQL (one node, and two nodes behind HAProxy).

All three set-ups run in this one run, on the same photos, through boto3 over HTTP:

- ``sqlite``: ``rekollect serve`` on its embedded SQLite store (the reference);
- ``postgres-1``: one node on PostgreSQL (Debian's package, a throw-away cluster);
- ``postgres-2-haproxy``: two nodes on that PostgreSQL, each in its own network namespace where the
  machine allows it, behind HAProxy (round robin).

For each: IndexFaces latency (p50/p99, one request at a time) and throughput (4 clients at
once), and SearchFaces (by FaceId: the store and index path, no face model) latency and throughput.
Then the cross-node visibility lag: IndexFaces acknowledged by node A until SearchFaces on node B
returns the face (p50/p99 over the indexed faces; B's search catches up with the change log before
it runs, and B's listener applies NOTIFYs in the background).

On a 2-core machine the nodes, PostgreSQL, HAProxy and the clients share the cores: the numbers
show the overhead of the shared database, not the throughput of two machines.

Usage: .venv/bin/python bench/multinode.py [--images 30]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import signal
import sys
import tempfile
import time
from pathlib import Path

from _common import ServerProcess, percentile, usable_people

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cluster import LoadBalancer, Network, Node, signed_client
from postgres_server import PostgresServer


def photos(count: int) -> list[bytes]:
    rows = [row for rows in usable_people().values() for row in rows]
    return [row.file.read_bytes() for row in rows[:count]]


def measure(name: str, client_for, images: list[bytes]) -> list[str]:
    """Print latency and throughput of IndexFaces and SearchFaces; return the indexed FaceIds."""
    client = client_for()
    collection = f"bench-{name}"
    client.create_collection(CollectionId=collection)
    latencies, face_ids = [], []
    for data in images:
        started = time.perf_counter()
        records = client.index_faces(CollectionId=collection, Image={"Bytes": data}, MaxFaces=1)["FaceRecords"]
        latencies.append((time.perf_counter() - started) * 1000)
        face_ids += [record["Face"]["FaceId"] for record in records]
    report(name, "IndexFaces", latencies, throughput(client_for, collection, images, "index"))
    latencies = []
    for face_id in face_ids:
        started = time.perf_counter()
        client.search_faces(CollectionId=collection, FaceId=face_id, MaxFaces=5)
        latencies.append((time.perf_counter() - started) * 1000)
    report(name, "SearchFaces", latencies, throughput(client_for, collection, face_ids, "search"))
    return face_ids


def throughput(client_for, collection: str, items: list, kind: str, clients: int = 4) -> float:
    """Requests per second with ``clients`` threads, each with its own boto3 client."""
    local = [client_for() for _ in range(clients)]

    def run(index: int) -> None:
        client = local[index % clients]
        item = items[index % len(items)]
        if kind == "index":
            client.index_faces(CollectionId=collection, Image={"Bytes": item}, MaxFaces=1)
        else:
            client.search_faces(CollectionId=collection, FaceId=item, MaxFaces=5)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(len(items))))
    return len(items) / (time.perf_counter() - started)


def report(setup: str, operation: str, latencies: list[float], per_second: float) -> None:
    print(
        f"{setup:20s} {operation:12s} p50 {percentile(latencies, 0.5):7.1f} ms  p99 {percentile(latencies, 0.99):7.1f} ms"
        f"  {per_second:6.1f} req/s (4 clients)",
        flush=True,
    )


def visibility_lag(a, b, images: list[bytes]) -> list[float]:
    """Milliseconds from IndexFaces acknowledged on ``a`` until SearchFaces on ``b`` finds the face."""
    a.create_collection(CollectionId="bench-lag")
    lags = []
    for data in images:
        records = a.index_faces(CollectionId="bench-lag", Image={"Bytes": data}, MaxFaces=1)["FaceRecords"]
        acknowledged = time.perf_counter()
        if not records:
            continue
        face_id = records[0]["Face"]["FaceId"]
        while True:
            try:
                b.search_faces(CollectionId="bench-lag", FaceId=face_id, MaxFaces=1)
                break
            except b.exceptions.InvalidParameterException:
                continue  # not visible yet (SearchFaces of an unknown FaceId)
        lags.append((time.perf_counter() - acknowledged) * 1000)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=30)
    args = parser.parse_args()
    images = photos(args.images)
    root = Path(tempfile.mkdtemp(prefix="rekollect-bench-"))

    sqlite = ServerProcess(root / "sqlite").start()
    try:
        measure("sqlite", sqlite.client, images)
    finally:
        sqlite.stop()

    network = Network(nodes=2)
    postgres = PostgresServer(listen=network.host_addresses())
    nodes = [Node(network, index, root, postgres.url_for("rekollect", network.host_address(index))) for index in (1, 2)]
    balancer = None
    try:
        for node in nodes:
            node.start(wait=False)
        for node in nodes:
            node.wait_ready()
        print(f"nodes in network namespaces: {network.isolated}", flush=True)
        measure("postgres-1", nodes[0].client, images)
        balancer = LoadBalancer(nodes)
        measure("postgres-2-haproxy", lambda: signed_client(balancer.url), images)
        lags = visibility_lag(nodes[0].client(), nodes[1].client(), images)
        print(
            f"cross-node visibility lag over {len(lags)} faces: p50 {percentile(lags, 0.5):.1f} ms,"
            f" p99 {percentile(lags, 0.99):.1f} ms (acknowledged on A until SearchFaces on B returns it)"
        )
    finally:
        for node in nodes:
            node.stop(signal.SIGTERM)
        if balancer is not None:
            balancer.close()
        postgres.close()
        network.close()


if __name__ == "__main__":
    main()

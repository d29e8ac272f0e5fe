"""A running stream processor on two nodes of one PostgreSQL (``cluster.py``: each node in its own
network namespace): exactly one node runs it, and when that node is killed the other takes its
session over within the job lease and the records go on.

The camera (``rtsp_camera.py``, GStreamer's RTSP server) and the Kinesis emulator (moto's server)
listen on the host, which each node reaches at its own host-side address.
"""

from __future__ import annotations

import signal
import time

from cameras import Camera, StreamReader, create_kinesis_stream, frame_time, matched, require_camera
from cluster import Network, Node, signed_client
from postgres_server import PostgresServer, require_postgres
from support import MotoServer, image_bytes

from rekollect.wire.service_model import DATA_PATH

LEASE_SECONDS = 3
LIN = "people/Lin-Manuel_Miranda/lin-manuel-miranda.png"


def _one_session(records: list[dict]) -> None:
    """Records of one session at a time: its fragments in order (two sessions' fragments would
    interleave), frame times increasing, at most five frames a second."""
    fragments = [record["InputInformation"]["KinesisVideo"]["FragmentNumber"] for record in records]
    assert fragments == sorted(fragments), "two sessions wrote at once"
    times = [frame_time(record) for record in records]
    assert times == sorted(times) and len(times) <= 5 * (times[-1] - times[0]) + 1


def test_a_killed_nodes_stream_processor_goes_on_on_the_other(tmp_path, monkeypatch):
    require_postgres()
    require_camera()
    network = Network(nodes=2)
    postgres = kinesis = camera = None
    nodes: list[Node] = []
    try:
        listen = "0.0.0.0" if network.isolated else "127.0.0.1"
        postgres = PostgresServer(listen=network.host_addresses())
        kinesis = MotoServer(host=listen).start()
        camera = Camera(tmp_path / "camera.log", address=listen).start()
        for index in (1, 2):
            host = network.host_address(index)
            sources = tmp_path / f"sources-{index}.conf"
            sources.write_text(f"hamilton = {camera.url(host)}\n")
            nodes.append(
                Node(
                    network,
                    index,
                    tmp_path,
                    postgres.url_for("rekollect", host),
                    *("--stream-sources", str(sources), "--kinesis-endpoint-url", f"http://{host}:{kinesis.port}"),
                    *("--job-lease", str(LEASE_SECONDS)),
                )
            )
        a, b = nodes
        a.start()
        client = a.client()
        client.create_collection(CollectionId="hamilton")
        client.index_faces(CollectionId="hamilton", Image={"Bytes": image_bytes(LIN)}, ExternalImageId="lin")
        output = create_kinesis_stream(kinesis.client("kinesis"), "shared-camera")
        reader = StreamReader(kinesis.client("kinesis"), "shared-camera")
        client.create_stream_processor(
            Name="entrance",
            Input={"KinesisVideoStream": {"Arn": "arn:aws:kinesisvideo:us-east-1:123456789012:stream/hamilton/1"}},
            Output={"KinesisDataStream": {"Arn": output}},
            RoleArn="arn:aws:iam::123456789012:role/streams",
            Settings={"FaceSearch": {"CollectionId": "hamilton"}},
        )
        session = client.start_stream_processor(Name="entrance")["SessionId"]
        reader.read_until(lambda records: len(records) >= 5, 60, "records from node A")

        b.start()  # its workers look for jobs: this one is held by node A
        seen = len(reader.records)
        reader.read_until(lambda records: len(records) >= seen + 10, 60, "records with both nodes up")
        _one_session(reader.records)

        a.stop(signal.SIGKILL)
        killed = time.time()
        reader.read_until(
            lambda records: sum(r["InputInformation"]["KinesisVideo"]["ServerTimestamp"] > killed for r in records) >= 10,
            60,
            "records after node A was killed",
        )
        taken_over = next(
            r["InputInformation"]["KinesisVideo"]["ServerTimestamp"]
            for r in reader.records
            if r["InputInformation"]["KinesisVideo"]["ServerTimestamp"] > killed
        )
        assert taken_over - killed < LEASE_SECONDS + 10  # the lease, a worker's next look, the camera's connection
        _one_session([r for r in reader.records if r["InputInformation"]["KinesisVideo"]["ServerTimestamp"] > killed])
        on_b = b.client()
        assert on_b.describe_stream_processor(Name="entrance")["Status"] == "RUNNING"
        monkeypatch.setenv("AWS_DATA_PATH", str(DATA_PATH))
        latest = signed_client(b.url, service="rekollect-extensions").get_stream_processor_matches(Name="entrance")
        assert latest["SessionId"] == session and latest["Status"] == "RUNNING"  # the same session goes on
        reader.read_until(lambda records: any(matched(r, "lin") for r in records), 60, "a match of the indexed face")

        on_b.stop_stream_processor(Name="entrance")
        deadline = time.monotonic() + 30
        while (status := on_b.describe_stream_processor(Name="entrance")["Status"]) != "STOPPED":
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
    finally:
        for node in nodes:
            node.stop(signal.SIGKILL)
        for part in (camera, kinesis):
            if part is not None:
                part.stop()
        if postgres is not None:
            postgres.close()
        network.close()

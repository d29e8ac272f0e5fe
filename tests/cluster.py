"""Several ``rekollect serve`` nodes on one PostgreSQL behind HAProxy, for the multi-node tests.

Each node runs in its own network namespace (``ip netns`` and a veth pair), so it has its own
address, ``10.<s>.<n>.2``, and reaches the host side, ``10.<s>.<n>.1`` (``s`` from the test
process's id, so two runs on one machine do not collide), where PostgreSQL and the S3
server (moto) listen. HAProxy runs on the host's loopback and health-checks each node's
``GET /health``. Where network namespaces cannot be made (no ``CAP_NET_ADMIN``), the nodes run on
separate loopback ports instead, and ``Network.isolated`` says so.

Nodes listen beyond loopback, so they run with credentials (``REKOLLECT_ACCESS_KEY_ID``): the
clients sign as any AWS client does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import boto3
from botocore.config import Config
from support import free_port, missing

KEY_ID, SECRET = "AKIDCLUSTERTEST", "cluster-test-secret-key"


def require_haproxy() -> str:
    """HAProxy's path, or skip (fail under ``REKOLLECT_REQUIRE_CLUSTER=1``)."""
    path = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if path is None:
        missing("HAProxy is not installed (Debian: apt-get install haproxy)", "REKOLLECT_REQUIRE_CLUSTER")
    return path


class Network:
    """One network namespace per node when the machine allows it (else loopback ports)."""

    def __init__(self, nodes: int) -> None:
        self.tag = f"rk{os.getpid() % 100000}"
        self.subnet = f"10.{100 + os.getpid() % 150}"
        """First two octets of this run's addresses: two test runs on one machine use different subnets."""
        self.nodes = nodes
        self.isolated = True  # the addresses below assume it while the namespaces are made
        self.isolated = self._create()

    def _ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def _create(self) -> bool:
        if shutil.which("ip") is None:
            warnings.warn("iproute2's ip is missing: the nodes run on loopback ports", stacklevel=2)
            return False
        try:
            for index in range(1, self.nodes + 1):
                namespace, host_end, node_end = self.names(index)
                self._ip("netns", "add", namespace)
                self._ip("link", "add", host_end, "type", "veth", "peer", "name", node_end)
                self._ip("link", "set", node_end, "netns", namespace)
                self._ip("addr", "add", f"{self.host_address(index)}/24", "dev", host_end)
                self._ip("link", "set", host_end, "up")
                self._ip("-n", namespace, "addr", "add", f"{self.node_address(index)}/24", "dev", node_end)
                self._ip("-n", namespace, "link", "set", node_end, "up")
                self._ip("-n", namespace, "link", "set", "lo", "up")
        except subprocess.CalledProcessError as error:
            self.close()
            warnings.warn(
                f"no network namespaces here ({error.stderr.decode().strip()}): the nodes run on loopback ports",
                stacklevel=2,
            )
            return False
        return True

    def names(self, index: int) -> tuple[str, str, str]:
        """Namespace, host-side and node-side interface names of node ``index``."""
        return f"{self.tag}n{index}", f"{self.tag}h{index}", f"{self.tag}v{index}"

    def host_address(self, index: int) -> str:
        """The host's address as node ``index`` sees it (where PostgreSQL and S3 listen)."""
        return f"{self.subnet}.{index}.1" if self.isolated else "127.0.0.1"

    def node_address(self, index: int) -> str:
        """Node ``index``'s own address."""
        return f"{self.subnet}.{index}.2" if self.isolated else "127.0.0.1"

    def host_addresses(self) -> tuple[str, ...]:
        return ("127.0.0.1", *(self.host_address(i) for i in range(1, self.nodes + 1) if self.isolated))

    def prefix(self, index: int) -> list[str]:
        """Command prefix that runs a program inside node ``index``'s namespace."""
        return ["ip", "netns", "exec", self.names(index)[0]] if self.isolated else []

    def close(self) -> None:
        for index in range(1, self.nodes + 1):
            namespace, host_end, _ = self.names(index)
            subprocess.run(["ip", "link", "del", host_end], capture_output=True)
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


class Node:
    """``rekollect serve`` as node ``index`` of ``network``, with its own data directory."""

    def __init__(self, network: Network, index: int, root: Path, database_url: str, *args: str) -> None:
        self.network = network
        self.index = index
        self.root = root
        self.database_url = database_url
        self.args = args
        self.port = 8085 if network.isolated else free_port()
        self.data_dir = root / f"node{index}"
        self.log = root / f"node{index}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.network.node_address(self.index)}:{self.port}"

    def start(self, *, fresh: bool = False, wait: bool = True) -> Node:
        """Start the node (``fresh``: on an empty data directory) and wait until ``/health`` says ready."""
        if fresh:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        command = [
            *self.network.prefix(self.index),
            sys.executable,
            "-m",
            "rekollect",
            "serve",
            "--host",
            self.network.node_address(self.index),
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--database-url",
            self.database_url,
            *self.args,
        ]
        env = {
            **os.environ,
            "REKOLLECT_ACCESS_KEY_ID": KEY_ID,
            "REKOLLECT_SECRET_ACCESS_KEY": SECRET,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_ready()
        return self

    def health(self) -> tuple[int, str]:
        """Status and body of ``GET /health``; ``(0, reason)`` when the node does not answer."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError as error:
            return 0, str(error)

    def wait_ready(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"node {self.index} exited:\n{self.log.read_text()[-4000:]}")
            if self.health()[0] == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"node {self.index} did not become ready:\n{self.log.read_text()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)
        self.process = None

    def client(self, retries: int = 1, endpoint: str | None = None):
        return signed_client(endpoint or self.url, retries)


def signed_client(endpoint: str, retries: int = 1, service: str = "rekognition"):
    """A boto3 client with the cluster's key; ``retries`` total attempts (1: none). A new session each
    time, so that ``AWS_DATA_PATH`` (the extension's model) is read."""
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": retries, "mode": "standard"}, read_timeout=120),
    )


class LoadBalancer:
    """HAProxy on a loopback port, round-robin over the nodes, health-checking ``/health``."""

    def __init__(self, nodes: list[Node]) -> None:
        self.binary = require_haproxy()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="rekollect-haproxy-"))
        self.config = self.root / "haproxy.cfg"
        servers = [(f"node{node.index}", f"{node.network.node_address(node.index)}:{node.port}") for node in nodes]
        self.config.write_text(haproxy_config(f"127.0.0.1:{self.port}", servers))
        self.log = self.root / "haproxy.log"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-f", str(self.config), "-db"], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except urllib.error.HTTPError:
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"HAProxy did not start:\n{self.log.read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def haproxy_config(bind: str, servers: list[tuple[str, str]]) -> str:
    """The HAProxy configuration the tests (and docs/deployment.md) use: ``bind`` address:port,
    ``servers`` as (name, address:port)."""
    lines = "\n".join(f"    server {name} {address} check" for name, address in servers)
    return f"""global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 180s
    timeout server 180s
    timeout check 5s
    retries 3
    option redispatch
    option forwardfor

frontend rekognition
    bind {bind}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{lines}
"""

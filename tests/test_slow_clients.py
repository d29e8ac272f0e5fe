"""Slow and vanishing clients, over raw sockets: header and body timeouts close their connections,
and a client that goes away mid-request is one quiet log line, not an ERROR with a traceback."""

from __future__ import annotations

import socket
import time

import pytest
from support import ServerProcess

TIMEOUT = 1.0
"""``--header-timeout`` and ``--body-timeout`` of the server under test, in seconds."""
SLACK = 2.0


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    server = ServerProcess(
        tmp_path_factory.mktemp("slow") / "data", "--header-timeout", str(TIMEOUT), "--body-timeout", str(TIMEOUT)
    ).start()
    yield server
    server.stop()


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT + SLACK + 5)
    return sock


def _closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes ``sock`` (reading and discarding anything it sends)."""
    started = time.monotonic()
    with sock:
        while sock.recv(65536):
            pass
    return time.monotonic() - started


def _headers(length: int, target: str = "ListCollections") -> bytes:
    return (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
        f"X-Amz-Target: RekognitionService.{target}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_half_sent_headers_are_cut_off(slow_server):
    sock = _connect(slow_server)
    sock.sendall(_headers(2)[:40])
    assert _closed_after(sock) < TIMEOUT + SLACK


def test_a_silent_connection_is_cut_off(slow_server):
    assert _closed_after(_connect(slow_server)) < TIMEOUT + SLACK


def test_headers_trickled_past_the_timeout_are_cut_off(slow_server):
    sock = _connect(slow_server)
    started = time.monotonic()
    with pytest.raises(OSError):
        for byte in _headers(2):  # one byte every 0.2 s: never idle, always late
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
    assert time.monotonic() - started < TIMEOUT + SLACK


def test_a_half_sent_body_is_cut_off_quietly(slow_server):
    sock = _connect(slow_server)
    sock.sendall(_headers(1000) + b"{")
    assert _closed_after(sock) < TIMEOUT + SLACK
    _assert_quiet_log(slow_server)


def test_a_kept_alive_connection_gets_the_same_deadlines(slow_server):
    sock = _connect(slow_server)
    sock.sendall(_headers(2) + b"{}")
    assert b"200 OK" in sock.recv(65536)
    sock.sendall(_headers(2)[:40])
    assert _closed_after(sock) < TIMEOUT + SLACK


def test_a_request_in_pieces_within_the_timeouts_is_served(slow_server):
    sock = _connect(slow_server)
    request = _headers(2) + b"{}"
    for piece in (request[:30], request[30:-1], request[-1:]):
        sock.sendall(piece)
        time.sleep(TIMEOUT / 4)
    with sock:
        assert b"CollectionIds" in sock.recv(65536)


def test_a_client_that_disconnects_mid_body_is_logged_quietly(slow_server):
    before = slow_server.log.read_text().count("client disconnected")
    for _ in range(3):
        with _connect(slow_server) as sock:
            sock.sendall(_headers(100_000, "DetectFaces") + b'{"Image": {"Bytes": "' + b"A" * 5000)
            time.sleep(0.2)
    deadline = time.monotonic() + 30  # the server logs the disconnection when it notices it
    while slow_server.log.read_text().count("client disconnected") <= before:
        assert time.monotonic() < deadline, "a disconnection was not logged"
        time.sleep(0.1)
    _assert_quiet_log(slow_server)


def _assert_quiet_log(server: ServerProcess) -> None:
    log = server.log.read_text()
    assert " ERROR " not in log and "Traceback" not in log, log[-3000:]

"""The real worker process over real ZeroMQ: handshake, control messages, errors, exit paths."""

import json
import subprocess
import sys

import msgpack
import pytest
import zmq

from lmprobe_worker.protocol import PROTOCOL_VERSION, decode, encode


@pytest.fixture()
def worker(worker_env):
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmprobe_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=worker_env
    )
    line = json.loads(proc.stdout.readline())
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(line["endpoint"])
    yield proc, sock
    sock.close()
    ctx.term()
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def call(sock, kind: str, body: dict | None = None, rid: str = "1") -> list[tuple[dict, dict]]:
    sock.send_multipart(encode({"v": PROTOCOL_VERSION, "id": rid, "type": kind}, body or {}))
    replies = []
    while True:
        assert sock.poll(60_000), f"no reply to {kind}"
        header, payload = decode(sock.recv_multipart())
        replies.append((header, payload))
        if header["type"] in ("result", "error"):
            return replies


def test_hello_reports_versions_and_device(worker) -> None:
    _, sock = worker
    header, body = call(sock, "hello")[-1]
    assert header["type"] == "result" and header["parent"] == "1"
    assert body["protocol"] == PROTOCOL_VERSION
    assert {"torch", "transformers", "sklearn"} <= set(body["versions"])
    assert body["device"] == "cpu"


def test_unknown_requests_and_garbage_get_errors_without_killing_the_worker(worker) -> None:
    proc, sock = worker
    header, body = call(sock, "teleport")[-1]
    assert header["type"] == "error" and body["code"] == "BAD_REQUEST"
    sock.send_multipart([b"\xc1not msgpack", msgpack.packb({})])
    assert sock.poll(10_000)
    header, body = decode(sock.recv_multipart())
    assert header["type"] == "error"
    assert call(sock, "ping")[-1][1]["pong"] is True
    assert proc.poll() is None


def test_a_cancelled_request_ends_with_a_cancelled_error(worker) -> None:
    _, sock = worker
    # Queue a request behind the preload and cancel it before it runs.
    sock.send_multipart(encode({"v": 1, "id": "slow", "type": "hello"}, {}))
    call(sock, "cancel", {"target": "slow"}, rid="c")
    replies = []
    while not replies or replies[-1][0]["type"] not in ("result", "error"):
        assert sock.poll(60_000)
        replies.append(decode(sock.recv_multipart()))
    header, body = replies[-1]
    assert header["parent"] == "slow"
    assert body["code"] == "CANCELLED"


def test_shutdown_replies_then_exits(worker) -> None:
    proc, sock = worker
    assert call(sock, "shutdown")[-1][1] == {"bye": True}
    assert proc.wait(10) == 0


def test_the_worker_exits_when_its_parent_closes_stdin(worker) -> None:
    proc, _ = worker
    proc.stdin.close()
    # No elapsed-time bar (machine load decides it): wait() raising TimeoutExpired is the failure.
    assert proc.wait(10) == 0

"""The real worker process over real ZeroMQ: handshake, control messages, errors, exit paths."""

import msgpack
import pytest
from wire import call, running_worker

from lmprobe_worker.protocol import PROTOCOL_VERSION, decode, encode


@pytest.fixture()
def worker(worker_env):
    with running_worker(worker_env) as (proc, sock):
        yield proc, sock


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
    assert proc.wait(10) == 0  # a hang guard, not a timing claim

"""Shared workers and clients that die mid-call or stop reading: their work is cancelled, others are served.

Real ``python -m lmprobe_worker --serve``, real CURVE clients. The victim is a separate process so
that it can be stopped (SIGSTOP: alive at the TCP level, silent in ZMTP, as a frozen laptop or a
cut cable; only server heartbeats notice) or killed -9 (its kernel closes the connection).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import zmq
from test_daemon import client, replies_until, running_daemon, send, slow_fit

_VICTIM = textwrap.dedent(
    """
    import sys, zmq
    sys.path.insert(0, sys.argv[3])
    from lmprobe_worker.protocol import decode
    from test_daemon import send, slow_fit
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.curve_serverkey = sys.argv[2].encode()
    sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
    sock.connect(sys.argv[1])
    n = int(sys.argv[4])
    for i in range(n):  # one runs, the others queue behind it
        send(sock, "fit", f"v{i}", {**slow_fit(), "classifier": "logistic_regression_cv"})  # cross-validated: slow
    acks = 0
    while acks < n:  # all registered on the server
        assert sock.poll(60_000)
        acks += decode(sock.recv_multipart())[0]["type"] == "ack"
    print("ACKED", flush=True)
    while True:  # never reads again: the server's keepalives and replies pile up here
        ctx.socket(zmq.PAIR).poll(1_000_000)
    """
)


_VICTIM_FITS = 4


@contextmanager
def served(env: dict[str, str], keys: Path, heartbeat_ms: int) -> Iterator[tuple[subprocess.Popen, dict]]:
    args = ["--serve", "tcp://127.0.0.1:0", "--keys", str(keys)]
    env = {**env, "LMPROBE_WORKER_HEARTBEAT_TIMEOUT_MS": str(heartbeat_ms), "LMPROBE_WORKER_LOG": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "lmprobe_worker", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # fmt: skip
    try:
        yield proc, json.loads(proc.stdout.readline())
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@contextmanager
def curve_client(ctx: zmq.Context, announce: dict) -> Iterator[zmq.Socket]:
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.curve_serverkey = announce["server_public_key"].encode()
    sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
    sock.connect(announce["endpoint"])
    try:
        yield sock
    finally:
        sock.close()


@pytest.mark.parametrize("how", ["SIGSTOP", "SIGKILL"])
def test_a_dead_or_silent_client_has_its_work_cancelled_and_others_are_served(worker_env, tmp_path, how) -> None:
    with served(worker_env, tmp_path / "keys", heartbeat_ms=1500) as (proc, announce):
        tests = str(Path(__file__).parent)
        # Cross-validated fits queued behind each other, so some still wait when the client is found gone
        # however fast this machine fits (two plain fits: an idle machine finished both first, nothing to cancel).
        victim = subprocess.Popen([sys.executable, "-c", _VICTIM, announce["endpoint"], announce["server_public_key"],
                                   tests, str(_VICTIM_FITS)], stdout=subprocess.PIPE, env=worker_env)  # fmt: skip
        ctx = zmq.Context()
        try:
            assert victim.stdout.readline().strip() == b"ACKED"
            with curve_client(ctx, announce) as other:
                send(other, "status", "s0")
                assert replies_until(other, "s0")[1]["requests_in_flight"] >= 2  # one running, more queued
                victim.send_signal(getattr(signal, how))
                deadline = time.monotonic() + 60
                n = 0
                while True:  # a hang guard, not a timing assertion
                    n += 1
                    send(other, "status", f"s{n}")
                    if replies_until(other, f"s{n}")[1]["requests_in_flight"] == 0:
                        break
                    assert time.monotonic() < deadline, "the served worker never cancelled the victim's work"
                    time.sleep(0.2)
                send(other, "fit", "mine", slow_fit())
                header, body = replies_until(other, "mine")
                assert header["type"] == "result", body
        finally:
            victim.kill()
            victim.wait()
            ctx.destroy(linger=0)
        proc.kill()
        _, err = proc.communicate()
        # Those not finished before the client was found gone (at least the last queued ones).
        found = re.search(rb"a client disconnected with (\d+) request\(s\) in flight: cancelled", err)
        assert found and 1 <= int(found.group(1)) <= _VICTIM_FITS, err[-2000:]


@pytest.mark.parametrize("mode", ["daemon", "served"])
def test_a_client_that_stops_reading_never_blocks_the_others(worker_env, tmp_path, mode) -> None:
    # Its replies fill its queue (the high-water mark, then the socket buffers); a blocking send would
    # stop the loop for every client, on ipc for good (no heartbeats there).
    shared = (
        running_daemon(worker_env, tmp_path / "d") if mode == "daemon" else served(worker_env, tmp_path / "k", 30000)
    )
    with shared as (_proc, announce):
        ctx = zmq.Context()
        connect = (
            (lambda: client(ctx, announce["endpoint"])) if mode == "daemon" else (lambda: curve_client(ctx, announce))
        )
        try:
            with connect() as deaf, connect() as other:
                deaf.setsockopt(zmq.RCVHWM, 10)
                for i in range(20000):
                    send(deaf, "ping", f"p{i}")
                send(other, "ping", "mine")
                header, body = replies_until(other, "mine")
                assert header["type"] == "result" and body["pong"] is True
                send(other, "status", "st")
                assert replies_until(other, "st")[0]["type"] == "result"
        finally:
            ctx.destroy(linger=0)

"""Talking to a real worker process over real ZeroMQ, for the tests that need the whole path."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import zmq

from lmprobe_worker.protocol import PROTOCOL_VERSION, decode, encode


@contextmanager
def running_worker(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, zmq.Socket]]:
    """A ``python -m lmprobe_worker`` child and a DEALER socket connected to it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmprobe_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    line = json.loads(proc.stdout.readline())
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(line["endpoint"])
    try:
        yield proc, sock
    finally:
        sock.close()
        ctx.term()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def call(sock: zmq.Socket, kind: str, body: dict | None = None, rid: str = "1") -> list[tuple[dict, dict]]:
    """Send one request; return every reply up to and including its result or error."""
    sock.send_multipart(encode({"v": PROTOCOL_VERSION, "id": rid, "type": kind}, body or {}))
    replies = []
    while True:
        assert sock.poll(60_000), f"no reply to {kind}"
        header, payload = decode(sock.recv_multipart())
        replies.append((header, payload))
        if header["type"] in ("result", "error"):
            return replies

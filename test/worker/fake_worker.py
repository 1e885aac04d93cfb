"""A stand-in worker that speaks (or mis-speaks) the lmprobe protocol, for test/worker/.

Run as ``python fake_worker.py SCENARIO``. It needs only pyzmq and msgpack (no torch, no numpy,
nothing from lmprobe_worker), so it starts in a fraction of a second and is independent of the
real worker's internals: the framing is written out here again on purpose.

Frames, as in python_worker/lmprobe_worker/protocol.py: the client's DEALER sends
``[header, body]``; this ROUTER receives ``[identity, header, body]``; both are msgpack maps.
A request header is ``{v, id, type, ts}``, a reply header ``{v, type, parent, ts}`` with type
ack, progress, result or error.

Scenarios:
- ``crash``: write to stderr and exit 3 before announcing an endpoint.
- ``slow-hello``: announce, then never answer ``hello``.
- ``wrong-version``: answer ``hello`` with protocol 999.
- ``garbage``: a valid handshake, then bytes that are not msgpack as the reply to ``echo``.
- ``garbage-header``: a valid handshake, then a reply to ``echo`` whose header is valid msgpack
  but not a map (so it names no request).
- ``ignore-cancel``: ``sleep`` never finishes; ``cancel`` is acknowledged and ignored.
- ``die-mid-call``: ``die`` acks, writes to stderr and exits 7 while the call is in flight.
Every scenario answers ``echo`` (its body back, with the pid) and ``shutdown``. If the
environment names ``FAKE_PID_FILE``, the pid is appended there first thing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from typing import Any

import msgpack
import zmq

PROTOCOL_VERSION = 1


def _exit_on_stdin_eof() -> None:
    """The parent holds stdin open; EOF means it is gone (as the real worker does)."""
    while sys.stdin.buffer.read(65536):
        pass
    os._exit(0)


def _reply(router: zmq.Socket, identity: bytes, kind: str, parent: str, body: dict[str, Any]) -> None:
    header = {"v": PROTOCOL_VERSION, "type": kind, "parent": parent, "ts": time.time()}
    router.send_multipart([identity, msgpack.packb(header), msgpack.packb(body)])


def _hello(protocol: int) -> dict[str, Any]:
    return {
        "protocol": protocol,
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "versions": {},
        "device": "cpu",
        "threads": 1,
        "capabilities": [],
    }


def main(scenario: str) -> None:
    """Serve one scenario until shutdown, stdin EOF or the scenario's own exit."""
    pid_file = os.environ.get("FAKE_PID_FILE")
    if pid_file:
        with open(pid_file, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    if scenario == "crash":
        sys.stderr.write("fake worker: ImportError: no module named 'torch' (simulated)\n")
        sys.exit(3)
    threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    router = zmq.Context().socket(zmq.ROUTER)
    router.linger = 0
    endpoint = f"ipc://{tempfile.mkdtemp(prefix='lmprobe-fake-')}/w.sock"
    router.bind(endpoint)
    print(
        f'{{"event": "listening", "endpoint": "{endpoint}", "pid": {os.getpid()}}}',
        flush=True,
    )
    while True:
        identity, raw_header, raw_body = router.recv_multipart()[:3]
        header, body = msgpack.unpackb(raw_header), msgpack.unpackb(raw_body)
        kind, rid = header.get("type"), str(header.get("id"))
        if kind == "shutdown":
            _reply(router, identity, "result", rid, {"bye": True})
            time.sleep(0.1)
            os._exit(0)
        if kind == "cancel":
            _reply(router, identity, "result", rid, {"cancelled": body.get("target")})
            continue
        _reply(router, identity, "ack", rid, {})
        if kind == "hello":
            if scenario == "slow-hello":
                continue  # never answered: the client's start-up timeout must fire
            _reply(
                router,
                identity,
                "result",
                rid,
                _hello(999 if scenario == "wrong-version" else PROTOCOL_VERSION),
            )
        elif kind == "echo":
            if scenario == "garbage":
                # 0xc1 is the one byte msgpack never uses: neither frame decodes.
                router.send_multipart([identity, b"\xc1\xc1 not msgpack", b"\xc1"])
            elif scenario == "garbage-header":
                router.send_multipart([identity, msgpack.packb("not a header"), msgpack.packb({})])
            else:
                _reply(router, identity, "result", rid, {**body, "pid": os.getpid()})
        elif kind == "sleep":
            pass  # never answered, and the cancel above changes nothing
        elif kind == "die":
            sys.stderr.write("fake worker: segmentation fault in the middle of a call (simulated)\n")
            sys.stderr.flush()
            os._exit(7)
        else:
            _reply(
                router,
                identity,
                "error",
                rid,
                {"code": "BAD_REQUEST", "ename": "KeyError", "evalue": str(kind)},
            )


if __name__ == "__main__":
    main(sys.argv[1])

"""Daemon mode over real ZeroMQ: discovery file, shared shutdown, per-client cancel, dead clients, idle exit."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import zmq
from wire import call

from lmprobe_worker.protocol import PROTOCOL_VERSION, decode, encode


@contextmanager
def running_daemon(env: dict[str, str], folder: Path, idle: float = 0) -> Iterator[tuple[subprocess.Popen, dict]]:
    folder.mkdir(mode=0o700, exist_ok=True)
    discovery = folder / "daemon.json"
    log = open(folder / "daemon.log", "wb")
    args = ["--daemon", "--discovery", str(discovery), "--idle-timeout", str(idle)]
    proc = subprocess.Popen([sys.executable, "-m", "lmprobe_worker", *args], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not discovery.exists():
            assert proc.poll() is None and time.monotonic() < deadline, (folder / "daemon.log").read_text()
            time.sleep(0.05)
        yield proc, json.loads(discovery.read_text())
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()


@contextmanager
def client(ctx: zmq.Context, endpoint: str) -> Iterator[zmq.Socket]:
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    try:
        yield sock
    finally:
        sock.close()


_TERMINAL: dict[tuple[int, str], tuple[dict, dict]] = {}


def replies_until(sock: zmq.Socket, rid: str) -> tuple[dict, dict]:
    """The terminal reply of request ``rid``; others are kept for later, keepalives skipped."""
    while (id(sock), rid) not in _TERMINAL:
        assert sock.poll(120_000), f"no reply to {rid}"
        header, body = decode(sock.recv_multipart())
        if header["type"] in ("result", "error"):
            _TERMINAL[(id(sock), str(header.get("parent")))] = (header, body)
    return _TERMINAL.pop((id(sock), rid))


def send(sock: zmq.Socket, kind: str, rid: str, body: dict | None = None) -> None:
    sock.send_multipart(encode({"v": PROTOCOL_VERSION, "id": rid, "type": kind}, body or {}))


def slow_fit() -> dict:
    """A fit that takes a while (a large logistic regression), to hold the compute thread."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 1, 2048)).astype(np.float32)
    return {"X": X, "y": (np.arange(3000) % 2).tolist(), "task": "classification", "random_state": 0,
            "normalize_layers": True, "path": "prompt", "preprocessing": None, "pca_components": None,
            "mass_mean_augment": False, "sample_weight": None, "layer_selection": None,
            "classifier": "logistic_regression"}  # fmt: skip


def test_discovery_file_is_private_and_only_a_daemon_stop_ends_it(worker_env, tmp_path) -> None:
    with running_daemon(worker_env, tmp_path / "d") as (proc, info):
        path = tmp_path / "d" / "daemon.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert info["pid"] == proc.pid and info["uid"] == os.getuid() and info["protocol"] == PROTOCOL_VERSION
        ctx = zmq.Context()
        with client(ctx, info["endpoint"]) as a, client(ctx, info["endpoint"]) as b:
            assert call(a, "shutdown")[-1][1] == {"bye": True, "shared": True}
            _, status = call(b, "status")[-1]
            assert status["pid"] == proc.pid and status["clients"] == 2 and status["models"] == []
            assert call(b, "shutdown", {"daemon": True})[-1][1]["shared"] is False
        ctx.term()
        assert proc.wait(30) == 0
        assert not path.exists()


def test_a_ray_daemon_names_its_cluster_in_discovery_status_and_hello_without_importing_ray(
    worker_env, tmp_path
) -> None:
    ray_env = {"LMPROBE_RAY_ADDRESS": "127.0.0.1:1", "LMPROBE_RAY_WORKERS": "2", "LMPROBE_RAY_RESOURCES": '{"CPU": 1}'}
    ray_env["LMPROBE_RAY_TORCH_THREADS"] = "2"
    expected = {"address": "127.0.0.1:1", "workers": 2, "resources": {"CPU": 1.0}, "threads": 2}
    with running_daemon({**worker_env, **ray_env}, tmp_path / "d") as (_proc, info):
        assert info["ray"] == expected  # no cluster at that address: nothing here connects to it
        ctx = zmq.Context()
        with client(ctx, info["endpoint"]) as sock:
            assert call(sock, "status")[-1][1]["ray"] == expected
            assert call(sock, "hello")[-1][1]["ray"] == expected
            assert "ray" not in call(sock, "loaded_models")[-1][1]["imported"]
        ctx.term()
    with running_daemon(worker_env, tmp_path / "e") as (_proc, info):
        assert info["ray"] is None


def test_one_client_cannot_cancel_another_and_a_dead_client_is_cancelled(worker_env, tmp_path) -> None:
    with running_daemon(worker_env, tmp_path / "d") as (proc, info):
        ctx = zmq.Context()
        with client(ctx, info["endpoint"]) as a, client(ctx, info["endpoint"]) as b:
            send(b, "fit", "f1", slow_fit())
            send(b, "hello", "x")
            call(a, "cancel", {"target": "x"}, rid="c1")  # a names b's request id: not its own
            send(b, "fit", "f2", slow_fit())
            send(b, "hello", "y")
            call(b, "cancel", {"target": "y"}, rid="c2")
            assert replies_until(b, "x")[0]["type"] == "result"
            header, body = replies_until(b, "y")
            assert header["type"] == "error" and body["code"] == "CANCELLED"
            # A client dies with a running fit and queued requests: its work is cancelled, b is served.
            with client(ctx, info["endpoint"]) as doomed:
                send(doomed, "fit", "d1", slow_fit())
                for i in range(3):
                    send(doomed, "hello", f"d{i + 2}")
                assert doomed.poll(30_000)  # its ack: the work is registered
            assert replies_until(b, "f2")[0]["type"] == "result"
            send(b, "hello", "after")
            assert replies_until(b, "after")[0]["type"] == "result"
            deadline = time.monotonic() + 60
            while call(b, "status", rid="s")[-1][1]["requests_in_flight"] and time.monotonic() < deadline:
                time.sleep(0.2)
            assert call(b, "status", rid="s")[-1][1]["requests_in_flight"] == 0
        ctx.term()
        log = (tmp_path / "d" / "daemon.log").read_text()
        assert "a client disconnected with 4 request(s) in flight: cancelled" in log or (
            "a client disconnected with 3 request(s) in flight: cancelled" in log
        ), log
        assert proc.poll() is None


def test_clients_vanishing_with_messages_in_flight_never_bring_the_daemon_down(worker_env, tmp_path) -> None:
    # Messages of a client that closed meanwhile are still read: their acks then fail (ROUTER_MANDATORY),
    # which must cost that client its work, not the daemon its life.
    with running_daemon(worker_env, tmp_path / "d") as (proc, info):
        ctx = zmq.Context()
        for n in range(10):
            with client(ctx, info["endpoint"]) as doomed:
                send(doomed, "hello", f"big{n}", {"junk": b"x" * (24 << 20)})  # slow to read: the others wait
                for i in range(3):
                    send(doomed, "hello", f"v{n}-{i}")
                assert doomed.poll(30_000)  # the first ack; then it vanishes with the rest unread
        with client(ctx, info["endpoint"]) as survivor:
            assert call(survivor, "hello", rid="alive")[-1][0]["type"] == "result"
        ctx.term()
        assert proc.poll() is None, (tmp_path / "d" / "daemon.log").read_text()


@pytest.mark.parametrize("idle", [1.0])
def test_an_idle_daemon_exits_and_removes_its_discovery_file(worker_env, tmp_path, idle) -> None:
    with running_daemon(worker_env, tmp_path / "d", idle=idle) as (proc, _info):
        assert proc.wait(60) == 0
        assert not (tmp_path / "d" / "daemon.json").exists()


def test_loaded_models_are_an_lru_bounded_by_the_memory_budget(tiny_models) -> None:
    from lmprobe_worker import model_budget
    from lmprobe_worker.models import load_model, loaded_bytes, loaded_keys, unload_all

    unload_all()
    try:
        llama, gpt2, neox = (tiny_models[k]["path"] for k in ("llama", "gpt2", "gpt_neox"))
        first = load_model(llama, device="cpu")
        model_budget.set_budget(first.nbytes + load_model(gpt2, device="cpu").nbytes)  # room for two
        assert [k[0] for k in loaded_keys()] == [llama, gpt2]
        load_model(llama, device="cpu")  # a hit makes llama the most recently used
        load_model(neox, device="cpu")  # over budget: the least recently used (gpt2) goes
        assert [k[0] for k in loaded_keys()] == [llama, neox]
        assert loaded_bytes() <= model_budget.budget() or len(loaded_keys()) == 1
        model_budget.set_budget(1)  # smaller than any model: the new one is still loaded, alone
        load_model(gpt2, device="cpu")
        assert [k[0] for k in loaded_keys()] == [gpt2]
        with pytest.raises(ValueError, match="positive"):
            model_budget.set_budget(0)
    finally:
        model_budget.set_budget(None)
        unload_all()

"""The real worker process over real ZeroMQ: handshake, control messages, errors, exit paths."""

import msgpack
import numpy as np
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
    assert all(body["versions"][name] for name in ("torch", "transformers", "sklearn", "numpy", "pyzmq"))
    # The handshake leaves torch unimported, so "auto" stays unresolved until asked or a model loads.
    assert (body["device"], body["threads"]) == ("auto", 0)
    _, resolved = call(sock, "hello", {"resolve_device": True}, rid="2")[-1]
    assert resolved["device"] == "cpu" and resolved["threads"] >= 1
    assert resolved["versions"] == body["versions"]


def test_a_worker_that_only_fits_never_imports_torch_or_transformers(worker) -> None:
    _, sock = worker
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    X = rng.normal(size=(40, 2, 8)).astype(np.float32)
    X[:, :, 0] += y[:, None] * 2.0
    body = {
        "X": X,
        "y": y.tolist(),
        "task": "classification",
        "random_state": 0,
        "normalize_layers": True,
        "path": "prompt",
        "preprocessing": None,
        "pca_components": None,
        "mass_mean_augment": False,
        "sample_weight": None,
        "layer_selection": None,
    }
    assert call(sock, "hello")[-1][0]["type"] == "result"
    tree = {"estimator": "sklearn.tree.DecisionTreeClassifier", "params": {"max_depth": 2}}
    for rid, classifier in enumerate(["logistic_regression", tree]):  # the tree is scored by handle
        header, state = call(sock, "fit", {**body, "classifier": classifier}, rid=f"fit{rid}")[-1]
        assert header["type"] == "result", state
    header, scored = call(sock, "score", {"handle": state["model"]["handle"], "X": X.reshape(40, -1)}, rid="s")[-1]
    assert header["type"] == "result" and len(scored["predict"]) == 40
    _, diag = call(sock, "loaded_models", rid="d")[-1]
    assert diag["models"] == [] and "sklearn" in diag["imported"]
    assert not {"torch", "transformers", "nnsight"} & set(diag["imported"])


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

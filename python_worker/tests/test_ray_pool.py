"""The Ray path's pure parts, without Ray: sharding of batches, the LMPROBE_RAY_* settings, liveness checks.

The cluster itself is tested end to end in test/integration/ray.test.ts (a real local head).
"""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.ray_pool.config import ray_config
from lmprobe_worker.ray_pool.pool import liveness_address, reachable
from lmprobe_worker.ray_pool.shards import split


@pytest.mark.parametrize(("batches", "shards"), [(5, 4), (6, 4), (1, 4), (9, 2), (4, 4)])
def test_split_covers_every_batch_once_in_order_as_contiguous_runs(batches: int, shards: int) -> None:
    runs = split(batches, shards)
    assert [b for r in runs for b in r] == list(range(batches))  # whole batches, in order, none twice
    assert len(runs) == min(batches, shards) and all(len(r) > 0 for r in runs)
    assert max(map(len, runs)) - min(map(len, runs)) <= 1  # near-equal


def test_ray_config_reads_the_variables_the_typescript_side_sets() -> None:
    assert ray_config({}) is None
    cfg = ray_config(
        {"LMPROBE_RAY_ADDRESS": "head:6379", "LMPROBE_RAY_WORKERS": "3", "LMPROBE_RAY_RESOURCES": '{"GPU": 1}'}
    )
    assert cfg is not None and (cfg.address, cfg.workers, cfg.resources) == ("head:6379", 3, {"GPU": 1.0})
    assert ray_config({"LMPROBE_RAY_ADDRESS": "auto"}).workers is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "env",
    [
        {"LMPROBE_RAY_WORKERS": "0"},
        {"LMPROBE_RAY_WORKERS": "two"},
        {"LMPROBE_RAY_RESOURCES": '{"CPU": -1}'},
        {"LMPROBE_RAY_RESOURCES": "[1]"},
    ],
)
def test_ray_config_refuses_malformed_settings(env: dict[str, str]) -> None:
    with pytest.raises(WorkerFailure) as err:
        ray_config({"LMPROBE_RAY_ADDRESS": "head:6379", **env})
    assert err.value.code == "BAD_REQUEST"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_liveness_address_of_each_address_form_with_a_stand_in_ray_module() -> None:
    context = SimpleNamespace(gcs_address="10.0.0.5:6379")
    ray = SimpleNamespace(get_runtime_context=lambda: context)
    assert liveness_address(ray, "head:6379") == "head:6379"
    assert liveness_address(ray, "ray://head:10001") == "head:10001"  # the Ray Client server
    assert liveness_address(ray, "auto") == "10.0.0.5:6379"  # what ray.init("auto") resolved to

    def no_context() -> None:
        raise RuntimeError("not connected")

    assert liveness_address(SimpleNamespace(get_runtime_context=no_context), "auto") is None


def test_reachable_probes_real_sockets_and_names_the_configured_address() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        reachable(f"127.0.0.1:{port}")  # listening: no error
        reachable(f"ray://127.0.0.1:{port}")
        reachable("auto", probe=f"127.0.0.1:{port}")
    reachable("auto")  # nothing to probe before ray.init resolves "auto"
    dead = _closed_port()
    for address, probe in [(f"ray://127.0.0.1:{dead}", None), ("auto", f"127.0.0.1:{dead}")]:
        with pytest.raises(WorkerFailure) as err:
            reachable(address, 2.0, "lost", probe)
        assert err.value.code == "RAY_CLUSTER"
        assert str(err.value).startswith(f"lost the Ray cluster at {address}")

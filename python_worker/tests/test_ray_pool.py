"""The Ray path's pure parts, without Ray: sharding of batches and the LMPROBE_RAY_* settings.

The cluster itself is tested end to end in test/integration/ray.test.ts (a real local head).
"""

from __future__ import annotations

import pytest

from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.ray_pool.config import ray_config
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

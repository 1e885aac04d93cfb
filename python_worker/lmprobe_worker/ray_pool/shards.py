"""Sharding one extraction over the actor pool: contiguous shards of whole batches, each shard on
one actor, a dead actor's shard retried on another (bounded), results gathered in input order.

The batches are the local path's (planned by an actor with the same code), and a shard never
splits a batch, so every forward pass sees exactly the prompts and padding it sees locally.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from typing import Any

import numpy as np

from ..context import RequestContext
from ..errors import Cancelled
from ..extraction.batching import gather
from .pool import ActorPool, cluster_error, unwrap

MAX_RETRIES = 2
"""Retries per shard after its actor died (then the request fails with RAY_CLUSTER)."""

SHARDS_PER_ACTOR = 2
"""Shards per actor and request: finer shards balance uneven actors and bound what a death redoes."""


def split(n_batches: int, n_shards: int) -> list[range]:
    """``n_shards`` contiguous, near-equal runs of batch numbers (none empty)."""
    n_shards = max(1, min(n_batches, n_shards))
    size, extra = divmod(n_batches, n_shards)
    out, start = [], 0
    for s in range(n_shards):
        end = start + size + (1 if s < extra else 0)
        out.append(range(start, end))
        start = end
    return out


def run_sharded(
    pool: ActorPool,
    prompts: list[Any],
    layers: list[int],
    pooling: str,
    batch_size: int,
    group_by_length: bool,
    roles: list[str] | None,
    ctx: RequestContext,
) -> tuple[np.ndarray, list[int], dict[str, Any]]:
    """Activations and token counts in input order (as extraction/local.extract), and a summary."""
    ray = pool.ray
    args = (prompts, layers, pooling, batch_size, group_by_length, roles)
    idx_batches = _plan(pool, args)
    shards = split(len(idx_batches), pool.count * SHARDS_PER_ACTOR)  # the same shards whatever died
    die_shard = int(os.environ.get("LMPROBE_RAY_TEST_DIE_SHARD", "-1"))  # test hook, see actor.run
    token = uuid.uuid4().hex
    results: list[Any] = [None] * len(idx_batches)
    queue = deque((s, 0) for s in range(len(shards)))
    idle = list(pool.actors)
    inflight: dict[Any, tuple[int, int, Any, float]] = {}  # ref -> shard, attempt, actor, submitted at
    starting = pool.pending  # model-load ref -> replacement actor (also from an earlier request)
    summary: dict[str, Any] = {"actors": len(pool.actors), "shards": len(shards), "retries": 0, "forward": 0.0}
    retried_at: dict[int, float] = {}
    last_progress = time.perf_counter()
    done = tokens = 0

    def submit(shard: int, attempt: int, actor: Any) -> None:
        order = [i for b in shards[shard] for i in idx_batches[b]]
        local = {g: k for k, g in enumerate(order)}
        part = [[local[i] for i in idx_batches[b]] for b in shards[shard]]
        die = shard == die_shard and attempt == 0
        ref = actor.run.remote(token, [prompts[i] for i in order], part, layers, pooling, roles, die)
        inflight[ref] = (shard, attempt, actor, time.perf_counter())

    try:
        while queue or inflight:
            ctx.check_cancelled()
            while queue and idle:
                shard, attempt = queue.popleft()
                submit(shard, attempt, idle.pop(0))
            if not inflight and (not starting or time.perf_counter() - last_progress > pool.config.start_timeout_s):
                # Every actor died and no replacement could start: the cluster is gone (or full).
                raise cluster_error("no Ray actor is left to run the shards", address=pool.config.address)
            ready, _ = ray.wait([*inflight, *starting], num_returns=1, timeout=0.1)
            for ref in ready:
                if ref in starting:  # a replacement actor has loaded the model
                    idle.append(pool.ready(ref, unwrap(ray, lambda r=ref: ray.get(r))))
                    last_progress = time.perf_counter()
                    continue
                shard, attempt, actor, submitted = inflight.pop(ref)
                try:
                    out = unwrap(ray, lambda r=ref: ray.get(r))
                except ray.exceptions.RayActorError as e:
                    pool.check_alive()  # a dead head: fail now, not after timeouts
                    if attempt >= MAX_RETRIES:
                        raise cluster_error(
                            f"shard {shard} failed on {attempt + 1} Ray actors (each died): {e}",
                            address=pool.config.address,
                        ) from e
                    # Retried first, on whichever actor is free next; the replacement joins once loaded.
                    summary["retries"] += 1
                    summary["detect_s"] = time.perf_counter() - submitted  # submit -> death seen
                    retried_at[shard] = time.perf_counter()
                    pool.replace(actor)  # joins ``starting`` (pool.pending)
                    queue.appendleft((shard, attempt + 1))
                    continue
                if shard in retried_at:  # death seen -> the retried shard's results in hand
                    summary["reschedule_s"] = time.perf_counter() - retried_at.pop(shard)
                per_batch, forward = out
                last_progress = time.perf_counter()
                for b, res in zip(shards[shard], per_batch, strict=True):
                    results[b] = res
                    done += len(idx_batches[b])
                    tokens += int(sum(res[1]))
                summary["forward"] += forward
                idle.append(actor)
                ctx.progress(stage="extract", done=done, total=len(prompts), tokens=tokens)
    except Cancelled:
        _stop(ray, pool, token, inflight)
        raise
    except (ray.exceptions.RaySystemError, ConnectionError) as e:
        raise cluster_error(f"lost the Ray cluster at {pool.config.address}: {e}", address=pool.config.address) from e
    acts, lengths = gather(len(prompts), idx_batches, results, pooling)
    return acts, lengths, summary


def _plan(pool: ActorPool, args: tuple[Any, ...]) -> list[list[int]]:
    """The request's batches, planned by a live actor (one that dies meanwhile is replaced)."""
    ray = pool.ray
    for _ in range(MAX_RETRIES + 1):
        if not pool.actors and pool.pending:  # every actor died: wait (bounded) for a replacement
            ray.wait(list(pool.pending), num_returns=1, timeout=pool.config.start_timeout_s)
            pool.settle()
        if not pool.actors:
            break
        actor = pool.actors[0]
        try:
            return unwrap(ray, lambda a=actor: ray.get(a.plan.remote(*args)))
        except ray.exceptions.RayActorError:
            pool.check_alive()
            pool.replace(actor)
    raise cluster_error("no Ray actor is left to plan the request", address=pool.config.address)


def _stop(ray: Any, pool: ActorPool, token: str, inflight: dict[Any, Any]) -> None:
    """Cancellation: every actor stops this request's shard at its next batch, and the tasks are cancelled."""
    for actor in pool.actors:
        try:
            actor.stop.remote(token)
        except Exception:  # a dead actor has nothing to stop
            pass
    for ref in inflight:
        try:
            ray.cancel(ref)
        except Exception:
            pass

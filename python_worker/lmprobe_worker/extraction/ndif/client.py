"""Submitting the batches of one remote extract request as NDIF jobs and polling them to the end.

Batches are bundled into jobs of at least ``JOB_PROMPTS`` prompts: one nnsight session per job,
its traces one per batch (the batches, and so the numbers, are those of a local run). A request
from TypeScript is one chunk of 64+ prompts, so it is one job; TypeScript keeps several chunks in
flight (the worker runs remote requests beside each other, see server.py). See the package
docstring for retries, job records and cancellation.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ...errors import Cancelled, RemoteFailure, WorkerFailure
from ..batching import batches, gather
from ..checks import check_request
from ..nnsight_trace import assemble, encode, register_by_value, trace_session
from .failures import classify
from .jobs import JobBook, batch_key
from .preflight import INFO, preflight
from .settings import RemoteSettings
from .stub import stub_model

JOB_PROMPTS = 64
"""Batches are bundled into one job until it holds at least this many prompts."""

UNKNOWN_JOB_WAIT_S = 10.0
"""How long a reattached job may answer 404 before it is submitted again (a live job answers at
once: the submit response already carries RECEIVED)."""

# Tracing and serializing a session touches nnsight's global tracing state: one at a time.
# Polling (HTTP and result download) runs freely beside it.
_SUBMIT_LOCK = threading.Lock()


def _quiet_nnsight() -> None:
    from nnsight import CONFIG

    CONFIG.APP.REMOTE_LOGGING = False  # no spinner/tqdm on the worker's stdout/stderr


@dataclass
class _Job:
    """One NDIF job: a session of consecutive batches (progress events still call it ``batch``)."""

    n: int
    idx: list[int]  # prompts of the job, in the order of its batches
    parts: list[tuple[list[int], dict[str, torch.Tensor]]]  # (prompt indices, model inputs) per batch
    key: str
    backend: Any = None
    job_id: str | None = None
    deadline: float = 0.0
    status: str | None = None
    attempt: int = 0
    wait_until: float = 0.0
    reattached: bool = False
    submitted_at: float = 0.0  # monotonic time of the submit or reattach
    stale: bool = False  # reattached to a record older than timeout_s
    result: list[tuple[np.ndarray, list[int]]] | None = None


def extract_remote(
    body: dict[str, Any],
    prompts: list[str],
    layers: list[int],
    pooling: str,
    batch_size: int,
    progress: Callable[..., None],
    check_cancelled: Callable[[], None],
    group_by_length: bool = False,
) -> tuple[np.ndarray, list[int], dict[str, Any]]:
    """Pooled activations from NDIF, in input order; plus a summary (job ids, warnings)."""
    from nnsight.intervention.backends.remote import RemoteBackend, RemoteError

    s = RemoteSettings.from_body(body)
    with _SUBMIT_LOCK:
        _quiet_nnsight()
        register_by_value()
    nm = stub_model(body["model"], s.repo_id, s.revision)
    check_request(nm.n_blocks, prompts, layers, pooling, ascending=True)
    warnings = preflight(s)
    for w in warnings:
        progress(stage="remote", status="PREFLIGHT", message=w, host=s.host)
    model_key = nm.model.to_model_key()
    env = nm.model._remoteable_get_env()
    book = JobBook(s.jobs_file)
    idx_batches = batches(nm.tokenizer, prompts, batch_size, group_by_length, nm.max_positions)
    groups: list[list[list[int]]] = [[]]
    for idx in idx_batches:
        if sum(len(i) for i in groups[-1]) >= JOB_PROMPTS:
            groups.append([])
        groups[-1].append(idx)
    if len(groups) > 1 and sum(len(i) for i in groups[-1]) < JOB_PROMPTS:
        groups[-2].extend(groups.pop())  # a short tail rides with the job before it
    todo = []
    for n, group in enumerate(g for g in groups if g):
        job_prompts = [prompts[i] for idx in group for i in idx]
        todo.append(
            _Job(
                n,
                [i for idx in group for i in idx],
                [(idx, encode(nm.tokenizer, [prompts[i] for i in idx])) for idx in group],
                batch_key(model_key, layers, pooling, s.transfer, [len(idx) for idx in group], job_prompts),
            )
        )
    total = len(todo)
    done_prompts = tokens = 0
    job_ids: list[str] = []

    def report(b: _Job, status: str, message: str | None = None) -> None:
        b.status = status
        progress(
            stage="remote",
            status=status,
            job_id=b.job_id,
            batch=b.n + 1,
            batches=total,
            attempt=b.attempt,
            host=s.host,
            **({"message": message} if message else {}),
        )

    def fail(b: _Job, code: str, message: str, **details: Any) -> None:
        fixes = [w for w in warnings if not w.startswith(INFO)]
        hint = f" Preflight: {' '.join(fixes)}" if fixes and code in ("REMOTE_REJECTED", "REMOTE_JOB") else ""
        raise RemoteFailure(
            code,
            message + hint,
            job_id=b.job_id,
            host=s.host,
            status=b.status,
            batch=b.n + 1,
            attempts=b.attempt + 1,
            **details,
        )

    def retry_or_fail(b: _Job, code: str, retryable: bool, message: str, **details: Any) -> None:
        if not retryable or b.attempt >= s.max_retries:
            fail(b, code, message, **details)
        delay = s.backoff_s * (2**b.attempt) * random.uniform(0.5, 1.5)
        b.attempt += 1
        b.wait_until = time.monotonic() + delay
        report(b, "RETRYING", f"{message} (retry {b.attempt}/{s.max_retries} in {delay:.1f} s)")

    def submit(b: _Job) -> None:
        rec = book.get(b.key)
        if rec and rec.get("host") == s.host and rec.get("job_id"):
            b.backend = RemoteBackend(
                model_key, host=s.host, api_key=s.api_key, env=env, blocking=False, job_id=rec["job_id"]
            )
            b.job_id, b.reattached = rec["job_id"], True
            # A record older than timeout_s already had its time (NDIF 0.1.2 can leave a finished
            # job at QUEUED for good): it gets a short look for a result, then is submitted again.
            age = time.time() - float(rec.get("submitted") or 0)
            b.stale = age > s.timeout_s
            b.submitted_at = time.monotonic()
            b.deadline = time.monotonic() + (min(s.timeout_s, UNKNOWN_JOB_WAIT_S) if b.stale else s.timeout_s)
            report(b, "REATTACHED")
            return
        backend = RemoteBackend(model_key, host=s.host, api_key=s.api_key, env=env, blocking=False)
        with _SUBMIT_LOCK, torch.inference_mode():
            trace_session(nm, [inputs for _, inputs in b.parts], layers, pooling, s.transfer, backend=backend)
        b.backend, b.job_id, b.reattached = backend, backend.job_id, False
        b.deadline = time.monotonic() + s.timeout_s
        job_ids.append(str(backend.job_id))
        book.put(
            b.key,
            {
                "job_id": backend.job_id,
                "host": s.host,
                "model_key": model_key,
                "submitted": time.time(),
                "prompts": len(b.idx),
            },
        )
        b.submitted_at = time.monotonic()
        report(b, str(getattr(backend.status, "value", backend.status) or "RECEIVED"))

    def poll(b: _Job) -> None:
        before = b.status
        try:
            saved = b.backend.poll()
        except RemoteError as exc:  # the job ended in ERROR: exc carries the server's description
            book.drop(b.key)
            text = str(exc)
            b.status = "ERROR"
            b.backend = None
            deterministic = "Traceback (most recent call last)" in text
            retry_or_fail(
                b, "REMOTE_JOB", not deterministic, f"NDIF job {b.job_id} failed: {text}", remote_traceback=text
            )
            return
        status = getattr(b.backend.status, "value", b.backend.status)
        if saved is None:
            now = time.monotonic()
            unknown = b.reattached and status is None and now > b.submitted_at + min(s.timeout_s, UNKNOWN_JOB_WAIT_S)
            if unknown or (b.stale and now > b.deadline):
                # a recorded job the server no longer knows (expired result), or one that had its
                # time before this run and shows no result: submit it again
                book.drop(b.key)
                b.backend, b.stale = None, False
                return
            if status and status != before:
                report(b, str(status))
            if now > b.deadline:
                if b.reattached:
                    # A second deadline for the same job: drop its record, so that the next rerun
                    # submits it again instead of waiting on a job that may never leave its status.
                    book.drop(b.key)
                fail(
                    b,
                    "REMOTE_TIMEOUT",
                    f"NDIF job {b.job_id} did not complete within {s.timeout_s:g} s "
                    f"(last status {b.status or 'unknown'}); "
                    + (
                        "it was already waited for by an earlier run, so its record is dropped and a rerun "
                        "submits it again"
                        if b.reattached
                        else "it stays recorded and a rerun collects it if it finishes"
                    ),
                    timeout_s=s.timeout_s,
                )
            return
        outs = saved.get("outs") if isinstance(saved, dict) else None
        if (
            not isinstance(outs, (list, tuple))
            or len(outs) != len(b.parts)
            or not all(isinstance(o, (list, tuple)) and len(o) == len(layers) for o in outs)
        ):
            book.drop(b.key)
            fail(b, "REMOTE", f"NDIF job {b.job_id} returned an unexpected result ({type(outs).__name__})")
        b.result = [assemble(list(o), inputs["attention_mask"]) for o, (_, inputs) in zip(outs, b.parts, strict=True)]
        book.drop(b.key)
        report(b, "COMPLETED")

    pending = list(todo)
    while pending:
        now = time.monotonic()
        for b in list(pending):
            check_cancelled()
            if now < b.wait_until:
                continue
            try:
                if b.backend is None:
                    submit(b)
                else:
                    poll(b)
            except (WorkerFailure, Cancelled):
                raise
            except Exception as exc:  # noqa: BLE001 - transport failures: classify, maybe retry
                code, retryable, status = classify(exc)
                if code == "REMOTE_AUTH":
                    fail(b, code, f"NDIF at {s.host} refused the API key (HTTP {status}); check NDIF_API_KEY")
                msg = f"NDIF request to {s.host} failed: {exc}"
                retry_or_fail(b, code, retryable, msg, http_status=status)
            if b.result is not None:
                pending.remove(b)
                done_prompts += len(b.idx)
                tokens += sum(sum(r[1]) for r in b.result)
                progress(stage="extract", done=done_prompts, total=len(prompts), tokens=tokens)
        if pending:
            # sleep until the next poll is due, waking often enough to notice a cancel
            until = time.monotonic() + s.poll_s
            while time.monotonic() < until:
                check_cancelled()
                time.sleep(min(0.1, s.poll_s))
    per_batch = [(idx, r) for b in todo for (idx, _), r in zip(b.parts, b.result or [], strict=True)]
    acts, lengths = gather(len(prompts), [idx for idx, _ in per_batch], [r for _, r in per_batch], pooling)
    return acts, lengths, {"job_ids": job_ids, "warnings": warnings, "host": s.host}

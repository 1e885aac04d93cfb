"""Remote extraction on NDIF through nnsight's non-blocking RemoteBackend.

One job per batch. All batches of a request are submitted at once (their queue waits overlap)
and then polled round-robin until each completes, fails, or passes its deadline. The model is a
weightless stub built from the local config and tokenizer (meta tensors, no weights); the server
runs the trace, pools, drops pads and down-casts before anything is saved, so only pooled
float16 vectors come back.

- Key: ``NDIF_API_KEY`` from this process's environment, handed to the backend per request;
  never written anywhere (not nnsight's ``CONFIG.set_default_api_key``, which writes a file)
  and never put in a message or log line.
- Host: the request's ``host``, else ``NDIF_HOST``, else nnsight's default.
- Retries: transport failures, 5xx/429 answers and job errors without a Python traceback
  (queue removals, unavailable deployments) are retried up to ``max_retries`` times per batch
  with exponential backoff and jitter; a job whose trace raised (the description carries a
  traceback) is not, nor are 4xx refusals.
- Job ids: recorded in ``jobs_file`` (JSON, keyed by a hash of the batch) as soon as a job is
  submitted and removed once its result is in hand. A rerun of an interrupted extraction polls a
  recorded job instead of submitting it again.
- Cancel: the worker's cancel flag stops the polling (NDIF has no cancel endpoint: the job
  finishes server-side and stays recorded, so a rerun collects it).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from .extract_nnsight import NnsightModel, _layers_path, assemble, check_request, encode, gather, load_tokenizer, split_batches, trace_batch
from .models import decoder_layers
from .protocol import Cancelled, WorkerFailure

DEFAULT_HOST = "https://api.ndif.us"
_STATUS_FINAL = {"COMPLETED", "ERROR"}


class RemoteFailure(WorkerFailure):
    """A remote failure with structured details for the TypeScript error (job id, status...)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(code, message)
        self.details = {k: v for k, v in details.items() if v is not None}


def register_by_value() -> None:
    """Ship the worker's own code (``pool`` and friends, used inside traces) by value: NDIF does
    not have lmprobe_worker installed, whether it is on PYTHONPATH or pip-installed here."""
    import nnsight

    nnsight.register("lmprobe_worker")


def _quiet_nnsight() -> None:
    from nnsight import CONFIG

    CONFIG.APP.REMOTE_LOGGING = False  # no spinner/tqdm on the worker's stdout/stderr


# -- the weightless model --------------------------------------------------------------------

_STUBS: dict[tuple[str, str, str | None], NnsightModel] = {}
_STUB_LOCK = threading.Lock()


def stub_model(path: str, repo_id: str, revision: str | None) -> NnsightModel:
    """A meta-device nnsight model built from the local config and tokenizer only."""
    key = (path, repo_id, revision)
    with _STUB_LOCK:
        hit = _STUBS.get(key)
        if hit is not None:
            return hit
        from nnsight import TransformersModel
        from nnsight.modeling import huggingface

        if not os.path.isfile(os.path.join(path, "config.json")):
            raise WorkerFailure("MODEL_NOT_FOUND", f"{path} has no config.json")
        tokenizer = load_tokenizer(path)
        # dispatch=False: meta tensors only. nnsight gets its own tokenizer copy (it sets left padding).
        model = TransformersModel(path, task="text-generation", tokenizer=load_tokenizer(path))
        # The remote key names the hub repo, not the local folder the stub was built from. The id
        # was resolved on the TypeScript side; seeding nnsight's id cache spares a hub call.
        model.repo_id = repo_id
        model.revision = None if revision in (None, "", "main") else revision
        huggingface._ID_CACHE[repo_id] = repo_id
        blocks = decoder_layers(model._module)
        stub = NnsightModel(model, tokenizer, _layers_path(model._module, blocks), len(blocks))
        _STUBS[key] = stub
        return stub


# -- settings, job records, preflight ---------------------------------------------------------


@dataclass
class RemoteSettings:
    host: str
    api_key: str = field(repr=False)
    repo_id: str
    revision: str | None
    timeout_s: float
    poll_s: float
    max_retries: int
    backoff_s: float
    jobs_file: str | None
    transfer: str

    @staticmethod
    def from_body(body: dict[str, Any]) -> "RemoteSettings":
        r = body.get("remote") or {}
        key = os.environ.get("NDIF_API_KEY", "")
        if not key:
            raise RemoteFailure("REMOTE_AUTH", "NDIF_API_KEY is not set in the worker's environment; get a key at https://login.ndif.us and export NDIF_API_KEY before starting")
        host = str(r.get("host") or os.environ.get("NDIF_HOST") or DEFAULT_HOST).rstrip("/")
        if not host.startswith(("http://", "https://")):
            raise RemoteFailure("REMOTE", f"NDIF host {host!r} must start with http:// or https://", host=host)
        return RemoteSettings(
            host=host,
            api_key=key,
            repo_id=str(r.get("repo_id") or body["model"]),
            revision=r.get("revision"),
            timeout_s=float(r.get("timeout_s", 3600.0)),
            poll_s=float(r.get("poll_s", 2.0)),
            max_retries=int(r.get("max_retries", 3)),
            backoff_s=float(r.get("backoff_s", 1.0)),
            jobs_file=r.get("jobs_file"),
            transfer=str(r.get("transfer_dtype", "float16")),
        )


class JobBook:
    """The job ids of submitted, not yet collected batches, in a small JSON file."""

    _lock = threading.Lock()

    def __init__(self, path: str | None) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        if not self.path:
            return {}
        try:
            with open(self.path, encoding="utf8") as f:
                data = json.load(f)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write(self, data: dict[str, Any]) -> None:
        if not self.path:
            return
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, self.path)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._read().get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        with self._lock:
            data = self._read()
            data[key] = record
            self._write(data)

    def drop(self, key: str) -> None:
        with self._lock:
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)


_PREFLIGHT: dict[str, list[str]] = {}


def _minor(version: str) -> str:
    return ".".join(version.split()[0].split(".")[:2])


def preflight(s: RemoteSettings) -> list[str]:
    """Compares this worker's Python and nnsight/torch/transformers with the server's (``GET /env``,
    the endpoint ``nnsight.compare()`` reads). Returns warnings, each with its fix; an unreachable
    or older server without ``/env`` yields none (the job itself will then tell)."""
    if s.host in _PREFLIGHT:
        return _PREFLIGHT[s.host]
    import httpx
    from importlib.metadata import version

    warnings: list[str] = []
    try:
        r = httpx.get(f"{s.host}/env", headers={"ndif-api-key": s.api_key}, timeout=httpx.Timeout(5.0, read=30.0))
        if r.status_code in (401, 403):
            raise RemoteFailure("REMOTE_AUTH", f"NDIF at {s.host} refused the API key (HTTP {r.status_code}); check NDIF_API_KEY", host=s.host)
        r.raise_for_status()
        remote = r.json()
    except RemoteFailure:
        raise
    except Exception:  # noqa: BLE001 - a preflight must not be the reason a run fails
        _PREFLIGHT[s.host] = warnings
        return warnings
    packages = remote.get("packages") or {}
    local_py, remote_py = platform.python_version(), str(remote.get("python_version", ""))
    if remote_py and _minor(local_py) != _minor(remote_py):
        warnings.append(
            f"NDIF runs Python {_minor(remote_py)}, the worker Python {_minor(local_py)}: the server may refuse or "
            f"mis-deserialize requests. Fix: rebuild the worker on Python {_minor(remote_py)} "
            f"(LMPROBE_BASE_PYTHON=python{_minor(remote_py)} npx lmprobe setup --force, or LMPROBE_PYTHON=<python{_minor(remote_py)} with the worker's packages>)."
        )
    for pkg in ("nnsight", "torch", "transformers"):
        theirs = packages.get(pkg)
        try:
            ours = version(pkg)
        except Exception:  # noqa: BLE001
            ours = "-"
        if theirs and theirs.split("+")[0] != ours.split("+")[0]:
            fix = (
                f"pin nnsight=={theirs} in python_worker/requirements.txt (NDIF refuses clients older than its own nnsight) "
                "and run `npx lmprobe setup --force`"
                if pkg == "nnsight"
                else f"install {pkg}=={theirs.split('+')[0]} into the worker's environment (LMPROBE_PIP_CONSTRAINT or LMPROBE_PYTHON)"
            )
            warnings.append(f"NDIF has {pkg} {theirs}, the worker {ours}. Fix: {fix}.")
    _PREFLIGHT[s.host] = warnings
    return warnings


# -- jobs --------------------------------------------------------------------------------------


def _batch_key(model_key: str, layers: list[int], pooling: str, transfer: str, prompts: list[str]) -> str:
    h = hashlib.sha256(json.dumps([model_key, layers, pooling, transfer, prompts]).encode("utf8"))
    return h.hexdigest()[:32]


def _classify(exc: BaseException) -> tuple[str, bool, int | None]:
    """(code, retryable, http status) of a failure raised by nnsight's RemoteBackend or httpx."""
    import httpx

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, httpx.HTTPError):
        cause = cause.__cause__
    if isinstance(cause, httpx.HTTPStatusError):
        status = cause.response.status_code
        if status in (401, 403):
            return "REMOTE_AUTH", False, status
        if status == 429 or status >= 500:
            return "REMOTE", True, status
        return "REMOTE_REJECTED", False, status
    if isinstance(cause, httpx.HTTPError):
        return "REMOTE", True, None
    return "REMOTE", False, None


@dataclass
class _Batch:
    n: int
    idx: list[int]
    inputs: dict[str, torch.Tensor]
    key: str
    backend: Any = None
    job_id: str | None = None
    deadline: float = 0.0
    status: str | None = None
    attempt: int = 0
    wait_until: float = 0.0
    reattached: bool = False
    result: tuple[np.ndarray, list[int]] | None = None


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
    _quiet_nnsight()
    register_by_value()
    nm = stub_model(body["model"], s.repo_id, s.revision)
    check_request(nm.n_blocks, prompts, layers, pooling)
    warnings = preflight(s)
    for w in warnings:
        progress(stage="remote", status="PREFLIGHT", message=w, host=s.host)
    model_key = nm.model.to_model_key()
    env = nm.model._remoteable_get_env()
    book = JobBook(s.jobs_file)
    idx_batches = split_batches(nm.tokenizer, prompts, batch_size, group_by_length)
    todo = []
    for n, idx in enumerate(idx_batches):
        batch_prompts = [prompts[i] for i in idx]
        todo.append(_Batch(n, idx, encode(nm.tokenizer, batch_prompts), _batch_key(model_key, layers, pooling, s.transfer, batch_prompts)))
    total = len(todo)
    done_prompts = tokens = 0
    job_ids: list[str] = []

    def report(b: _Batch, status: str, message: str | None = None) -> None:
        b.status = status
        progress(stage="remote", status=status, job_id=b.job_id, batch=b.n + 1, batches=total, attempt=b.attempt, host=s.host, **({"message": message} if message else {}))

    def fail(b: _Batch, code: str, message: str, **details: Any) -> None:
        hint = f" Preflight: {' '.join(warnings)}" if warnings and code in ("REMOTE_REJECTED", "REMOTE_JOB") else ""
        raise RemoteFailure(code, message + hint, job_id=b.job_id, host=s.host, status=b.status, batch=b.n + 1, attempts=b.attempt + 1, **details)

    def retry_or_fail(b: _Batch, code: str, retryable: bool, message: str, **details: Any) -> None:
        if not retryable or b.attempt >= s.max_retries:
            fail(b, code, message, **details)
        delay = s.backoff_s * (2**b.attempt) * random.uniform(0.5, 1.5)
        b.attempt += 1
        b.wait_until = time.monotonic() + delay
        report(b, "RETRYING", f"{message} (retry {b.attempt}/{s.max_retries} in {delay:.1f} s)")

    def submit(b: _Batch) -> None:
        rec = book.get(b.key)
        if rec and rec.get("host") == s.host and rec.get("job_id"):
            b.backend = RemoteBackend(model_key, host=s.host, api_key=s.api_key, env=env, blocking=False, job_id=rec["job_id"])
            b.job_id, b.reattached = rec["job_id"], True
            b.deadline = time.monotonic() + s.timeout_s
            report(b, "REATTACHED")
            return
        backend = RemoteBackend(model_key, host=s.host, api_key=s.api_key, env=env, blocking=False)
        with torch.inference_mode():
            trace_batch(nm, b.inputs, layers, pooling, s.transfer, backend=backend)
        b.backend, b.job_id, b.reattached = backend, backend.job_id, False
        b.deadline = time.monotonic() + s.timeout_s
        job_ids.append(str(backend.job_id))
        book.put(b.key, {"job_id": backend.job_id, "host": s.host, "model_key": model_key, "submitted": time.time(), "prompts": len(b.idx)})
        report(b, str(getattr(backend.status, "value", backend.status) or "RECEIVED"))

    def poll(b: _Batch) -> None:
        before = b.status
        try:
            saved = b.backend.poll()
        except RemoteError as exc:  # the job ended in ERROR: exc carries the server's description
            book.drop(b.key)
            text = str(exc)
            b.status = "ERROR"
            b.backend = None
            deterministic = "Traceback (most recent call last)" in text
            retry_or_fail(b, "REMOTE_JOB", not deterministic, f"NDIF job {b.job_id} failed: {text}", remote_traceback=text)
            return
        status = getattr(b.backend.status, "value", b.backend.status)
        if saved is None:
            if b.reattached and status is None and time.monotonic() > b.deadline - s.timeout_s + min(s.timeout_s, 60.0):
                # a recorded job the server no longer knows (expired result): submit it again
                book.drop(b.key)
                b.backend = None
                return
            if status and status != before:
                report(b, str(status))
            if time.monotonic() > b.deadline:
                fail(b, "REMOTE_TIMEOUT", f"NDIF job {b.job_id} did not complete within {s.timeout_s:g} s (last status {b.status or 'unknown'}); "
                     "it stays recorded and a rerun collects it if it finishes", timeout_s=s.timeout_s)
            return
        out = saved.get("out") if isinstance(saved, dict) else None
        if not isinstance(out, (list, tuple)) or len(out) != len(layers):
            book.drop(b.key)
            fail(b, "REMOTE", f"NDIF job {b.job_id} returned an unexpected result ({type(out).__name__})")
        b.result = assemble(list(out), b.inputs["attention_mask"])
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
                code, retryable, status = _classify(exc)
                if code == "REMOTE_AUTH":
                    fail(b, code, f"NDIF at {s.host} refused the API key (HTTP {status}); check NDIF_API_KEY")
                msg = f"NDIF request to {s.host} failed: {exc}"
                retry_or_fail(b, code, retryable, msg, http_status=status)
            if b.result is not None:
                pending.remove(b)
                done_prompts += len(b.idx)
                tokens += sum(b.result[1])
                progress(stage="extract", done=done_prompts, total=len(prompts), tokens=tokens)
        if pending:
            # sleep until the next poll is due, waking often enough to notice a cancel
            until = time.monotonic() + s.poll_s
            while time.monotonic() < until:
                check_cancelled()
                time.sleep(min(0.1, s.poll_s))
    acts, lengths = gather(prompts, idx_batches, [b.result for b in todo], pooling)  # type: ignore[misc]
    return acts, lengths, {"job_ids": job_ids, "warnings": warnings, "host": s.host}

"""What a remote extract request says: host, key (from the environment), timeouts, retries, job file.

TypeScript writes every default once (``REMOTE_DEFAULTS`` in src/protocol/remote.ts) and always
sends the fields; the worker requires them instead of defaulting a second time, so the two can
never disagree. Only the host may be left out (then ``NDIF_HOST``, else NDIF's public host).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ...errors import RemoteFailure, WorkerFailure

DEFAULT_HOST = "https://api.ndif.us"
TRANSFER_DTYPE_NAMES = ("float16", "bfloat16", "float32")

# Fields of ``body["remote"]`` that must be present: (name, type check, what it must be).
_REQUIRED: tuple[tuple[str, Any, str], ...] = (
    ("repo_id", lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    ("timeout_s", lambda v: _number(v) and v > 0, "a positive number of seconds"),
    ("poll_s", lambda v: _number(v) and v > 0, "a positive number of seconds"),
    ("backoff_s", lambda v: _number(v) and v >= 0, "a non-negative number of seconds"),
    ("max_retries", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a non-negative integer"),
    ("jobs_file", lambda v: v is None or (isinstance(v, str) and v != ""), "a file path or null"),
    ("transfer_dtype", lambda v: v in TRANSFER_DTYPE_NAMES, f"one of {', '.join(TRANSFER_DTYPE_NAMES)}"),
)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_fields(remote: Any) -> dict[str, Any]:
    """The ``remote`` map of a request, with every required field present and well-typed."""
    if not isinstance(remote, dict):
        raise WorkerFailure("BAD_REQUEST", f"remote must be a map of settings, got {type(remote).__name__}")
    for name, ok, what in _REQUIRED:
        if name not in remote:
            raise WorkerFailure("BAD_REQUEST", f"remote.{name} is missing from the extract request", {"field": name})
        if not ok(remote[name]):
            raise WorkerFailure("BAD_REQUEST", f"remote.{name} must be {what}, got {remote[name]!r}", {"field": name})
    return remote


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
    def from_body(body: dict[str, Any]) -> RemoteSettings:
        r = check_fields(body.get("remote"))
        key = os.environ.get("NDIF_API_KEY", "")
        if not key:
            raise RemoteFailure(
                "REMOTE_AUTH",
                "NDIF_API_KEY is not set in the worker's environment; "
                "get a key at https://login.ndif.us and export NDIF_API_KEY before starting",
            )
        host = str(r.get("host") or os.environ.get("NDIF_HOST") or DEFAULT_HOST).rstrip("/")
        if not host.startswith(("http://", "https://")):
            raise RemoteFailure("REMOTE", f"NDIF host {host!r} must start with http:// or https://", host=host)
        return RemoteSettings(
            host=host,
            api_key=key,
            repo_id=r["repo_id"],
            revision=r.get("revision"),  # None: the hub's main branch
            timeout_s=float(r["timeout_s"]),
            poll_s=float(r["poll_s"]),
            max_retries=int(r["max_retries"]),
            backoff_s=float(r["backoff_s"]),
            jobs_file=r["jobs_file"],
            transfer=str(r["transfer_dtype"]),
        )

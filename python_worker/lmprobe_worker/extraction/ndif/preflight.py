"""Compare this worker's Python and packages with the NDIF server's before submitting (warnings only)."""

from __future__ import annotations

import platform

from ...errors import RemoteFailure
from .settings import RemoteSettings

_PREFLIGHT: dict[str, list[str]] = {}

INFO = "Note: "
"""Prefix of a preflight message that is information only (no fix; not repeated in errors)."""


def _minor(version: str) -> str:
    return ".".join(version.split()[0].split(".")[:2])


def preflight(s: RemoteSettings) -> list[str]:
    """Compares this worker's Python and nnsight/torch/transformers with the server's (``GET /env``,
    the endpoint ``nnsight.compare()`` reads). Returns warnings, each with its fix, and notes
    (prefixed ``INFO``: a torch/transformers difference); an unreachable or older server without
    ``/env`` yields none (the job itself will then tell)."""
    if s.host in _PREFLIGHT:
        return _PREFLIGHT[s.host]
    from importlib.metadata import version

    import httpx

    warnings: list[str] = []
    try:
        r = httpx.get(f"{s.host}/env", headers={"ndif-api-key": s.api_key}, timeout=httpx.Timeout(5.0, read=30.0))
        if r.status_code in (401, 403):
            raise RemoteFailure(
                "REMOTE_AUTH",
                f"NDIF at {s.host} refused the API key (HTTP {r.status_code}); check NDIF_API_KEY",
                host=s.host,
            )
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
            f"(LMPROBE_BASE_PYTHON=python{_minor(remote_py)} npx lmprobe setup --force, "
            f"or LMPROBE_PYTHON=<python{_minor(remote_py)} with the worker's packages>)."
        )
    for pkg in ("nnsight", "torch", "transformers"):
        theirs = packages.get(pkg)
        try:
            ours = version(pkg)
        except Exception:  # noqa: BLE001
            ours = "-"
        if not theirs or theirs.split("+")[0] == ours.split("+")[0]:
            continue
        if pkg == "nnsight":
            warnings.append(
                f"NDIF has nnsight {theirs}, the worker {ours}. Fix: pin nnsight=={theirs} in "
                "python_worker/requirements.txt (NDIF refuses clients older than its own nnsight) "
                "and run `npx lmprobe setup --force`."
            )
        else:
            # The model runs on the server, with the server's torch/transformers; the worker's only
            # build the weightless stub and the request. The real-server tier matched activations
            # across such differences, so this is information, not something to fix.
            warnings.append(
                f"{INFO}NDIF has {pkg} {theirs}, the worker {ours} (informational: the model runs with the "
                f"server's {pkg}; activations matched across such versions in lmprobe's real-server tests)."
            )
    _PREFLIGHT[s.host] = warnings
    return warnings

"""``model_resolve``: a served worker resolves model names itself (no file system shared with the client).

A client of ``lmprobe worker serve`` cannot look at the server's folders, so it sends the model
name the user wrote and gets back the server's folder, its ``config.json`` and the identity its
activation cache keys on, computed the way TypeScript computes it for a local worker
(src/cache/model-identity.ts): an embedded model's GGUF hash, a hub snapshot's commit sha, or a
content digest of a local folder. The same weights therefore share cache entries either way.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from ..context import RequestContext
from ..embedded import file_sha256
from ..errors import WorkerFailure
from ..messages_tools import ModelResolveReply, ModelResolveRequest

_EMBEDDED = "embedded:"
# (folder, stat signature) -> digest: hashing a folder's weights costs seconds, once per serve.
_DIGESTS: dict[tuple[str, str], str] = {}


def _not_found(model: str, message: str) -> WorkerFailure:
    return WorkerFailure("MODEL_NOT_FOUND", message, {"model": model})


def _embedded_dir() -> str:
    configured = os.environ.get("LMPROBE_EMBEDDED_DIR")
    if configured:
        return configured
    home = os.environ.get("LMPROBE_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lmprobe-ts"
    )
    return os.path.join(home, "models")


def folder_digest(folder: str) -> str:
    """Content fingerprint of a model folder, byte for byte TypeScript's ``folderDigest``."""
    files = sorted(
        e.name
        for e in os.scandir(folder)
        if e.is_file(follow_symlinks=False) and not e.name.startswith(".") and not e.name.lower().startswith("readme")
    )
    signature = json.dumps([[f, os.stat(os.path.join(folder, f)).st_size] for f in files])
    signature += json.dumps([os.stat(os.path.join(folder, f)).st_mtime_ns for f in files])
    known = _DIGESTS.get((folder, signature))
    if known:
        return known
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f}\0{file_sha256(os.path.join(folder, f))}\n".encode())
    _DIGESTS[(folder, signature)] = digest = h.hexdigest()
    return digest


def _looks_like_path(model: str) -> bool:
    return os.path.isabs(model) or model.startswith((".", "~")) or os.path.exists(model)


def _resolve(model: str, revision: str, ctx: RequestContext) -> tuple[str, str | None, dict[str, Any]]:
    if model.startswith(_EMBEDDED):
        from ..embedded import EMBEDDED_MODELS, MARKER, prepare_embedded

        name = model[len(_EMBEDDED) :]
        if name not in EMBEDDED_MODELS:
            raise _not_found(model, f"Unknown embedded model {name!r}; known: {', '.join(sorted(EMBEDDED_MODELS))}.")
        folder = os.path.join(_embedded_dir(), name)
        prepare_embedded(name, folder, lambda msg: ctx.progress(stage="embedded", message=msg))
        with open(os.path.join(folder, MARKER), encoding="utf-8") as f:
            marker = json.load(f)
        sha = marker.get("gguf_sha256") or marker.get("sha256")
        return folder, None, {"kind": "embedded", "name": model, "gguf_sha256": sha}
    if _looks_like_path(model):
        folder = os.path.abspath(os.path.expanduser(model))
        if not os.path.isdir(folder):
            raise _not_found(
                model,
                f"Model {model}: {folder} is not a folder on the worker's machine (a served worker loads models from "
                "its own disk: copy the folder there, or use a hub id cached on the server).",
            )
        return folder, None, {"kind": "local", "digest": folder_digest(folder)}
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id=model, revision=revision, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - every miss gets the same fix
        raise _not_found(
            model,
            f"Model {model}@{revision} is not in the worker's Hugging Face cache ({type(exc).__name__}): download it "
            f"on the worker's machine (e.g. `hf download {model}`), or pass a folder that exists there.",
        ) from None
    sha = os.path.basename(os.path.normpath(folder))
    return folder, sha, {"kind": "hub", "repo": model, "sha": sha}


def model_resolve(body: ModelResolveRequest, ctx: RequestContext) -> ModelResolveReply:
    model = str(body["model"])
    folder, revision, source = _resolve(model, str(body.get("revision") or "main"), ctx)
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as exc:
        raise _not_found(
            model, f"Model {model}: cannot read {folder}/config.json on the worker's machine ({exc})"
        ) from None
    if not isinstance(config, dict):
        raise _not_found(model, f"Model {model}: {folder}/config.json is not a JSON object")
    return {"path": folder, "revision": revision, "config": config, "source": source}

"""``model_resolve``: a served worker resolves model names on its own disk and identifies them for the cache."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from lmprobe_worker.context import RequestContext
from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.handlers.model_resolve import folder_digest, model_resolve

ctx = RequestContext("1", lambda _kind, _body: None)


def test_a_local_folder_resolves_with_its_config_and_a_content_digest(tiny_models, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_models["llama"]["path"], folder)
    reply = model_resolve({"model": str(folder)}, ctx)
    assert reply["path"] == str(folder) and reply["revision"] is None
    assert reply["config"] == json.loads((folder / "config.json").read_text())
    assert reply["source"] == {"kind": "local", "digest": folder_digest(str(folder))}
    # The digest is TypeScript's (model-identity.ts): sorted names, sha256 of "name\0hex(file)\n" lines,
    # dot-files and READMEs left out; so the same weights share cache entries with a local worker.
    (folder / "README.md").write_text("notes")
    (folder / ".hidden").write_text("x")
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name[0] != "." and p.name[:6] != "README")
    expected = hashlib.sha256()
    for name in files:
        expected.update(f"{name}\0{hashlib.sha256((folder / name).read_bytes()).hexdigest()}\n".encode())
    assert folder_digest(str(folder)) == expected.hexdigest() == reply["source"]["digest"]
    # Changed weights: another digest (the memo is keyed by size and mtime).
    with open(folder / "config.json", "a", encoding="utf-8") as f:
        f.write("\n")
    assert folder_digest(str(folder)) != expected.hexdigest()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("/nonexistent/lmprobe-model", r"not a folder on the worker's machine"),
        ("embedded:no-such-model", r"Unknown embedded model"),
        ("nobody/no-such-model-in-any-cache", r"not in the worker's Hugging Face cache.*hf download"),
    ],
)
def test_names_the_server_cannot_resolve_are_model_not_found(model: str, message: str) -> None:
    with pytest.raises(WorkerFailure, match=message) as err:
        model_resolve({"model": model}, ctx)
    assert err.value.code == "MODEL_NOT_FOUND" and err.value.details == {"model": model}


def test_a_folder_without_config_json_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(WorkerFailure, match=r"config.json") as err:
        model_resolve({"model": str(tmp_path)}, ctx)
    assert err.value.code == "MODEL_NOT_FOUND"

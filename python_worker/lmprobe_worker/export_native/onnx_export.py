"""Writing the truncated model as ONNX with torch's exporter.

The dynamo-based exporter (``torch.onnx.export(..., dynamo=True)``: torch.export, then onnxscript)
is used first; it needs the ``onnx`` and ``onnxscript`` packages. Should it fail on an
architecture, the TorchScript exporter is tried (deprecated, but still in torch 2.13); which one
wrote the graph is reported, with the opset read back from the file. Both were checked offline on
the tiny llama/gpt2/gpt_neox test models and SmolLM2 (torch 2.13, onnx 1.23, onnxscript 0.7).

The example batch is padded (two prompts of different lengths) and the batch and sequence axes
are declared dynamic, so the graph keeps the attention-mask arithmetic of padded batches instead
of specialising on an all-ones mask. Weights go to an external data file once they pass
``EXTERNAL_DATA_BYTES`` (protobuf files cannot exceed 2 GB).
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import torch

from .truncated import TruncatedModel

log = logging.getLogger("lmprobe_worker")

# Above this many bytes of weights the graph and its weights go into separate files.
EXTERNAL_DATA_BYTES = 1 << 30
# Prompts of the example batch: two lengths, so the example carries padding.
_EXAMPLE = ["The cat sat on the mat and looked at the door for a while.", "Hello"]
TORCHSCRIPT_OPSET = 17


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise RuntimeError(
            f"exporting to ONNX needs the Python packages onnx and onnxscript ({err}); run `lmprobe setup` "
            "(the managed environment installs them) or `pip install onnx onnxscript` into LMPROBE_PYTHON"
        ) from err


def example_inputs(tokenizer: Any) -> tuple[torch.Tensor, torch.Tensor]:
    enc = tokenizer(_EXAMPLE, return_tensors="pt", padding=True)
    return enc["input_ids"].to(torch.int64), enc["attention_mask"].to(torch.int64)


def _weight_bytes(module: torch.nn.Module) -> int:
    return sum(p.numel() * 4 for p in module.parameters())  # float32 in the graph


def _dynamo(wrapper: TruncatedModel, args: tuple[torch.Tensor, ...], path: str, names: list[str], ext: bool) -> None:
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    axes = {0: batch, 1: seq}
    torch.onnx.export(
        wrapper,
        args,
        path,
        dynamo=True,
        input_names=["input_ids", "attention_mask"],
        output_names=names,
        dynamic_shapes={"input_ids": axes, "attention_mask": axes},
        external_data=ext,
        verbose=False,
    )


def _torchscript(
    wrapper: TruncatedModel, args: tuple[torch.Tensor, ...], path: str, names: list[str], ext: bool
) -> None:
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation warning; which exporter ran is reported
        torch.onnx.export(
            wrapper,
            args,
            path,
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=names,
            dynamic_axes={"input_ids": axes, "attention_mask": axes, **{n: axes for n in names}},
            opset_version=TORCHSCRIPT_OPSET,
        )
    if ext:
        import onnx

        proto = onnx.load(path)
        onnx.save_model(proto, path, save_as_external_data=True, location=os.path.basename(path) + ".data")


def export_onnx(model: Any, tokenizer: Any, layers: list[int], path: str) -> dict[str, Any]:
    """Writes the truncated model to ``path`` (+ external data beside it). Returns exporter, opset,
    output names and the external data files (names relative to the folder)."""
    _require_onnx()
    import onnx

    wrapper = TruncatedModel(model, layers).eval()
    names = [f"hidden_{i}" for i in wrapper.layers]
    args = example_inputs(tokenizer)
    ext = _weight_bytes(wrapper) > EXTERNAL_DATA_BYTES
    folder = os.path.dirname(path)
    before = set(os.listdir(folder))
    exporter = "dynamo"
    with torch.no_grad():
        try:
            _dynamo(wrapper, args, path, names, ext)
        except Exception as err:  # noqa: BLE001 - any exporter failure: try the other one, then report both
            log.warning("dynamo export failed (%s: %s); trying the TorchScript exporter", type(err).__name__, err)
            for leftover in set(os.listdir(folder)) - before:
                os.remove(os.path.join(folder, leftover))
            exporter = "torchscript"
            try:
                _torchscript(wrapper, args, path, names, ext)
            except Exception as err2:
                raise RuntimeError(
                    f"torch could not export this model to ONNX: dynamo exporter: {type(err).__name__}: {err}; "
                    f"TorchScript exporter: {type(err2).__name__}: {err2}"
                ) from err2
    proto = onnx.load(path, load_external_data=False)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    written = sorted(set(os.listdir(folder)) - before - {os.path.basename(path)})
    return {
        "exporter": exporter,
        "opset": int(opset),
        "outputs": names,
        "layers": wrapper.layers,
        "external_data": written,
    }

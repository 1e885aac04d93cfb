"""The model truncated after the highest probed block, returning exactly what extraction reads.

Extraction (extraction/local.py) runs the full causal LM with ``input_ids``, ``attention_mask`` and
``use_cache=False``, reads the output of decoder block i for layer i through a forward hook (no
final norm), and stops after the highest block. The wrapper does the same on the base model (the
module that owns the block list) with the block list cut after that block, so the position ids
and the padded-batch attention mask are computed by the same transformers code, and later
blocks and ``lm_head`` are not in the graph at all. The loaded model is never modified: the
wrapper holds a shallow copy of the base module with its own module table.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..errors import WorkerFailure

# (path to the base module, name of its block list), the layouts models.decoder_layers knows.
_LAYOUTS: list[tuple[tuple[str, ...], str]] = [
    (("model",), "layers"),
    (("model", "language_model"), "layers"),
    (("transformer",), "h"),
    (("gpt_neox",), "layers"),
    (("transformer",), "blocks"),
    (("model", "decoder"), "layers"),
]


def base_and_blocks(model: Any) -> tuple[Any, str]:
    """The module that owns the decoder blocks (it embeds and runs them), and its block-list attribute."""
    for path, attr in _LAYOUTS:
        node = model
        for name in path:
            node = getattr(node, name, None)
            if node is None:
                break
        if node is not None and isinstance(getattr(node, attr, None), torch.nn.ModuleList):
            return node, attr
    raise WorkerFailure(
        "UNSUPPORTED_MODEL",
        f"cannot export {type(model).__name__}: its decoder blocks are not in a layout lmprobe-ts knows "
        "(model.layers, transformer.h, gpt_neox.layers, transformer.blocks, model.decoder.layers)",
    )


class TruncatedModel(torch.nn.Module):
    """``(input_ids, attention_mask) -> (hidden_<layer>, ...)``: each probed block's output, float32."""

    def __init__(self, model: Any, layers: list[int]) -> None:
        super().__init__()
        base, attr = base_and_blocks(model)
        self.layers = sorted(set(layers))
        top = self.layers[-1]
        blocks = list(getattr(base, attr))
        if self.layers[0] < 0 or top >= len(blocks):
            raise WorkerFailure("BAD_REQUEST", f"layers {layers} out of range: the model has {len(blocks)}")
        cut = copy.copy(base)
        cut._modules = dict(base._modules)  # setattr below must not touch the loaded model's table
        setattr(cut, attr, torch.nn.ModuleList(blocks[: top + 1]))
        self.base = cut
        self._blocks = getattr(cut, attr)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        captured: dict[int, torch.Tensor] = {}

        def make_hook(idx: int) -> Any:
            def hook(_module: Any, _inputs: Any, output: Any) -> None:
                captured[idx] = output[0] if isinstance(output, tuple) else output

            return hook

        handles = [self._blocks[i].register_forward_hook(make_hook(i)) for i in self.layers]
        try:
            self.base(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        finally:
            for h in handles:
                h.remove()
        return tuple(captured[i].float() for i in self.layers)

"""Benchmark leg (d): the reference forward pass. Tokenize + model(**batch) over the prompts in
batches, no hooks, torch.inference_mode; then the same loop stopped after the highest probed
block (a forward hook that raises, as the worker does). One JSON job on stdin."""

import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

job = json.load(sys.stdin)
tok = AutoTokenizer.from_pretrained(job["model"])
tok.pad_token = tok.pad_token or tok.eos_token
model = AutoModelForCausalLM.from_pretrained(job["model"], dtype=torch.float32).eval()
prompts, bs = job["prompts"], job["batch_size"]


class Stop(Exception):
    pass


def loop(stop_at: int | None) -> tuple[float, int]:
    handle = None
    if stop_at is not None:
        def hook(*_args):
            raise Stop()
        handle = model.model.layers[stop_at].register_forward_hook(hook)
    tokens = 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(prompts), bs):
            enc = tok(prompts[s : s + bs], return_tensors="pt", padding=True)
            tokens += int(enc["attention_mask"].sum())
            try:
                model(**enc)
            except Stop:
                pass
    if handle is not None:
        handle.remove()
    return time.perf_counter() - t0, tokens


full_s, tokens = loop(None)
stopped_s, _ = loop(job["stop_layer"])
print(json.dumps({"full_s": full_s, "stopped_s": stopped_s, "tokens": tokens, "threads": torch.get_num_threads()}))

"""Benchmark leg (d): the reference forward pass, with no probing library around it.

Usage: python bare_loop.py JOB.json MODEL_DIR BATCH_SIZE [STOP_LAYER ...] [--count-only]

JOB.json holds {"train": [...], "test": [...]}. Batches are formed in input order, train then test,
exactly as lmprobe batches its fit and predict calls. Prints one JSON line:
  tokens / padded_tokens  real tokens (attention-mask sum) and tokens incl. padding
  full_s                  tokenize + AutoModelForCausalLM(**batch) over all batches (incl. lm_head)
  stopped_s[L]            the same loop on a truncated model: model.model with its decoder-block list
                          sliced to blocks 0..L (final norm kept, lm_head skipped)
--count-only only tokenizes (used when the bare leg is skipped but tokens/s is still wanted).
"""

import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

args = [a for a in sys.argv[1:] if not a.startswith("--")]
count_only = "--count-only" in sys.argv
job_path, model_dir, bs = args[0], args[1], int(args[2])
stop_layers = [int(x) for x in args[3:]]
with open(job_path) as f:
    job = json.load(f)

t_load = time.perf_counter()
tok = AutoTokenizer.from_pretrained(model_dir)
if tok.pad_token is None:  # as lmprobe and the worker do
    tok.pad_token = tok.eos_token
# Tokenize once up front only for counting; the timed loops tokenize per batch, like the systems.
batches = [prompts[s : s + bs] for prompts in (job["train"], job["test"]) for s in range(0, len(prompts), bs)]
tokens = padded = 0
for b in batches:
    enc = tok(b, return_tensors="pt", padding=True)
    tokens += int(enc["attention_mask"].sum())
    padded += int(enc["attention_mask"].numel())
out = {"tokens": tokens, "padded_tokens": padded, "prompts": sum(len(b) for b in batches)}
if count_only:
    print(json.dumps(out))
    sys.exit(0)

model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
out["model_load_s"] = time.perf_counter() - t_load
blocks = model.model.layers


def loop(call) -> float:
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in batches:
            enc = tok(b, return_tensors="pt", padding=True)
            # use_cache=False: neither lmprobe nor the worker builds a KV cache, so neither does the reference.
            call(**enc, use_cache=False)
    return time.perf_counter() - t0


# One untimed batch so the first timed loop does not pay one-off allocator/kernel warm-up alone.
with torch.inference_mode():
    model(**tok(batches[0], return_tensors="pt", padding=True), use_cache=False)

out["full_s"] = loop(model)
out["stopped_s"] = {}
for stop in sorted(set(stop_layers)):
    # Truncation by slicing rather than a raising hook: no exception unwinding, no hook dispatch,
    # so this is the cheapest "stop after block L" forward transformers can do.
    model.model.layers = torch.nn.ModuleList(list(blocks)[: stop + 1])
    try:
        out["stopped_s"][str(stop)] = loop(model.model)
    finally:
        model.model.layers = blocks
out["threads"] = torch.get_num_threads()
out["truncation"] = "model.model with layers[:L+1] (final norm kept, lm_head skipped)"
print(json.dumps(out))

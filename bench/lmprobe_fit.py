"""Benchmark leg (a): Python lmprobe 0.10.3 fit + predict, cold cache, one JSON job on stdin."""

import json
import os
import resource
import sys
import tempfile
import time

t_start = time.perf_counter()
os.environ["LMPROBE_CACHE_DIR"] = tempfile.mkdtemp(prefix="lmprobe-bench-cache-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from lmprobe import Probe  # noqa: E402

t_import = time.perf_counter()
job = json.load(sys.stdin)
probe = Probe(model=job["model"], layers=job["layers"], pooling=job["pooling"], device="cpu",
              random_state=0, batch_size=job["batch_size"])
probe.fit(job["train_prompts"], job["train_labels"])
t_fit = time.perf_counter()
probe.predict(job["test_prompts"])
t_end = time.perf_counter()
print(json.dumps({
    "import_s": t_import - t_start,
    "fit_s": t_fit - t_import,
    "predict_s": t_end - t_fit,
    "total_s": t_end - t_start,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))

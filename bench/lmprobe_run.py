"""Benchmark leg (a): Python lmprobe==0.10.3, fit then predict, with a cold activation cache.

Usage: python lmprobe_run.py JOB.json MODEL_DIR LAYERS POOLING BATCH_SIZE
JOB.json holds {"train": [...], "labels": [...], "test": [...]}; LAYERS is an int or a name.
Prints one JSON line (seconds; peak_rss_mb from getrusage, i.e. this process's high-water mark).
"""

import time

T_START = time.perf_counter()  # before any heavy import: total_s includes them

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

job_path, model_dir, layers, pooling, bs = sys.argv[1:6]
layers = int(layers) if layers.lstrip("-").isdigit() else layers
# Cold: a fresh cache dir, set before lmprobe is imported (it reads the variable lazily, but be safe).
cache_dir = tempfile.mkdtemp(prefix="lmprobe-bench-py-cache-")
os.environ["LMPROBE_CACHE_DIR"] = cache_dir
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import lmprobe  # noqa: E402
import lmprobe.backends as backends  # noqa: E402
from lmprobe import Probe  # noqa: E402

T_IMPORT = time.perf_counter()

# Model load happens lazily inside fit(); wrap lmprobe's loader with a timer so it can be reported
# apart from extraction. The wrapper adds one function call, nothing else.
load_s = []
_orig = backends._get_local_model


def _timed(*a, **kw):
    t0 = time.perf_counter()
    try:
        return _orig(*a, **kw)
    finally:
        load_s.append(time.perf_counter() - t0)


backends._get_local_model = _timed

with open(job_path) as f:
    job = json.load(f)
T_READ = time.perf_counter()

probe = Probe(model=model_dir, layers=layers, pooling=pooling, device="cpu", random_state=0,
              batch_size=int(bs))
probe.fit(job["train"], job["labels"])
T_FIT = time.perf_counter()
pred = probe.predict(job["test"])
T_END = time.perf_counter()

shutil.rmtree(cache_dir, ignore_errors=True)  # after timing: cleanup is not lmprobe's cost
print(json.dumps({
    "lmprobe_version": getattr(lmprobe, "__version__", "?"),
    "import_s": T_IMPORT - T_START,
    # The first load is the real one; later calls hit lmprobe's in-process model cache.
    "model_load_s": load_s[0] if load_s else None,
    "fit_s": T_FIT - T_READ,  # includes model load
    "predict_s": T_END - T_FIT,
    "total_s": T_END - T_START,
    "n_pred": len(pred),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))

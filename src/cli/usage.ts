/** Help texts of the `lmprobe` command and its subcommands (printed to stdout by `--help`). */
import { CLASSIFIERS } from "../config/probe-options.js";

/** The subcommands that have their own help. */
export type CommandName =
  "setup" | "env" | "demo" | "train" | "predict" | "exec" | "cache" | "sweep" | "export" | "worker";

const DATA_FORMAT = `Data files (--data, --positive, --negative):
  *.jsonl      one JSON object per line: {"text": "The cat sat.", "label": 1}
               "text" is the prompt (a string). "label" is a class number (0/1, or 0..K-1), or any
               number with --task regression; train --data needs it on every line, predict --data
               prints metrics when every line has one. Blank lines are skipped.
  other files  plain text, one prompt per line (no labels); blank lines are skipped.`;

/** `lmprobe --help`. */
export const MAIN_USAGE = `Usage: lmprobe <command> [options]     (lmprobe <command> --help for its options)

Commands:
  setup [--test] [--force] [--ray]
                             create or refresh the managed Python environment (--ray: the Ray extra)
  env [--json]               show paths, the interpreter in use, its package versions and torch build
  demo [--n N] [--layers L]  train a truth probe on the embedded SmolLM2-135M model
  train OUT --model M (--data F.jsonl | --positive F --negative F) [options]
                             train a probe and save it to the folder OUT
  predict PROBE (--data F | PROMPT...) [--json]
                             predictions of a saved probe (and metrics when F has labels)
  sweep --model M (--data F.jsonl | --positive F --negative F) [--out DIR] [options]
                             train one probe per layer, chart train/test accuracy and AUROC
  exec -- ARGS...            run the worker's Python interpreter with ARGS (e.g. -m pytest)
  cache info|prune|clear     inspect and bound the activation cache
  export PROBE OUT [--force] export a saved probe for inference without Python (lmprobe-ts/native)
  worker start|status|stop   a long-lived worker shared by every process of this user (no Python start per run)
  worker serve --bind tcp://HOST:PORT [--keys DIR] [--allow FILE]
                             serve a worker to other machines over TCP with CURVE keys
  worker --ray ADDRESS       worker start, sharding extractions over a Ray cluster (also for serve)

Environment: LMPROBE_HOME, LMPROBE_PYTHON, LMPROBE_PIP_CONSTRAINT, LMPROBE_TORCH_INDEX,
LMPROBE_CACHE_DIR, LMPROBE_CACHE_MAX_GB, LMPROBE_DAEMON, LMPROBE_DAEMON_DIR, HF_HOME, HF_TOKEN,
LMPROBE_WORKER_CONNECT, LMPROBE_WORKER_SERVER_KEY, LMPROBE_WORKER_SECRET_KEY (a served worker)`;

/** `lmprobe <command> --help`. */
export const HELP: Record<CommandName, string> = {
  setup: `Usage: lmprobe setup [--test] [--force] [--ray]

Create or refresh the managed Python environment (a venv under LMPROBE_HOME). Without an NVIDIA
GPU on Linux, torch comes from PyTorch's CPU index; LMPROBE_TORCH_INDEX overrides ("cpu", "cu126",
"pypi" or an index URL).

Options:
  --test        also install the test extras (pytest, the lmprobe parity oracle)
  --force       reinstall even when the environment is up to date
  --ray         also install the optional Ray extra (PythonRuntime({ ray }), README "Scale-out on Ray")
  -h, --help    show this help`,
  env: `Usage: lmprobe env [--json]

Show lmprobe's folders, the Python interpreter in use, its package versions and the torch index.

Options:
  --json        print one JSON object
  -h, --help    show this help`,
  demo: `Usage: lmprobe demo [--n N] [--layers L]

Train and evaluate a "is this statement true?" probe on the embedded SmolLM2-135M model.

Options:
  --n N         number of generated statements, a positive integer (default 500; a quarter is held out)
  --layers L    decoder block to probe, an integer 0-29 (default 16)
  -h, --help    show this help`,
  train: `Usage: lmprobe train OUT_DIR --model M (--data FILE.jsonl | --positive FILE --negative FILE) [options]

Train a probe on a model's activations and save it to the folder OUT_DIR.

Options:
  --model M           Hugging Face id, local model folder, or embedded:smollm2-135m (required)
  --data FILE         labelled prompts (JSONL with "text" and "label")
  --positive FILE     prompts of class 1, --negative FILE: prompts of class 0 (JSONL or plain text)
  --layers L          an index (-1), a list (0,2), or middle | last | all | auto | fast_auto (default middle)
  --pooling P         last_token | first_token | mean | all | max | min | score:... | activation:...
  --classifier C      ${CLASSIFIERS.join(" | ")}
                      (default logistic_regression; ridge_regression with --task regression)
  --task T            classification | regression (default classification)
  --random-state N    classifier seed, an integer
  --batch-size N      prompts per forward pass, a positive integer
  --force             replace OUT_DIR when it already holds a saved probe
  -h, --help          show this help

${DATA_FORMAT}`,
  predict: `Usage: lmprobe predict PROBE_DIR (--data FILE | PROMPT...) [--json]

Predictions of a saved probe: one line per prompt (label, class probabilities, text), then the
metrics when every line of FILE has a label.

Options:
  --data FILE   prompts to predict (JSONL with "text" and optional "label", or plain text)
  --json        print one JSON object: {"predictions": [{"text", "prediction", "proba"}], "metrics"}
  -h, --help    show this help

${DATA_FORMAT}`,
  sweep: `Usage: lmprobe sweep --model M (--data FILE.jsonl | --positive FILE --negative FILE)
                    [--test FILE.jsonl | --split F] [--layers L] [--out DIR] [options]

Train one probe per layer from a single extraction (Probe.sweepLayers), score every layer on the
training and the test set (accuracy, AUROC; binary probes also recall at 1% and 5% FPR on the
test set), and draw accuracy per layer in the terminal. With --out DIR, also write
DIR/results.json (settings, model revision and fingerprint, per-layer metrics, layer importances,
best layer, baselines) and DIR/report.html (self-contained: opens offline).
Progress bars go to stderr on a terminal; one line per phase otherwise; none with --json.

Options:
  --model M           Hugging Face id, local model folder, or embedded:smollm2-135m (required)
  --data FILE         labelled prompts (JSONL with "text" and "label" on every line)
  --positive FILE     prompts of class 1, --negative FILE: prompts of class 0 (JSONL or plain text)
  --test FILE         labelled test prompts (JSONL); without it --split holds out part of the data
  --split F           fraction of each class held out as the test set, seeded (default 0.2)
  --layers L          layers to sweep: an index, a list (0,4,8), all | middle | last, sweep:N (every
                      N-th layer) or sweep:A-B (default all)
  --pooling P         last_token | first_token | mean | all | max | min | score:... | activation:...
  --classifier C      ${CLASSIFIERS.join(" | ")}
                      (default logistic_regression)
  --seed N            seed of the split and of the classifiers, an integer >= 0 (default 0)
  --batch-size N      prompts per forward pass, a positive integer
  --out DIR           write results.json and report.html to DIR (created if missing)
  --json              print the results as one JSON object (what results.json holds); no progress
  --no-importance     skip the layer importances (one extra probe on all swept layers)
  --baselines [LIST]  also run lmprobe's baseline battery on the same train/test split and show it
                      beside the probe (table, and the best baseline as a line in the chart). LIST:
                      comma-separated names from bow, tfidf, random, majority, sentence_length,
                      shuffled_labels (text) and random_direction, pca, layer_0 (activations, read
                      at the best layer with --pooling last_token | first_token | mean), or default
                      (every one but shuffled_labels: what a bare --baselines runs) or all
  -h, --help          show this help

Data files (--data, --test, and --positive/--negative):
  *.jsonl      one JSON object per line: {"text": "The cat sat.", "label": 1}
               "text" is the prompt (a non-empty string); "label" its class number (0/1, or 0..K-1),
               required on every line of --data and --test. Blank lines are skipped; a bad line is
               an error naming the file and line number (e.g. data.jsonl:7).
  other files  (--positive/--negative only) plain text, one prompt per line.

Example: lmprobe sweep --model embedded:smollm2-135m --data truth.jsonl --split 0.25 \\
           --layers 0,6,12,18,24,29 --out sweep-report`,
  exec: `Usage: lmprobe exec -- ARGS...

Run the worker's Python interpreter (the managed venv, or LMPROBE_PYTHON) with ARGS, with the
worker's package on PYTHONPATH; exits with its exit code. Example: lmprobe exec -- -m pytest -q

Options:
  -h, --help    show this help (only before --)`,
  cache: `Usage: lmprobe cache info [--json] | prune --max-gb N | clear [--model M]   [--dir D]

Inspect and bound the activation cache (LMPROBE_CACHE_DIR, default LMPROBE_HOME/activations).

  info          entries, prompts, layers, bytes and age per model (--json: one JSON object)
  prune         evict least recently used entries down to N GB (--max-gb N, a number >= 0)
  clear         remove all entries, or those of one model (--model M)

Options:
  --dir D       use the cache in folder D
  -h, --help    show this help`,
  export: `Usage: lmprobe export PROBE_DIR OUT_DIR [--force]

Export a saved probe for inference without Python (NativeProbe from lmprobe-ts/native): the model
truncated after the probe's highest layer as ONNX (float32, dynamic batch and sequence), its
tokenizer.json and settings, and the probe, with a sha256 of every file in OUT_DIR/native.json.
Needs the Python worker (torch's ONNX exporter) once; the folder then runs with Node alone.
Not exportable: probes without a model (fitFromActivations only), remote (NDIF) probes, dtype other
than float32, classifiers kept in the worker (custom estimators without coefficients), and
inference pooling activation:max / activation:min.

Options:
  --force       replace OUT_DIR when it already holds a native export
  -h, --help    show this help`,
  worker: `Usage: lmprobe worker start [--idle-timeout 30m] [--model-memory SIZE]
                           [--ray ADDRESS [--ray-workers N] [--ray-threads N]]
       lmprobe worker status | stop   [--json]

A long-lived worker ("daemon") that every process of this user with this LMPROBE_HOME uses
instead of starting Python each run. It keeps loaded models (least recently used evicted beyond
--model-memory). Found through LMPROBE_HOME/daemon/daemon.json (or LMPROBE_DAEMON_DIR), a file
private to this user; a runtime with its own pythonPath/env, or LMPROBE_DAEMON=off, never uses it.

  start         start it in the background (one per folder; a second start reports the running one)
  status        pid, uptime, clients, requests, loaded models, memory (exit 1 when none runs)
  stop          stop it (a client's close() never does)

Options:
  --idle-timeout T    exit after T without clients: 30m (default), 90s, 2h, or 0 (never)
  --model-memory S    bytes of loaded models to keep: 8GiB, 512MB (default: half of RAM)
  --ray ADDRESS       shard extractions over the Ray cluster at ADDRESS (HOST:PORT of its head,
                      ray://HOST:PORT, or auto); default: LMPROBE_RAY_ADDRESS. \`lmprobe worker --ray
                      ADDRESS\` is the same as worker start --ray ADDRESS
  --ray-workers N     Ray actors, each loading the model once (default: LMPROBE_RAY_WORKERS, else
                      one per GPU of the cluster, else 1)
  --ray-threads N     torch threads in each actor (default: LMPROBE_RAY_TORCH_THREADS, else what Ray
                      gives it); on CPU, the local worker's count gives bit-identical activations
  --json              print one JSON object
  -h, --help          show this help

A runtime without a ray option uses a Ray-backed daemon like any other (the local path's batches
and numbers; on CPU bit for bit when --ray-threads is the local thread count); a runtime
with ray (or LMPROBE_RAY_ADDRESS) uses it only when the cluster, actors, resources and threads
match, else it starts its own worker.

Usage: lmprobe worker serve --bind tcp://HOST:PORT [--keys DIR] [--allow FILE]
                           [--ray ADDRESS [--ray-workers N] [--ray-threads N]]

Serve a worker in the foreground on TCP, authenticated and encrypted with ZeroMQ CURVE, for
PythonRuntime({ connect }) on other machines. The first serve generates a server key pair in DIR
(a 0700 folder, files 0600); later ones read it. Prints the server public key and how to connect;
never prints the secret key. Clients close their runtime without stopping the worker; it serves
until SIGINT (Ctrl-C) or SIGTERM. Models load from this machine's disk (folders, its Hugging Face
cache, embedded: models under its LMPROBE_HOME); activations travel back over the connection.

Options:
  --bind tcp://HOST:PORT  address to listen on (127.0.0.1, an interface address, or * for all;
                          port 0 picks a free port)
  --keys DIR              key folder (default LMPROBE_HOME/worker-keys)
  --allow FILE            let in only the client public keys listed in FILE (one Z85 key per line,
                          # comments); default: any client that has the server public key
  --ray ADDRESS           shard extractions over that Ray cluster's actors (default: LMPROBE_RAY_ADDRESS)
  --ray-workers N         Ray actors (default: LMPROBE_RAY_WORKERS, else one per GPU, else 1)
  --ray-threads N         torch threads in each actor (default: LMPROBE_RAY_TORCH_THREADS, else Ray's)
  -h, --help              show this help

Clients: LMPROBE_WORKER_CONNECT=tcp://HOST:PORT LMPROBE_WORKER_SERVER_KEY=KEY
(LMPROBE_WORKER_SECRET_KEY=KEY for a client listed in --allow), or the connect option.`,
};

"""Remote extraction on NDIF through nnsight's non-blocking RemoteBackend.

Modules: ``client`` (submit and poll the jobs of one request), ``settings`` (what the request
says), ``stub`` (the weightless model), ``jobs`` (the job-id file), ``preflight`` (version
check against the server), ``failures`` (classifying transport errors).

One job per 64+ prompts: an nnsight session with one trace per batch (a request from
TypeScript, a chunk, is one job; a short tail rides with the job before it). All jobs of a
request are submitted at once and polled round-robin until each completes, fails, or passes its
deadline; remote requests run on their own worker threads, so TypeScript's chunks in flight
overlap too. The model is a
weightless stub built from the local config and tokenizer (meta tensors, no weights); the server
runs the trace, pools, drops pads and down-casts before anything is saved, so only pooled
float16 vectors come back.

- Key: ``NDIF_API_KEY`` from this process's environment, handed to the backend per request;
  never written anywhere (not nnsight's ``CONFIG.set_default_api_key``, which writes a file)
  and never put in a message or log line.
- Host: the request's ``host``, else ``NDIF_HOST``, else NDIF's public host. Every other
  setting (timeout, poll interval, retries, backoff, transfer dtype, job file) comes in the
  request: TypeScript owns the defaults (REMOTE_DEFAULTS in src/protocol/remote.ts); a missing one is a
  ``BAD_REQUEST`` naming it.
- Retries: transport failures, 5xx/429 answers and job errors without a Python traceback
  (queue removals, unavailable deployments) are retried up to ``max_retries`` times per job
  with exponential backoff and jitter; a job whose trace raised (the description carries a
  traceback) is not, nor are 4xx refusals.
- Job ids: recorded in ``jobs_file`` (JSON, keyed by a hash of the job's batches) as soon as a job
  is submitted and removed once its result is in hand. A rerun of an interrupted extraction polls a
  recorded job instead of submitting it again; a record older than ``timeout_s`` gets a short look
  and is then submitted again, and a reattached job that passes its deadline has its record
  dropped (NDIF 0.1.2 can leave a finished job at QUEUED for good).
- Cancel: the worker's cancel flag stops the polling (NDIF has no cancel endpoint: the job
  finishes server-side and stays recorded, so a rerun collects it).
"""

from __future__ import annotations

"""Activation extraction: local forward hooks, nnsight traces, and remote NDIF jobs.

``local`` and ``nnsight_trace`` share ``checks`` (request and prompt checks), ``batching`` (which
prompts go in one forward pass, and putting results back in input order) and ``pooling``; the
``ndif`` subpackage builds on ``nnsight_trace``. Nothing here imports a handler.
"""

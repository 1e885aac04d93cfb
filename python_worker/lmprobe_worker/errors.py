"""The worker's failures and the one list of error codes the TypeScript side maps to its classes.

Every failure a handler raises on purpose is a ``WorkerFailure`` with a code from
``ERROR_CODES``; anything else is described by ``protocol.error_body`` as ``PYTHON_EXCEPTION``
(or ``PYTHON_OOM`` / ``MODEL_NOT_FOUND`` when the exception says so). The contract test
(``python -m lmprobe_worker.contract``) hands this list to TypeScript, so adding a code here
without mapping it there fails a test instead of reaching users as a generic error.
"""

from __future__ import annotations

from typing import Any

ERROR_CODES: frozenset[str] = frozenset(
    {
        "BAD_REQUEST",  # a malformed request: the TypeScript side sent something it should not have
        "INVALID_INPUT",  # the caller's data is unusable (details: argument, index)
        "BAD_ACTIVATIONS",  # activations with NaN or infinite values
        "MODEL_NOT_FOUND",
        "UNSUPPORTED_MODEL",  # no decoder blocks where we know to look
        "NOT_FITTED",  # a custom estimator this worker no longer holds
        "CANCELLED",
        "PYTHON_OOM",
        "PYTHON_EXCEPTION",  # anything not raised on purpose
        "REMOTE",  # NDIF transport failure (after retries)
        "REMOTE_AUTH",
        "REMOTE_REJECTED",  # NDIF refused the request (4xx)
        "REMOTE_JOB",  # the NDIF job ended in ERROR
        "REMOTE_TIMEOUT",
        "RAY_CLUSTER",  # the Ray cluster is unreachable or lost, or a shard's actors kept dying
    }
)


class WorkerFailure(Exception):
    """An error with a stable code that the TypeScript side maps to a specific error class.

    ``details`` is a small JSON-able map sent beside the message (e.g. the argument and index of
    a bad prompt); the TypeScript error carries it, so programs never parse the message.
    """

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        if code not in ERROR_CODES:
            # A typo here would reach TypeScript as an unknown code; fail loudly in tests instead.
            raise ValueError(f"unknown worker error code {code!r}; add it to errors.ERROR_CODES")
        super().__init__(message)
        self.code = code
        self.details = {k: v for k, v in (details or {}).items() if v is not None}


class Cancelled(WorkerFailure):
    """The caller cancelled the request (``cancel`` control message)."""

    def __init__(self) -> None:
        super().__init__("CANCELLED", "the request was cancelled")


class RemoteFailure(WorkerFailure):
    """A remote failure with structured details for the TypeScript error (job id, status...)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(code, message, details)


def invalid_prompt(index: int, message: str) -> WorkerFailure:
    """``INVALID_INPUT`` for one prompt of a request, with the details TypeScript maps."""
    return WorkerFailure("INVALID_INPUT", message, {"argument": "prompts", "index": index})

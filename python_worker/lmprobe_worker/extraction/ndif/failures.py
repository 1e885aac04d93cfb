"""Which failures of nnsight's RemoteBackend (or httpx under it) are retried, and with which code."""

from __future__ import annotations


def classify(exc: BaseException) -> tuple[str, bool, int | None]:
    """(code, retryable, http status) of a failure raised by nnsight's RemoteBackend or httpx."""
    import httpx

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, httpx.HTTPError):
        cause = cause.__cause__
    if isinstance(cause, httpx.HTTPStatusError):
        status = cause.response.status_code
        if status in (401, 403):
            return "REMOTE_AUTH", False, status
        if status == 429 or status >= 500:
            return "REMOTE", True, status
        return "REMOTE_REJECTED", False, status
    if isinstance(cause, httpx.HTTPError):
        return "REMOTE", True, None
    return "REMOTE", False, None

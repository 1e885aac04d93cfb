"""The job ids of submitted, not yet collected batches (a rerun collects them instead of resubmitting)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any


def batch_key(
    model_key: str, layers: list[int], pooling: str, transfer: str, batch_sizes: list[int], prompts: list[str]
) -> str:
    """The record key of one job (a session of batches): everything that decides its result.

    The batch sizes are part of it: a job of other batches saves other lists."""
    fields = ["session", model_key, layers, pooling, transfer, batch_sizes, prompts]
    h = hashlib.sha256(json.dumps(fields).encode("utf8"))
    return h.hexdigest()[:32]


class JobBook:
    """The job ids of submitted, not yet collected batches, in a small JSON file."""

    _lock = threading.Lock()

    def __init__(self, path: str | None) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        if not self.path:
            return {}
        try:
            with open(self.path, encoding="utf8") as f:
                data = json.load(f)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write(self, data: dict[str, Any]) -> None:
        if not self.path:
            return
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, self.path)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._read().get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        with self._lock:
            data = self._read()
            data[key] = record
            self._write(data)

    def drop(self, key: str) -> None:
        with self._lock:
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)

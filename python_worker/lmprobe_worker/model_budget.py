"""The memory budget of the loaded-model cache (``models.py``), kept apart because it imports no torch.

A long-lived worker (``daemon.py``) serves many clients and models over hours: without a bound
its loaded models would only grow. The budget counts the bytes of each model's parameters and
buffers; loading a model evicts the least recently used ones until the new one fits (a model
larger than the whole budget is still loaded, alone).
"""

from __future__ import annotations

import os

_budget: int | None = None


def default_budget() -> int:
    """Half the machine's physical memory (8 GiB where the platform does not tell)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def set_budget(nbytes: int | None) -> None:
    """Set the budget in bytes (``--model-memory``); None restores the default."""
    global _budget
    if nbytes is not None and nbytes <= 0:
        raise ValueError(f"the model memory budget must be a positive number of bytes, got {nbytes}")
    _budget = nbytes


def budget() -> int:
    """The budget in bytes now in force."""
    return _budget if _budget is not None else default_budget()

"""``python -m lmprobe_worker.contract`` tells TypeScript what the worker speaks; it must be the truth.

The TypeScript contract test compares this output with its own lists (RPC map, error codes,
classifier names); here we check the output against the worker's registries themselves, that it
stays cheap (no torch), and that every failure raised in the worker's code uses a listed code.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lmprobe_worker.errors import ERROR_CODES, WorkerFailure
from lmprobe_worker.fitting.classifiers import BUILTIN
from lmprobe_worker.fitting.param_policy import SAFE_MODULES
from lmprobe_worker.handlers import HANDLERS
from lmprobe_worker.protocol import PROTOCOL_VERSION

PACKAGE = Path(__file__).resolve().parents[1] / "lmprobe_worker"


def _run(worker_env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, *args], env=worker_env, capture_output=True, text=True, check=True)
    return done.stdout


def test_the_contract_lists_the_registries(worker_env) -> None:
    lines = _run(worker_env, "-m", "lmprobe_worker.contract").strip().splitlines()
    assert len(lines) == 1  # one JSON line, nothing else on stdout
    contract = json.loads(lines[0])
    assert contract == {
        "protocol": PROTOCOL_VERSION,
        "rpcs": sorted(HANDLERS),
        "error_codes": sorted(ERROR_CODES),
        "classifiers": sorted(BUILTIN),
        "estimator_modules": sorted(SAFE_MODULES),
    }
    assert {"hello", "extract", "fit", "score", "embedded_prepare"} <= set(contract["rpcs"])
    assert "__preload__" not in contract["rpcs"]


def test_the_contract_imports_no_heavy_library(worker_env) -> None:
    heavy = ["torch", "transformers", "sklearn", "zmq"]
    code = f"import json, sys, lmprobe_worker.contract; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    assert json.loads(_run(worker_env, "-c", code)) == []


def _raised_codes() -> set[tuple[str, str]]:
    """(file, code) for every literal code passed to a failure constructor in the worker's source."""
    pattern = re.compile(r"(?:WorkerFailure|RemoteFailure|fail|retry_or_fail)\(\s*(?:b,\s*)?\"([A-Z_]+)\"")
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for code in pattern.findall(path.read_text(encoding="utf8")):
            found.add((str(path.relative_to(PACKAGE)), code))
    return found


def test_every_code_the_worker_raises_is_listed() -> None:
    raised = _raised_codes()
    assert len(raised) > 20  # the scan finds the raises (it would pass vacuously otherwise)
    assert {code for _, code in raised} - ERROR_CODES == set()
    # The codes error_body picks for exceptions not raised on purpose are listed too.
    assert {"PYTHON_EXCEPTION", "PYTHON_OOM", "MODEL_NOT_FOUND"} <= ERROR_CODES


def test_a_code_outside_the_list_is_refused_at_the_raise() -> None:
    with pytest.raises(ValueError, match="unknown worker error code 'BAD_REQEST'"):
        WorkerFailure("BAD_REQEST", "typo")

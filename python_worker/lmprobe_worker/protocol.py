"""Wire format shared with the TypeScript client (src/protocol/).

A message is a ZeroMQ multipart ``[header, body, *tensor_frames]``: header and body are msgpack
maps; every numpy array in the body travels as its own raw frame and is replaced in the body by a
``{"__frame__": i, "dtype": ..., "shape": [...]}`` placeholder. Raw frames (not msgpack ``bin``)
keep arrays aligned, so both sides can view them without copying.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import msgpack
import numpy as np

from .errors import WorkerFailure

PROTOCOL_VERSION = 1

FRAME_KEY = "__frame__"
_DTYPES = {"float32", "float64", "float16", "int32", "int64", "uint8", "uint16"}


def _lift_arrays(value: Any, frames: list[memoryview]) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.name not in _DTYPES:
            raise TypeError(f"cannot send arrays of dtype {value.dtype}")
        arr = np.ascontiguousarray(value)
        if arr.dtype.byteorder == ">":
            arr = arr.byteswap().view(arr.dtype.newbyteorder("<"))
        frames.append(memoryview(arr).cast("B"))
        return {FRAME_KEY: len(frames) - 1, "dtype": arr.dtype.name, "shape": list(arr.shape)}
    if isinstance(value, dict):
        return {k: _lift_arrays(v, frames) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lift_arrays(v, frames) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sink_arrays(value: Any, frames: list[Any]) -> Any:
    if isinstance(value, dict):
        if FRAME_KEY in value:
            dtype = value["dtype"]
            if dtype not in _DTYPES:
                raise WorkerFailure("BAD_REQUEST", f"unsupported tensor dtype {dtype!r}")
            buf = frames[value[FRAME_KEY]]
            data = buf.buffer if hasattr(buf, "buffer") else buf
            arr = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(value["shape"])
            # A ZeroMQ frame starts wherever libzmq put it, often not on a multiple of the item
            # size. numpy does not hand unaligned arrays to BLAS (it falls back to its own loops,
            # which sum in another order), so the same activations fitted to coefficients ~1e-5
            # apart from lmprobe's (and from run to run, as the frame's address varied). An
            # aligned copy makes every fit see the arithmetic a fresh numpy array gets.
            return arr if arr.flags.aligned else arr.copy()
        return {k: _sink_arrays(v, frames) for k, v in value.items()}
    if isinstance(value, list):
        return [_sink_arrays(v, frames) for v in value]
    return value


def encode(header: dict[str, Any], body: dict[str, Any]) -> list[Any]:
    """Encode a message into frames (header, body, raw array frames)."""
    frames: list[memoryview] = []
    lifted = _lift_arrays(body, frames)
    return [msgpack.packb(header), msgpack.packb(lifted), *frames]


def decode(frames: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decode ``[header, body, *raw]`` frames.

    Arrays come back as read-only numpy views (aligned copies where a frame is not aligned).
    """
    if len(frames) < 2:
        raise WorkerFailure("BAD_REQUEST", "a message needs a header and a body frame")
    header = msgpack.unpackb(bytes(frames[0].buffer if hasattr(frames[0], "buffer") else frames[0]))
    body_raw = frames[1].buffer if hasattr(frames[1], "buffer") else frames[1]
    body = msgpack.unpackb(bytes(body_raw))
    return header, _sink_arrays(body, list(frames[2:]))


def reply_header(kind: str, parent: str | None) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "type": kind, "parent": parent, "ts": time.time()}


def error_body(exc: BaseException) -> dict[str, Any]:
    """Describe a Python exception for the TypeScript side (code, type, message, traceback, details)."""
    # Only our own failures choose a code: other exceptions may carry an unrelated ``code``.
    code = exc.code if isinstance(exc, WorkerFailure) else None
    details = exc.details if isinstance(exc, WorkerFailure) else None
    if code is None:
        if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
            code = "PYTHON_OOM"
        elif isinstance(exc, (OSError, FileNotFoundError)) and "config.json" in str(exc):
            code = "MODEL_NOT_FOUND"
        else:
            code = "PYTHON_EXCEPTION"
    return {
        "code": code,
        "ename": type(exc).__name__,
        "evalue": str(exc),
        "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__),
        # Optional structured details (INVALID_INPUT: argument and index; REMOTE*: job id, host...).
        **({"details": details} if details else {}),
    }

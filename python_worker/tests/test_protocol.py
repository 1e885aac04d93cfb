import numpy as np
import pytest

from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.protocol import decode, encode, error_body


def test_arrays_travel_as_separate_frames_and_come_back_equal() -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    frames = encode({"v": 1, "id": "a"}, {"X": x, "nested": [{"w": np.ones(2)}], "n": np.int64(3)})
    assert len(frames) == 4  # header, body, two arrays
    header, body = decode([bytes(f) for f in frames])
    assert header == {"v": 1, "id": "a"}
    np.testing.assert_array_equal(body["X"], x)
    np.testing.assert_array_equal(body["nested"][0]["w"], np.ones(2))
    assert body["n"] == 3


def test_non_contiguous_arrays_are_sent_in_logical_order() -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3).T
    _, body = decode([bytes(f) for f in encode({}, {"X": x})])
    np.testing.assert_array_equal(body["X"], x)


def test_unknown_dtype_is_a_bad_request() -> None:
    frames = encode({}, {})
    import msgpack

    bad = msgpack.packb({"X": {"__frame__": 0, "dtype": "complex64", "shape": [1]}})
    with pytest.raises(WorkerFailure) as info:
        decode([frames[0], bad, b"\0" * 8])
    assert info.value.code == "BAD_REQUEST"


def test_error_body_carries_type_message_traceback_and_code() -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        body = error_body(exc)
    assert body["ename"] == "ValueError"
    assert body["evalue"] == "boom"
    assert body["code"] == "PYTHON_EXCEPTION"
    assert "raise ValueError" in "".join(body["traceback"])
    assert error_body(WorkerFailure("BAD_REQUEST", "x"))["code"] == "BAD_REQUEST"

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


def _unaligned_frame(x: np.ndarray) -> memoryview:
    """The array's bytes starting 1 byte into a buffer, as a ZeroMQ frame may start."""
    raw = bytearray(x.nbytes + 1)
    raw[1:] = x.tobytes()
    return memoryview(raw)[1:]


def test_a_frame_that_starts_unaligned_decodes_to_an_aligned_array() -> None:
    x = np.random.default_rng(0).standard_normal((20, 64)).astype(np.float32)
    frames = encode({}, {"X": x})
    _, body = decode([frames[0], frames[1], _unaligned_frame(x)])
    assert body["X"].flags.aligned
    np.testing.assert_array_equal(body["X"], x)
    _, aligned = decode([bytes(f) for f in frames])
    assert aligned["X"].flags.aligned  # an aligned frame stays a zero-copy view
    assert not aligned["X"].flags.writeable


def test_a_fit_on_an_unaligned_frame_matches_a_fit_on_a_fresh_array() -> None:
    """numpy hands only aligned arrays to BLAS; on an unaligned one it sums in another order, and
    a float32 lbfgs fit amplified that to coefficients ~2e-5 away from lmprobe's (issue 16)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = (rng.standard_normal((20, 64)) + np.repeat([[0.3], [-0.3]], 10, axis=0)).astype(np.float32)
    y = np.repeat([1, 0], 10)
    frames = encode({}, {"X": x})
    _, body = decode([frames[0], frames[1], _unaligned_frame(x)])
    ours = LogisticRegression(max_iter=1000).fit(body["X"], y).coef_
    fresh = LogisticRegression(max_iter=1000).fit(np.array(x), y).coef_
    np.testing.assert_array_equal(ours, fresh)

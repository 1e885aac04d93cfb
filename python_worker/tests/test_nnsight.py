"""The nnsight backend and the NDIF client pieces that need no server."""

import json

import numpy as np
import pytest

from lmprobe_worker.errors import RemoteFailure, WorkerFailure
from lmprobe_worker.extraction.local import extract
from lmprobe_worker.extraction.ndif.failures import classify
from lmprobe_worker.extraction.ndif.jobs import JobBook
from lmprobe_worker.extraction.ndif.settings import RemoteSettings
from lmprobe_worker.extraction.ndif.stub import stub_model
from lmprobe_worker.extraction.nnsight_trace import extract_local as extract_nnsight
from lmprobe_worker.models import load_model
from lmprobe_worker.protocol import error_body

PROMPTS = ["The cat sat on the mat.", "A dog.", "Three plus four is seven, they said.", "Hi"]


@pytest.mark.parametrize("family", ["llama", "gpt2", "gpt_neox"])
@pytest.mark.parametrize("pooling", ["last_token", "mean", "none"])
def test_nnsight_equals_local(tiny_models, family: str, pooling: str) -> None:
    lm = load_model(tiny_models[family]["path"], "float32", "cpu")
    layers = [0, len(lm.layers) - 1]
    a, la = extract(lm, PROMPTS, layers, pooling, 3)
    b, lb = extract_nnsight(lm, PROMPTS, layers, pooling, 3)
    assert la == lb
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)


def test_the_local_backend_keeps_its_padding_side_after_nnsight_wraps_the_model(tiny_models) -> None:
    lm = load_model(tiny_models["gpt2"]["path"], "float32", "cpu")
    side = lm.tokenizer.padding_side
    extract_nnsight(lm, PROMPTS, [0], "mean", 2)
    assert lm.tokenizer.padding_side == side == "right"


def test_remote_local_simulation_ships_the_worker_code_by_value(tiny_models) -> None:
    lm = load_model(tiny_models["llama"]["path"], "float32", "cpu")
    a, _ = extract(lm, PROMPTS, [1, 2], "first_token", 2)
    b, _ = extract_nnsight(lm, PROMPTS, [1, 2], "first_token", 2, simulate_remote=True)
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "none"])
def test_a_session_of_batches_saves_what_one_trace_per_batch_saves(tiny_models, pooling: str) -> None:
    """A remote job is one nnsight session holding every batch's trace: run here in place and
    through nnsight's local simulation of NDIF (serialize, deserialize without local modules),
    it saves exactly the per-batch traces' tensors, float16 transfer included."""
    import torch

    from lmprobe_worker.extraction.nnsight_trace import (
        encode,
        register_by_value,
        trace_batch,
        trace_session,
        wrap_loaded,
    )

    nm = wrap_loaded(load_model(tiny_models["llama"]["path"], "float32", "cpu"))
    inputs = [encode(nm.tokenizer, PROMPTS[:3]), encode(nm.tokenizer, PROMPTS[3:])]
    register_by_value()
    with torch.inference_mode():
        per_batch = [trace_batch(nm, b, [1, 3], pooling, "float16") for b in inputs]
        for kwargs in ({}, {"remote": "local"}):
            outs = trace_session(nm, inputs, [1, 3], pooling, "float16", **kwargs)
            assert len(outs) == len(per_batch) == 2
            for got, want in zip(outs, per_batch, strict=True):
                assert [t.dtype for t in got] == [torch.float16, torch.float16]
                for g, w in zip(got, want, strict=True):
                    assert torch.equal(g, w)


def test_job_keys_change_with_the_batches_of_a_job() -> None:
    """A record of a job of other batches (or an old per-batch record) never matches: it saved other lists."""
    from lmprobe_worker.extraction.ndif.jobs import batch_key

    key = batch_key("m", [1], "mean", "float16", [2, 2], ["a", "b", "c", "d"])
    assert key == batch_key("m", [1], "mean", "float16", [2, 2], ["a", "b", "c", "d"])
    assert key != batch_key("m", [1], "mean", "float16", [3, 1], ["a", "b", "c", "d"])


def test_layers_must_be_ascending(tiny_models) -> None:
    lm = load_model(tiny_models["llama"]["path"], "float32", "cpu")
    with pytest.raises(WorkerFailure, match="ascending"):
        extract_nnsight(lm, PROMPTS, [2, 1], "mean", 2)


def test_stub_model_is_weightless_and_keyed_by_the_hub_id(tiny_models) -> None:
    stub = stub_model(tiny_models["gpt_neox"]["path"], "org/some-model", "main")
    assert all(p.device.type == "meta" for p in stub.model._module.parameters())
    key = stub.model.to_model_key()
    assert key.startswith("nnsight.modeling.transformers.TransformersModel:")
    assert json.loads(key.split(":", 1)[1]) == {
        "repo_id": "org/some-model",
        "revision": None,
        "task": "text-generation",
    }
    assert stub.tokenizer.padding_side == "right"  # the local backend's tokenization, not nnsight's left padding


# What TypeScript's remoteRequest (src/remote/remote-settings.ts) always sends.
REMOTE = {
    "repo_id": "org/m",
    "revision": None,
    "timeout_s": 3600.0,
    "poll_s": 2.0,
    "backoff_s": 1.0,
    "max_retries": 3,
    "jobs_file": None,
    "transfer_dtype": "float16",
}


def test_missing_key_is_a_remote_auth_failure(monkeypatch) -> None:
    monkeypatch.delenv("NDIF_API_KEY", raising=False)
    with pytest.raises(RemoteFailure) as info:
        RemoteSettings.from_body({"model": "/m", "remote": dict(REMOTE)})
    assert info.value.code == "REMOTE_AUTH"


def test_settings_take_the_host_from_ndif_host_and_never_show_the_key(monkeypatch) -> None:
    monkeypatch.setenv("NDIF_API_KEY", "super-secret")
    monkeypatch.setenv("NDIF_HOST", "http://127.0.0.1:9/")
    s = RemoteSettings.from_body({"model": "/m", "remote": dict(REMOTE, max_retries=5, transfer_dtype="bfloat16")})
    assert s.host == "http://127.0.0.1:9" and s.max_retries == 5 and s.transfer == "bfloat16"
    assert s.repo_id == "org/m" and s.timeout_s == 3600.0 and s.jobs_file is None
    assert "super-secret" not in repr(s)


@pytest.mark.parametrize("field", [k for k in REMOTE if k != "revision"])
def test_every_remote_setting_is_required_not_defaulted(monkeypatch, field: str) -> None:
    """The defaults live in TypeScript only; a request without one is refused, naming the field."""
    monkeypatch.setenv("NDIF_API_KEY", "k")
    remote = {k: v for k, v in REMOTE.items() if k != field}
    with pytest.raises(WorkerFailure) as info:
        RemoteSettings.from_body({"model": "/m", "remote": remote})
    assert info.value.code == "BAD_REQUEST"
    assert f"remote.{field} is missing" in str(info.value)
    assert info.value.details == {"field": field}


@pytest.mark.parametrize(
    ("field", "value"),
    [("timeout_s", 0), ("poll_s", "2"), ("max_retries", -1), ("max_retries", True), ("transfer_dtype", "int8")],
)
def test_remote_settings_of_the_wrong_type_are_refused(monkeypatch, field: str, value: object) -> None:
    monkeypatch.setenv("NDIF_API_KEY", "k")
    with pytest.raises(WorkerFailure, match=f"remote.{field} must be") as info:
        RemoteSettings.from_body({"model": "/m", "remote": dict(REMOTE, **{field: value})})
    assert info.value.code == "BAD_REQUEST"


def test_job_book_round_trip(tmp_path) -> None:
    book = JobBook(str(tmp_path / "sub" / "jobs.json"))
    book.put("k", {"job_id": "j1", "host": "h"})
    assert JobBook(book.path).get("k") == {"job_id": "j1", "host": "h"}
    book.drop("k")
    assert book.get("k") is None


def test_failure_classification() -> None:
    import httpx

    req = httpx.Request("POST", "http://x/request")

    def status_error(code: int) -> Exception:
        try:
            raise httpx.HTTPStatusError("x", request=req, response=httpx.Response(code, request=req))
        except httpx.HTTPStatusError as inner:
            try:
                raise RuntimeError("Failed to send request") from inner
            except RuntimeError as outer:
                return outer

    assert classify(status_error(503)) == ("REMOTE", True, 503)
    assert classify(status_error(429)) == ("REMOTE", True, 429)
    assert classify(status_error(401)) == ("REMOTE_AUTH", False, 401)
    assert classify(status_error(422)) == ("REMOTE_REJECTED", False, 422)
    assert classify(httpx.ConnectError("refused", request=req)) == ("REMOTE", True, None)
    body = error_body(RemoteFailure("REMOTE_TIMEOUT", "late", job_id="j", timeout_s=2.0, host=None))
    assert body["code"] == "REMOTE_TIMEOUT" and body["details"] == {"job_id": "j", "timeout_s": 2.0}


def test_float16_transfer_falls_back_to_bfloat16_beyond_its_range(tiny_models) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from lmprobe_worker.extraction.nnsight_trace import encode, trace_batch, wrap_loaded
    from lmprobe_worker.models import LoadedModel, decoder_layers

    path = tiny_models["gpt2"]["path"]
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    with torch.no_grad():
        model.transformer.wte.weight.mul_(1e6)  # residual stream far beyond ±65504
    tok = load_model(path, "float32", "cpu").tokenizer
    nm = wrap_loaded(LoadedModel(model, tok, decoder_layers(model), torch.device("cpu")))
    with torch.inference_mode():
        out = trace_batch(nm, encode(tok, PROMPTS[:2]), [0], "mean", "float16")
        small = trace_batch(
            wrap_loaded(load_model(path, "float32", "cpu")), encode(tok, PROMPTS[:2]), [0], "mean", "float16"
        )
    assert out[0].dtype == torch.bfloat16 and torch.isfinite(out[0].float()).all()
    assert small[0].dtype == torch.float16

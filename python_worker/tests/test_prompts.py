"""Prompts the model cannot take: refused with INVALID_INPUT naming the prompt, before any forward pass.

Before: an empty prompt failed alone with a reshape error from torch (a tokenizer without BOS
gives it no token), and inside a batch its value depended on its batch companions; a prompt
longer than the model's positions failed with ``IndexError: index out of range`` in the middle of
the forward pass.
"""

from __future__ import annotations

import pytest
from wire import call, running_worker

from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.extraction.checks import max_positions
from lmprobe_worker.extraction.local import extract
from lmprobe_worker.extraction.nnsight_trace import extract_local as extract_nnsight
from lmprobe_worker.models import load_model

GOOD = ["The cat sat on the mat.", "A dog."]
LONG = "The cat sat on the mat. " * 60  # about 7 tokens a sentence: well over the tiny models' 256
BACKENDS = {"local": extract, "nnsight": extract_nnsight}


def _refusal(run, *args, **kwargs) -> WorkerFailure:
    with pytest.raises(WorkerFailure) as info:
        run(*args, **kwargs)
    return info.value


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("family", ["gpt2", "llama"])  # no BOS (empty = zero tokens) and BOS-first
@pytest.mark.parametrize(("prompts", "index"), [([""], 0), (["The cat.", "", "A dog."], 1)])
def test_an_empty_prompt_is_invalid_input_alone_and_in_a_batch(tiny_models, backend, family, prompts, index) -> None:
    lm = load_model(tiny_models[family]["path"], "float32", "cpu")
    err = _refusal(BACKENDS[backend], lm, prompts, [0], "mean", 8)
    assert err.code == "INVALID_INPUT"
    assert err.details == {"argument": "prompts", "index": index}
    assert str(err) == f"prompt {index} is an empty string: prompts must be non-empty"


@pytest.mark.parametrize("family", ["gpt2", "llama", "gpt_neox"])
def test_the_tiny_models_say_how_many_positions_they_take(tiny_models, family) -> None:
    # gpt2 keeps it in n_positions, the others in max_position_embeddings (make_tiny_models.py).
    assert max_positions(load_model(tiny_models[family]["path"], "float32", "cpu").model.config) == 256


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("family", ["gpt2", "gpt_neox", "llama"])
@pytest.mark.parametrize("group_by_length", [False, True])
def test_a_prompt_longer_than_the_positions_names_its_tokens_and_the_limit(
    tiny_models, backend, family, group_by_length
) -> None:
    lm = load_model(tiny_models[family]["path"], "float32", "cpu")
    n_tokens = len(lm.tokenizer(LONG)["input_ids"])
    assert n_tokens > 256
    err = _refusal(BACKENDS[backend], lm, [*GOOD, LONG], [0], "last_token", 2, group_by_length=group_by_length)
    assert err.code == "INVALID_INPUT"
    assert err.details == {"argument": "prompts", "index": 2}
    assert str(err) == f"prompt 2 has {n_tokens} tokens; the model takes at most 256"


def test_a_prompt_of_exactly_the_positions_is_extracted(tiny_models) -> None:
    lm = load_model(tiny_models["gpt2"]["path"], "float32", "cpu")
    ids = lm.tokenizer(LONG)["input_ids"][:256]
    exact = lm.tokenizer.decode(ids)
    assert len(lm.tokenizer(exact)["input_ids"]) == 256
    acts, lengths = extract(lm, [exact, *GOOD], [0], "mean", 2)
    assert lengths[0] == 256 and acts.shape[0] == 3


def test_no_position_limit_in_the_config_means_no_check() -> None:
    class Config:
        hidden_size = 8

    assert max_positions(Config()) is None
    assert max_positions(None) is None


def test_the_worker_sends_invalid_input_with_its_details_over_the_wire(tiny_models, worker_env) -> None:
    model = tiny_models["gpt2"]["path"]
    request = {"model": model, "layers": [0], "pooling": "mean", "batch_size": 4, "device": "cpu"}
    with running_worker(worker_env) as (_proc, sock):
        header, body = call(sock, "extract", {**request, "prompts": ["ok", ""]})[-1]
        assert header["type"] == "error" and body["code"] == "INVALID_INPUT"
        assert body["details"] == {"argument": "prompts", "index": 1}
        # The empty prompt was refused before the model was loaded.
        assert call(sock, "loaded_models", rid="2")[-1][1]["models"] == []
        header, body = call(sock, "extract", {**request, "prompts": [LONG]}, rid="3")[-1]
        assert body["code"] == "INVALID_INPUT" and body["details"] == {"argument": "prompts", "index": 0}
        assert "tokens; the model takes at most 256" in body["evalue"]
        # The worker is still fine and extracts the next request.
        header, body = call(sock, "extract", {**request, "prompts": GOOD}, rid="4")[-1]
        assert header["type"] == "result" and body["activations"].shape == (2, 1, 32)

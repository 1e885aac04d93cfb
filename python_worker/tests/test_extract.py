import numpy as np
import pytest
import torch

from lmprobe_worker.extraction.local import extract
from lmprobe_worker.extraction.pooling import pool
from lmprobe_worker.models import load_model

PROMPTS = ["The cat sat on the mat.", "A dog.", "Three plus four is seven, they said."]


@pytest.mark.parametrize("family", ["llama", "gpt2", "gpt_neox"])
def test_layer_i_is_the_output_of_block_i_without_final_norm(tiny_models, family: str) -> None:
    lm = load_model(tiny_models[family]["path"], "float32", "cpu")
    n = len(lm.layers)
    acts, lengths = extract(lm, PROMPTS[:1], list(range(n)), "last_token", 8)
    enc = lm.tokenizer(PROMPTS[:1], return_tensors="pt")
    with torch.no_grad():
        hidden = lm.model(**enc, output_hidden_states=True).hidden_states
    assert lengths == [enc["input_ids"].shape[1]]
    for i in range(n - 1):  # hidden_states[i + 1] is block i's output...
        np.testing.assert_allclose(acts[0, i], hidden[i + 1][0, -1].numpy(), atol=1e-5)
    # ...except the last, which transformers returns after the final norm; we (and lmprobe) do not.
    assert not np.allclose(acts[0, n - 1], hidden[n][0, -1].numpy(), atol=1e-3)


def test_stopping_after_the_highest_layer_changes_nothing(tiny_models) -> None:
    lm = load_model(tiny_models["llama"]["path"], "float32", "cpu")
    low, _ = extract(lm, PROMPTS, [1], "mean", 8)
    full, _ = extract(lm, PROMPTS, [1, len(lm.layers) - 1], "mean", 8)
    np.testing.assert_array_equal(low[:, 0], full[:, 0])


def test_results_keep_input_order_across_batches(tiny_models) -> None:
    lm = load_model(tiny_models["gpt2"]["path"], "float32", "cpu")
    one_by_one = np.concatenate([extract(lm, [p], [0], "last_token", 1)[0] for p in PROMPTS])
    batched, _ = extract(lm, PROMPTS, [0], "last_token", 2)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)  # right padding: same tokens seen


def test_first_token_respects_the_mask_under_left_padding(tiny_models) -> None:
    lm = load_model(tiny_models["llama"]["path"], "float32", "cpu")
    assert lm.tokenizer.padding_side == "left"
    batched, _ = extract(lm, PROMPTS, [0], "first_token", 8)
    alone, _ = extract(lm, [PROMPTS[1]], [0], "first_token", 1)
    # The short prompt is left-padded in the batch: lmprobe would read a pad token at position 0.
    np.testing.assert_allclose(batched[1], alone[0], atol=1e-4)


def test_pooling_reductions_on_a_known_tensor() -> None:
    hidden = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)
    mask = torch.tensor([[0, 1, 1], [1, 1, 0]])
    assert pool(hidden, mask, "last_token").tolist() == [[4.0, 5.0], [8.0, 9.0]]
    assert pool(hidden, mask, "first_token").tolist() == [[2.0, 3.0], [6.0, 7.0]]
    assert pool(hidden, mask, "mean").tolist() == [[3.0, 4.0], [7.0, 8.0]]


def test_bad_layers_and_pooling_are_rejected(tiny_models) -> None:
    from lmprobe_worker.errors import WorkerFailure

    lm = load_model(tiny_models["gpt2"]["path"], "float32", "cpu")
    with pytest.raises(WorkerFailure, match="out of range"):
        extract(lm, PROMPTS, [99], "mean", 8)
    with pytest.raises(WorkerFailure, match="unknown pooling"):
        extract(lm, PROMPTS, [0], "max", 8)


def test_full_sequences_are_unpadded_and_pool_to_the_pooled_values(tiny_models) -> None:
    lm = load_model(tiny_models["llama"]["path"], "float32", "cpu")  # left padding
    full, lengths = extract(lm, PROMPTS, [0, 2], "none", 8)
    assert full.shape == (sum(lengths), 2, lm.model.config.hidden_size)
    last, _ = extract(lm, PROMPTS, [0, 2], "last_token", 8)
    first, _ = extract(lm, PROMPTS, [0, 2], "first_token", 8)
    mean, _ = extract(lm, PROMPTS, [0, 2], "mean", 8)
    ends = np.cumsum(lengths)
    for i, (start, end) in enumerate(zip(ends - lengths, ends, strict=True)):
        np.testing.assert_array_equal(full[end - 1], last[i])
        np.testing.assert_array_equal(full[start], first[i])
        np.testing.assert_allclose(full[start:end].mean(axis=0), mean[i], atol=1e-6)


@pytest.mark.parametrize("pooling", ["last_token", "none"])
def test_grouping_by_length_returns_input_order_with_the_same_values(tiny_models, pooling: str) -> None:
    lm = load_model(tiny_models["gpt2"]["path"], "float32", "cpu")  # right padding: real tokens unaffected
    prompts = PROMPTS * 3
    plain, lengths = extract(lm, prompts, [0, 1], pooling, 2)
    grouped, grouped_lengths = extract(lm, prompts, [0, 1], pooling, 2, group_by_length=True)
    assert grouped_lengths == lengths
    np.testing.assert_allclose(grouped, plain, atol=1e-5)


def test_length_groups_carry_less_padding(tiny_models) -> None:
    from lmprobe_worker.extraction.batching import batches

    lm = load_model(tiny_models["gpt2"]["path"], "float32", "cpu")
    prompts = ["a", "a much longer prompt with many words in it", "b", "another long prompt with words"]
    assert batches(lm.tokenizer, prompts, 2, False) == [[0, 1], [2, 3]]
    assert batches(lm.tokenizer, prompts, 2, True) == [[0, 2], [3, 1]]


def test_pickle_weights_are_refused_before_transformers_reads_them(tiny_models, tmp_path) -> None:
    """A model folder can be named by a probe file: a .bin checkpoint (a pickle) is never loaded."""
    import shutil

    from lmprobe_worker.errors import WorkerFailure

    src = tiny_models["gpt2"]["path"]
    folder = tmp_path / "pickled"
    shutil.copytree(src, folder)
    for f in folder.glob("*.safetensors"):
        f.unlink()
    marker = tmp_path / "unpickled"

    class Boom:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (marker.write_text, ("pwned",))

    import pickle

    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(WorkerFailure) as info:
        load_model(str(folder), "float32", "cpu")
    assert info.value.code == "UNSUPPORTED_MODEL"
    assert "safetensors only" in str(info.value)
    assert not marker.exists()

"""Chat conversations: template rendering, token ids, the role mask, and extraction through them."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.extraction.chat import encode
from lmprobe_worker.extraction.local import extract
from lmprobe_worker.models import load_model

EMBEDDED = os.path.expanduser("~/.cache/lmprobe-ts/models/smollm2-135m")

CONVERSATIONS = [
    [{"role": "user", "content": "The cat sat on the mat."}],
    [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": "Is the sky blue?"},
        {"role": "assistant", "content": "Yes, the sky is blue."},
    ],
    [  # multi-turn
        {"role": "user", "content": "3 + 4 = ?"},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": "And 2 + 2?"},
        {"role": "assistant", "content": "It is 4."},
    ],
    [  # Unicode: an emoji (outside the BMP), accents, CJK
        {"role": "user", "content": "Café ☕ or 茶? 😀"},
        {"role": "assistant", "content": "Both 👍🏽 — très bien."},
    ],
]


def _template_ids(tok, conv) -> list[int]:
    out = tok.apply_chat_template(conv, tokenize=True, add_generation_prompt=False)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


def _folders(tiny_models) -> list[str]:
    folders = [tiny_models["llama_chat"]["path"]]
    if os.path.isfile(os.path.join(EMBEDDED, "chat_template.jinja")):
        folders.append(EMBEDDED)
    return folders


def test_rendered_token_ids_equal_apply_chat_template(tiny_models) -> None:
    from transformers import AutoTokenizer

    for folder in _folders(tiny_models):
        tok = AutoTokenizer.from_pretrained(folder)
        for i, conv in enumerate(CONVERSATIONS):
            enc = encode(tok, conv, None, i)
            assert enc.ids == _template_ids(tok, conv), (folder, i)
            assert enc.text == tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=False)
            assert all(enc.keep)


def test_the_tiny_chat_template_writes_its_own_bos_once(tiny_models) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["llama_chat"]["path"])
    enc = encode(tok, CONVERSATIONS[0], None, 0)
    assert enc.ids.count(tok.bos_token_id) == 1 and enc.ids[0] == tok.bos_token_id
    # what tokenizing the rendered text with special tokens would give: a double BOS
    assert tok(enc.text)["input_ids"][:2] == [tok.bos_token_id] * 2


@pytest.mark.parametrize("roles", [["assistant"], ["user"], ["system", "user"]])
def test_the_role_mask_keeps_exactly_the_chosen_roles_content(tiny_models, roles: list[str]) -> None:
    from transformers import AutoTokenizer

    for folder in _folders(tiny_models):
        tok = AutoTokenizer.from_pretrained(folder)
        for i, conv in enumerate(CONVERSATIONS):
            expected = "".join(m["content"] for m in conv if m["role"] in roles)
            if not expected:
                with pytest.raises(WorkerFailure) as err:
                    encode(tok, conv, roles, i)
                assert err.value.code == "INVALID_INPUT" and err.value.details["index"] == i
                continue
            enc = encode(tok, conv, roles, i)
            kept = [t for t, k in zip(enc.ids, enc.keep, strict=True) if k]
            assert tok.decode(kept) == expected, (folder, i, roles)


def test_a_model_without_a_template_is_refused_naming_the_fix(tiny_models) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["llama"]["path"])
    with pytest.raises(WorkerFailure) as err:
        encode(tok, CONVERSATIONS[0], None, 3)
    assert err.value.code == "UNSUPPORTED_MODEL" and "chat template" in str(err.value)


def test_chat_extraction_equals_a_forward_pass_on_the_template_ids(tiny_models) -> None:
    lm = load_model(tiny_models["llama_chat"]["path"], "float32", "cpu")
    conv = CONVERSATIONS[1]
    ids = torch.tensor([_template_ids(lm.tokenizer, conv)])
    with torch.no_grad():
        hidden = lm.model(input_ids=ids, output_hidden_states=True).hidden_states[1][0].numpy()
    rows, lengths = extract(lm, [conv], [0], "none", 4)
    assert lengths == [ids.shape[1]]
    np.testing.assert_allclose(rows[:, 0], hidden, atol=1e-5)
    # assistant tokens only: those rows, and mean/last pooling over them
    keep = np.array(encode(lm.tokenizer, conv, ["assistant"], 0).keep)
    masked, n = extract(lm, [conv], [0], "none", 4, roles=["assistant"])
    assert n == [int(keep.sum())]
    np.testing.assert_allclose(masked[:, 0], hidden[keep], atol=1e-5)
    mean, _ = extract(lm, [conv], [0], "mean", 4, roles=["assistant"])
    last, _ = extract(lm, [conv], [0], "last_token", 4, roles=["assistant"])
    np.testing.assert_allclose(mean[0, 0], hidden[keep].mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(last[0, 0], hidden[keep][-1], atol=1e-5)


def test_strings_in_a_mixed_batch_keep_their_values(tiny_models) -> None:
    lm = load_model(tiny_models["llama_chat"]["path"], "float32", "cpu")
    text = "The dog ran in the park."
    alone, _ = extract(lm, [text], [1], "mean", 1)
    mixed, _ = extract(lm, [CONVERSATIONS[2], text, CONVERSATIONS[3]], [1], "mean", 3)
    np.testing.assert_allclose(mixed[1], alone[0], atol=1e-5)  # left padding, masked: same tokens seen
    chat_alone, _ = extract(lm, [CONVERSATIONS[3]], [1], "mean", 1)
    np.testing.assert_allclose(mixed[2], chat_alone[0], atol=1e-5)

"""``tokenizer.json`` and the tokenizer settings the SDK applies, for tokenizing without transformers.

The worker tokenizes with the transformers tokenizer as loaded (models.load_model): its own
padding side, special tokens added, no truncation, pad = eos when it has no pad token. The fast
tokenizer's backend (the ``tokenizers`` library) holds the normalizer, pre-tokenizer, model and
the post-processor that adds BOS/EOS; it is written without its padding or truncation settings
(a padded call leaves them set) and then checked: the written file, loaded by ``tokenizers``
alone, must give the same ids as the worker's tokenizer on a varied sample, or the export fails
rather than ship a tokenizer that would disagree.
"""

from __future__ import annotations

from typing import Any

from ..errors import WorkerFailure

# transformers' placeholder for "no limit" (VERY_LARGE_INTEGER is 1e30).
_NO_LIMIT = 10**12
SAMPLE = [
    "The cat sat on the mat.",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\n\n  runs    of     spaces",
    "Unicode: café, naïve, Ærøskøbing, 東京, Привет, مرحبا",
    "Emoji 🙂🚀 and a family 👨‍👩‍👧 and flags 🇫🇷",
    "3 + 4 = 7; 1,000,000.50 $ 100% #hashtag @user",
    "<|bos|> <|eos|> </s> <s> special-looking text",
    "a",
]


def _limit(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and 0 < value < _NO_LIMIT else None


def write_tokenizer(tokenizer: Any, path: str) -> dict[str, Any]:
    """Writes ``tokenizer.json`` to ``path`` and returns the settings the manifest records."""
    from tokenizers import Tokenizer

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise WorkerFailure(
            "UNSUPPORTED_MODEL",
            f"the model's tokenizer ({type(tokenizer).__name__}) has no fast (tokenizers) backend, "
            "so it cannot be written as tokenizer.json for native inference",
        )
    exported = Tokenizer.from_str(backend.to_str())
    exported.no_padding()
    exported.no_truncation()
    exported.save(path)
    reread = Tokenizer.from_file(path)
    want = tokenizer(SAMPLE)["input_ids"]
    got = [e.ids for e in reread.encode_batch(SAMPLE, add_special_tokens=True)]
    bad = [i for i, (a, b) in enumerate(zip(want, got, strict=True)) if list(a) != list(b)]
    if bad:
        raise WorkerFailure(
            "UNSUPPORTED_MODEL",
            f"the model's tokenizer cannot be reproduced from its tokenizer.json (ids differ on {SAMPLE[bad[0]]!r}): "
            "transformers adds behaviour the tokenizers library does not have, so native inference would disagree",
        )
    with_special = tokenizer("a")["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    extra = len(with_special) - len(plain)
    adds_bos = extra > 0 and bos is not None and with_special[0] == bos and plain[:1] != [bos]
    adds_eos = extra > 0 and eos is not None and with_special[-1] == eos and plain[-1:] != [eos]
    return {
        "padding_side": str(tokenizer.padding_side),
        "adds_bos": bool(adds_bos),
        "adds_eos": bool(adds_eos),
        "pad_token_id": int(tokenizer.pad_token_id),
        "pad_is_eos": tokenizer.pad_token_id == eos,
        "bos_token_id": None if bos is None else int(bos),
        "eos_token_id": None if eos is None else int(eos),
        "model_max_length": _limit(getattr(tokenizer, "model_max_length", None)),
    }

"""Chat conversations: rendering with the model's own chat template, and the role token mask.

A prompt is a string or a conversation (a list of ``{"role", "content"}`` maps). A conversation
is rendered as transformers renders it for ``apply_chat_template(conv, tokenize=False,
add_generation_prompt=False)`` and the text is tokenized *without* special tokens, exactly as
``apply_chat_template(conv, tokenize=True)`` does: the template already writes any BOS it wants,
and letting the tokenizer add another would give a double BOS. Strings keep the SDK's usual
tokenization (special tokens added), so a mixed request keeps each prompt's usual ids.

The role mask (``roles``): a token is kept when its character span (the fast tokenizer's offset
mapping) overlaps the content of a message of a chosen role. Template scaffolding (role headers,
end-of-turn markers, BOS) belongs to no message and is never kept for a role; ``roles=None``
keeps every token, scaffolding included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import WorkerFailure, invalid_prompt

Prompt = str | list[dict[str, str]]


@dataclass
class Encoded:
    """One prompt, tokenized: ids, which tokens are kept (pooled), character offsets into ``text``."""

    text: str
    ids: list[int]
    keep: list[bool]
    offsets: list[tuple[int, int]]


def is_conversation(prompt: Any) -> bool:
    return isinstance(prompt, list)


def check_prompt(prompt: Any, index: int) -> Prompt:
    """A non-empty string, or a non-empty list of {role, content} string maps (BAD_REQUEST otherwise:
    TypeScript validates both before sending)."""
    if isinstance(prompt, str):
        if prompt == "":
            raise invalid_prompt(index, f"prompt {index} is an empty string: prompts must be non-empty")
        return prompt
    if not isinstance(prompt, list) or not prompt:
        raise WorkerFailure("BAD_REQUEST", f"prompt {index} must be a string or a non-empty conversation")
    for m in prompt:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise WorkerFailure("BAD_REQUEST", f"prompt {index}: every message needs string role and content")
    return prompt


def render(tokenizer: Any, conversation: list[dict[str, str]], index: int) -> str:
    """The conversation rendered by the tokenizer's chat template (no generation prompt)."""
    if not getattr(tokenizer, "chat_template", None):
        raise WorkerFailure(
            "UNSUPPORTED_MODEL",
            f"prompt {index} is a chat conversation, but this model's tokenizer has no chat template: "
            "use a chat/instruct model (one whose tokenizer_config.json or chat_template.jinja has a template), "
            "or pass the text rendered yourself as a plain string prompt",
        )
    messages = [{"role": m["role"], "content": m["content"]} for m in conversation]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    except Exception as err:  # jinja's own errors (e.g. "roles must alternate") are the caller's
        raise invalid_prompt(index, f"prompt {index}: the model's chat template refused it: {err}") from err
    return str(text)


def content_spans(text: str, conversation: list[dict[str, str]], index: int) -> list[tuple[str, int, int]]:
    """(role, start, end) of each message's content in the rendered text, found in message order.

    Templates copy content verbatim (some trim it; then the trimmed content is looked for).
    """
    spans: list[tuple[str, int, int]] = []
    cursor = 0
    for k, m in enumerate(conversation):
        content = m["content"]
        at = text.find(content, cursor) if content else cursor
        if at < 0 and content.strip():
            content = content.strip()
            at = text.find(content, cursor)
        if at < 0:
            raise invalid_prompt(
                index,
                f"prompt {index}: message {k}'s content does not appear in the rendered chat template, "
                'so its tokens cannot be told apart: use tokens: "all" with this model',
            )
        spans.append((m["role"], at, at + len(content)))
        cursor = at + len(content)
    return spans


def encode(tokenizer: Any, prompt: Prompt, roles: list[str] | None, index: int, offsets: bool = False) -> Encoded:
    """Tokenizes one prompt (see the module docstring); ``offsets`` asks for the offset mapping."""
    chat = is_conversation(prompt)
    text = render(tokenizer, prompt, index) if chat else prompt  # type: ignore[arg-type]
    need_offsets = offsets or (chat and roles is not None)
    if need_offsets and not getattr(tokenizer, "is_fast", False):
        raise WorkerFailure(
            "UNSUPPORTED_MODEL",
            "token offsets (role masks, scoreTokens) need a fast tokenizer (tokenizer.json); this model has a slow one",
        )
    enc = tokenizer(text, add_special_tokens=not chat, return_offsets_mapping=need_offsets)
    ids = list(enc["input_ids"])
    spans = [tuple(o) for o in enc["offset_mapping"]] if need_offsets else [(0, 0)] * len(ids)
    keep = [True] * len(ids)
    if chat and roles is not None:
        chosen = [(s, e) for role, s, e in content_spans(text, prompt, index) if role in roles]  # type: ignore[arg-type]
        keep = [a < b and any(a < e and b > s for s, e in chosen) for a, b in spans]
        if not any(keep):
            raise invalid_prompt(index, f"prompt {index} has no tokens in messages of roles {roles}")
    return Encoded(text, ids, keep, [(int(a), int(b)) for a, b in spans])


def encode_all(tokenizer: Any, prompts: list[Prompt], roles: list[str] | None) -> list[Encoded]:
    return [encode(tokenizer, p, roles, i) for i, p in enumerate(prompts)]


def pad_batch(tokenizer: Any, encs: list[Encoded]) -> tuple[Any, Any, Any]:
    """input_ids, attention_mask and keep mask (B, S) tensors, padded on the tokenizer's side with
    its pad id, as ``tokenizer(prompts, padding=True)`` pads."""
    import torch

    width = max(len(e.ids) for e in encs)
    left = getattr(tokenizer, "padding_side", "right") == "left"
    pad = tokenizer.pad_token_id
    ids, attn, keep = [], [], []
    for e in encs:
        n = width - len(e.ids)

        def padded(row: list[Any], fill: Any, n: int = n) -> list[Any]:
            return [fill] * n + row if left else row + [fill] * n

        ids.append(padded(e.ids, pad))
        attn.append(padded([1] * len(e.ids), 0))
        keep.append(padded([int(k) for k in e.keep], 0))
    as_tensor = lambda rows: torch.tensor(rows, dtype=torch.long)  # noqa: E731
    return as_tensor(ids), as_tensor(attn), as_tensor(keep)


_TOKENIZERS: dict[str, Any] = {}


def tokenizer_for(path: str) -> Any:
    """The tokenizer of a model folder: a loaded model's own, else loaded once (no weights)."""
    from ..models import loaded_tokenizer

    hit = loaded_tokenizer(path) or _TOKENIZERS.get(path)
    if hit is not None:
        return hit
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    _TOKENIZERS[path] = tok
    return tok

"""``tokenize``: the tokens a prompt is pooled over, with their text and character offsets.

The same tokenization as ``extract`` (chat conversations rendered by the template, role mask
applied; see extraction/chat.py), so token k here is row k of an ``extract`` with pooling
"none". Needs only the tokenizer: a model that is not loaded is not loaded for this.
"""

from __future__ import annotations

from ..context import RequestContext
from ..messages_tools import TokenizeReply, TokenizeRequest
from .extract import _check_prompts, _roles


def tokenize(body: TokenizeRequest, _ctx: RequestContext) -> TokenizeReply:
    from ..extraction.chat import encode, tokenizer_for

    prompts = _check_prompts(body["prompts"])
    roles = _roles(body)
    tok = tokenizer_for(body["model"])
    texts: list[str] = []
    tokens: list[list[str]] = []
    offsets: list[list[list[int]]] = []
    ids: list[list[int]] = []
    for i, p in enumerate(prompts):
        enc = encode(tok, p, roles, i, offsets=True)
        kept = [k for k, keep in enumerate(enc.keep) if keep]
        texts.append(enc.text)
        tokens.append([tok.decode([enc.ids[k]]) for k in kept])
        offsets.append([list(enc.offsets[k]) for k in kept])
        ids.append([enc.ids[k] for k in kept])
    return {"texts": texts, "tokens": tokens, "offsets": offsets, "ids": ids}

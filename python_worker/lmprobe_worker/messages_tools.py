"""Request and reply bodies of the tool RPCs (baselines, native export, tokenize, model resolve), as
TypedDicts; the core RPCs and the conventions they share are in messages.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:  # annotations only: importing the message types costs nothing
    import numpy as np

# -- baseline_fit / baseline_predict -------------------------------------------------------------


class BaselineFitRequest(TypedDict, total=False):
    method: str  # bow, tfidf, random, majority, sentence_length, shuffled_labels, random_direction, pca, layer_0
    base_method: str  # shuffled_labels: the feature method (default "tfidf")
    classifier: str | dict[str, Any]  # ignored for random / majority
    random_state: int | None
    max_features: int | None  # bow / tfidf (default 10000)
    ngram_range: list[int]  # bow / tfidf, [low, high] (default [1, 1])
    n_components: int  # pca (default 10)
    texts: list[str]  # text baselines
    X: np.ndarray  # activation baselines: (n, features) float32
    y: list[int]


class BaselineFitReply(TypedDict):
    handle: str
    classes: list[int]
    has_proba: bool
    n_features: int
    seconds: float


class BaselinePredictRequest(TypedDict, total=False):
    handle: str
    texts: list[str]
    X: np.ndarray


class BaselinePredictReply(TypedDict):
    predict: np.ndarray  # int64 labels from the classifier's own predict()
    proba: np.ndarray | None  # (n, classes) float64, None without predict_proba


# -- export_native -----------------------------------------------------------------------------


class _ExportNativeRequired(TypedDict):
    model: str  # a local folder (TypeScript resolves hub ids and embedded models)
    layers: list[int]  # the probe's layers; the graph runs blocks 0..max(layers)
    out_dir: str  # an existing folder the caller owns (the temporary sibling of the export target)


class ExportNativeRequest(_ExportNativeRequired, total=False):
    onnx_file: str  # default "model.onnx"
    tokenizer_file: str  # default "tokenizer.json"


class ExportNativeOutput(TypedDict):
    name: str  # "hidden_<layer>"
    layer: int


class ExportNativeTokenizer(TypedDict):
    padding_side: str
    adds_bos: bool
    adds_eos: bool
    pad_token_id: int
    pad_is_eos: bool
    bos_token_id: int | None
    eos_token_id: int | None
    model_max_length: int | None


class ExportNativeReply(TypedDict):
    onnx_file: str
    external_data: list[str]  # file names beside onnx_file
    outputs: list[ExportNativeOutput]  # ascending layers
    exporter: Literal["dynamo", "torchscript"]
    opset: int
    versions: dict[str, str]  # torch, transformers, onnx, onnxscript
    architecture: str
    num_layers: int
    hidden_size: int
    max_positions: int | None
    tokenizer_file: str
    tokenizer: ExportNativeTokenizer
    seconds: dict[str, float]  # load, total


# -- tokenize --------------------------------------------------------------------------------


class _TokenizeRequired(TypedDict):
    model: str  # a local folder
    prompts: list[str | list[dict[str, str]]]


class TokenizeRequest(_TokenizeRequired, total=False):
    roles: list[str] | None  # as ExtractRequest.roles


class TokenizeReply(TypedDict):
    texts: list[str]  # each prompt's text (a conversation: the rendered template)
    tokens: list[list[str]]  # the kept tokens, decoded one by one
    offsets: list[list[list[int]]]  # [start, end) of each kept token in its text, in code points
    ids: list[list[int]]  # the kept tokens' ids


# -- model_resolve (served workers: the server resolves model names on its own disk) -----------


class _ModelResolveRequired(TypedDict):
    model: str  # the name the user wrote: a folder on the server, a hub id, or "embedded:NAME"


class ModelResolveRequest(_ModelResolveRequired, total=False):
    revision: str


class ModelResolveReply(TypedDict):
    path: str  # the folder on the server that extract loads
    revision: str | None  # the hub commit sha, for hub models
    config: dict[str, Any]  # its config.json
    source: dict[str, Any]  # what the activation cache keys on (model-identity.ts)

"""Request and reply bodies of the core RPCs, as TypedDicts (the Python mirror of src/protocol/);
the tool RPCs (baselines, native export, tokenize, model resolve) are in messages_tools.py.

Bodies are msgpack maps with snake_case keys; numpy arrays travel as raw frames (protocol.py)
and arrive here as read-only arrays. ``total=False`` parts are keys a sender may leave out; the
handler then uses the documented default. Nothing here is checked at run time: handlers validate
what they read and raise ``BAD_REQUEST`` / ``INVALID_INPUT`` (errors.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:  # annotations only: importing the message types costs nothing
    import numpy as np

# -- shared ----------------------------------------------------------------------------------


class EmptyRequest(TypedDict):
    """The body of requests that take no arguments (``hello``, ``unload``, ``loaded_models``)."""


class ErrorBody(TypedDict, total=False):
    """An ``error`` reply (protocol.error_body): ``code`` is one of errors.ERROR_CODES."""

    code: str
    ename: str
    evalue: str
    traceback: list[str]
    details: dict[str, Any]  # INVALID_INPUT: {argument, index}; REMOTE*: {job_id, host, status, ...}


class ProgressBody(TypedDict, total=False):
    """A ``progress`` event: ``stage`` is "model", "extract", "fit", "remote", "embedded" or "export"."""

    stage: str
    phase: str  # model: "loading" / "loaded"; fit: "start" / "done"; export: "onnx"
    model: str
    done: int
    total: int
    tokens: int
    status: str  # remote: RECEIVED, QUEUED, RUNNING, COMPLETED, RETRYING, REATTACHED, PREFLIGHT, ...
    job_id: str | None
    batch: int
    batches: int
    attempt: int
    host: str
    message: str


# -- control (answered by the server's main thread, not in HANDLERS) ---------------------------


class PingReply(TypedDict):
    pong: bool
    pid: int


class CancelRequest(TypedDict):
    target: str  # id of the request to cancel


class CancelReply(TypedDict):
    cancelled: str


class ShutdownReply(TypedDict):
    bye: bool


# -- hello -------------------------------------------------------------------------------------


class HelloRequest(TypedDict, total=False):
    # Import torch to resolve ``device: "auto"`` and torch's thread count (``lmprobe env``); the
    # handshake leaves it out so that a worker that only fits never imports torch.
    resolve_device: bool


class RaySettings(TypedDict):
    address: str
    workers: int | None  # None: one actor per GPU of the cluster, else 1
    resources: dict[str, float]  # what each actor reserves; {}: the default
    threads: int | None  # torch threads per actor; None: what Ray gives it


class HelloReply(TypedDict):
    protocol: int
    pid: int
    python: str
    executable: str
    versions: dict[str, str]  # torch, transformers, sklearn, numpy, pyzmq, nnsight
    device: str  # what "auto" resolves to, or "auto" while torch is not imported (see HelloRequest)
    threads: int  # torch's intra-op threads, or 0 while torch is not imported
    capabilities: list[str]
    ray: RaySettings | None  # the cluster extractions are sharded over (LMPROBE_RAY_*), None: local


# -- extract -----------------------------------------------------------------------------------


class _RemoteRequired(TypedDict):
    # Every default lives in TypeScript (REMOTE_DEFAULTS in src/protocol/remote.ts).
    repo_id: str
    timeout_s: float
    poll_s: float
    backoff_s: float
    max_retries: int
    jobs_file: str | None
    transfer_dtype: Literal["float16", "bfloat16", "float32"]


class RemoteRequest(_RemoteRequired, total=False):
    host: str  # else NDIF_HOST, else NDIF's public host
    revision: str | None


class _ExtractRequired(TypedDict):
    model: str  # a local folder (TypeScript resolves hub ids)
    prompts: list[str | list[dict[str, str]]]  # non-empty strings or chat conversations ({role, content} maps)
    layers: list[int]
    pooling: Literal["last_token", "first_token", "mean", "none"]
    batch_size: int


class ExtractRequest(_ExtractRequired, total=False):
    backend: Literal["local", "nnsight"]  # default "local"
    dtype: Literal["float32", "float16", "bfloat16"]  # default "float32"
    device: str  # default "auto"
    group_by_length: bool  # default False
    simulate_remote: bool  # nnsight only: run through nnsight's local NDIF simulation
    remote: RemoteRequest  # nnsight only: run on NDIF
    roles: list[str] | None  # local only: pool only these roles' message-content tokens of conversations


class ExtractSeconds(TypedDict):
    load: float
    forward: float
    total: float


class RemoteSummary(TypedDict):
    job_ids: list[str]
    warnings: list[str]
    host: str


class _ExtractReplyRequired(TypedDict):
    activations: np.ndarray  # float32 (prompts, layers, hidden); pooling "none": (tokens, layers, hidden)
    lengths: np.ndarray  # int32 real tokens per prompt
    tokens: int
    seconds: ExtractSeconds


class ExtractReply(_ExtractReplyRequired, total=False):
    remote: RemoteSummary


# -- fit ---------------------------------------------------------------------------------------


class CustomEstimator(TypedDict, total=False):
    estimator: str  # "sklearn.module.Class"
    params: dict[str, Any]


class LayerSelection(TypedDict, total=False):
    mode: Literal["auto", "fast_auto"]
    alpha: float | None  # auto: group-lasso strength, default 0.01
    top_k: int | None  # fast_auto: layers kept, default half


class _FitRequired(TypedDict):
    X: np.ndarray  # (n, n_layers, hidden)
    y: np.ndarray | list[float]
    classifier: str | CustomEstimator


class FitRequest(_FitRequired, total=False):
    task: Literal["classification", "regression"]
    path: Literal["prompt", "activations"]
    random_state: int | None
    classifier_kwargs: dict[str, Any]
    sample_weight: np.ndarray | list[float] | None
    preprocessing: str | list[str] | None
    pca_components: int | None
    normalize_layers: bool | Literal["per_neuron", "per_layer"]
    mass_mean_augment: bool
    layer_selection: LayerSelection | None


class ScalerState(TypedDict, total=False):
    kind: Literal["standard", "per_neuron", "per_layer", "none"]
    mean: np.ndarray
    scale: np.ndarray


class PreprocessingStep(TypedDict, total=False):
    kind: Literal["standard", "pca"]
    mean: np.ndarray
    scale: np.ndarray  # standard
    components: np.ndarray  # pca


class ModelState(TypedDict, total=False):
    """A fitted classifier: ``linear`` (coef, intercept, link...), ``ensemble`` (members) or
    ``opaque`` (kept in the worker, scored over ``score``). See fitting/export.py."""

    kind: Literal["linear", "ensemble", "opaque"]
    classes: list[Any]
    link: str
    coef: np.ndarray
    intercept: np.ndarray
    platt_a: float
    platt_b: float
    prob_a: np.ndarray
    prob_b: np.ndarray
    members: list[ModelState]
    handle: str
    has_proba: bool
    estimator: str


class FitReply(TypedDict, total=False):
    n_layers: int
    hidden: int
    selected: list[int] | None
    importances: np.ndarray | None
    scaler: ScalerState
    preprocessing: list[PreprocessingStep]
    mass_mean_direction: np.ndarray | None
    model: ModelState
    seconds: float


# -- score -------------------------------------------------------------------------------------


class ScoreRequest(TypedDict):
    handle: str
    X: np.ndarray  # (n, features), already scaled and preprocessed


class ScoreReply(TypedDict):
    proba: np.ndarray | None
    predict: np.ndarray


# -- embedded_prepare --------------------------------------------------------------------------


class EmbeddedPrepareRequest(TypedDict):
    name: str  # e.g. "smollm2-135m"
    out_dir: str


class _EmbeddedPrepareRequired(TypedDict):
    path: str
    name: str
    num_layers: int
    hidden_size: int
    seconds: float


class EmbeddedPrepareReply(_EmbeddedPrepareRequired, total=False):
    cached: bool


# -- unload / loaded_models --------------------------------------------------------------------


class UnloadReply(TypedDict):
    unloaded: int


class LoadedModelsReply(TypedDict):
    models: list[list[str]]  # [path, dtype, device] per loaded model
    imported: list[str]  # which heavy libraries (torch, transformers, nnsight, sklearn) are imported

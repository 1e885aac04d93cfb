"""The ``export_native`` machinery on the tiny models: the truncated wrapper returns what extraction
reads, weights past the threshold go to external data that ONNX's own evaluator runs, the exported
tokenizer.json settings, and bad requests. (The full ONNX-vs-worker comparison through
onnxruntime-node is test/integration/native-export.test.ts.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lmprobe_worker.context import RequestContext
from lmprobe_worker.errors import WorkerFailure
from lmprobe_worker.export_native import onnx_export
from lmprobe_worker.export_native.tokenizer_files import write_tokenizer
from lmprobe_worker.export_native.truncated import TruncatedModel
from lmprobe_worker.extraction.local import extract
from lmprobe_worker.handlers.export_native import export_native
from lmprobe_worker.models import load_model

PROMPTS = ["The cat sat on the mat.", "A dog.", "Three plus four is seven, they said. 1 2 3"]


@pytest.mark.parametrize(("family", "layers"), [("llama", [2, 0]), ("gpt2", [1]), ("gpt_neox", [0, 2])])
def test_truncated_model_returns_extraction_hidden_states_on_padded_batches(tiny_models, family, layers) -> None:
    lm = load_model(tiny_models[family]["path"], "float32", "cpu")
    n_blocks = len(lm.layers)
    wrapper = TruncatedModel(lm.model, layers).eval()
    enc = lm.tokenizer(PROMPTS, return_tensors="pt", padding=True)
    with torch.no_grad():
        outs = wrapper(enc["input_ids"], enc["attention_mask"])
    want, _ = extract(lm, PROMPTS, sorted(layers), "none", 8)
    mask = enc["attention_mask"].bool()
    got = torch.stack([o[mask] for o in outs], dim=1).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    # The loaded model is shared by every request: the wrapper must not have cut its blocks.
    assert len(lm.layers) == n_blocks
    assert len(list(lm.model.modules())) > len(list(wrapper.modules()))


def test_weights_past_the_threshold_go_to_external_data(tiny_models, tmp_path: Path, monkeypatch) -> None:
    import onnx
    from onnx.reference import ReferenceEvaluator

    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", 0)
    lm = load_model(tiny_models["gpt2"]["path"], "float32", "cpu")
    path = tmp_path / "model.onnx"
    info = onnx_export.export_onnx(lm.model, lm.tokenizer, [1], str(path))
    assert info["external_data"] == ["model.onnx.data"]
    assert info["outputs"] == ["hidden_1"] and info["exporter"] == "dynamo" and info["opset"] >= 18
    graph = onnx.load(str(path), load_external_data=False).graph
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in graph.initializer)  # the weights left the graph
    onnx.checker.check_model(str(path))
    enc = lm.tokenizer(PROMPTS, return_tensors="np", padding=True)
    feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
    (got,) = ReferenceEvaluator(str(path)).run(None, feeds)
    want, _ = extract(lm, PROMPTS, [1], "none", 8)
    np.testing.assert_allclose(got[enc["attention_mask"].astype(bool)], want[:, 0], atol=1e-4)


def test_tokenizer_json_settings(tiny_models, tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    for family, adds_bos, side in [("llama", True, "left"), ("gpt2", False, "right")]:
        lm = load_model(tiny_models[family]["path"], "float32", "cpu")
        path = tmp_path / f"{family}.json"
        settings = write_tokenizer(lm.tokenizer, str(path))
        assert settings["adds_bos"] is adds_bos and settings["padding_side"] == side
        assert settings["pad_is_eos"] and settings["pad_token_id"] == lm.tokenizer.eos_token_id
        raw = json.loads(path.read_text())
        assert raw["padding"] is None and raw["truncation"] is None  # padding is the runtime's job
        ids = Tokenizer.from_file(str(path)).encode("The cat sat.").ids
        assert ids == lm.tokenizer("The cat sat.")["input_ids"]


def test_bad_requests_are_refused_before_export(tiny_models, tmp_path: Path) -> None:
    ctx = RequestContext("t", lambda *_: None)
    model = tiny_models["gpt2"]["path"]
    with pytest.raises(WorkerFailure, match="out of range") as err:
        export_native({"model": model, "layers": [3], "out_dir": str(tmp_path)}, ctx)
    assert err.value.code == "BAD_REQUEST"
    with pytest.raises(WorkerFailure, match="plain file name"):
        export_native({"model": model, "layers": [0], "out_dir": str(tmp_path), "onnx_file": "../x.onnx"}, ctx)
    assert list(tmp_path.iterdir()) == []

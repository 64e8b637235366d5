"""Rebuild a PyTorch checkpoint from an int8 ONNX export of the verifier (weights dequantised).

An export keeps every weight of the model: int8 values with their scales and zero points, or
float32 where a layer was left unquantised. Dequantising them gives a float model whose outputs
are the export's up to activation rounding, which can be exported again (for example with 7-bit
weights, :func:`lumen.components.onnx_export.export_int8`) when the training run's own
checkpoint was not kept. The graph's node names say which module each weight belongs to
(``/inner/bert/encoder/layer.0/attention/self/query/MatMul_quant``), as the TorchScript
exporter writes them for :func:`lumen_lab.verifier.export.export_int8`'s wrapper.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from lumen.rag.entailment import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE

_WRAPPER = "inner."  # the export wraps the classifier as ``inner``
_QUANTISED = ("_quantized", "_scale", "_zero_point")


class RecoveryError(ValueError):
    """The export holds a weight this module cannot place, or misses one the model needs."""


def recovered_state(graph: Any) -> dict[str, np.ndarray]:
    """The model's float32 weights by parameter name, read from an exported int8 graph."""
    from onnx import numpy_helper

    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}

    def dequantised(base: str) -> np.ndarray:
        values = weights[base + "_quantized"].astype(np.float32)
        zero_point = weights[base + "_zero_point"].astype(np.float32)
        return np.asarray((values - zero_point) * weights[base + "_scale"], dtype=np.float32)

    state: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        if name.startswith(_WRAPPER) and not name.endswith(_QUANTISED):
            state[name.removeprefix(_WRAPPER)] = value  # biases, layer norms
        elif name.startswith(_WRAPPER) and name.endswith("_quantized"):
            base = name.removesuffix("_quantized")
            parameter = base.removeprefix(_WRAPPER)
            if parameter.endswith(".weight_Transposed"):  # Gemm weights stored as (in, out)
                state[parameter.removesuffix("_Transposed")] = dequantised(base).T
            else:  # embedding tables, quantised for Gather
                state[parameter] = dequantised(base)
    for node in graph.node:
        if node.op_type not in ("MatMulInteger", "MatMul"):
            continue
        weight = node.input[1]
        module = node.name.removeprefix("/inner/").rsplit("/", 1)[0].replace("/", ".")
        if node.op_type == "MatMulInteger" and weight.endswith("_quantized"):
            state[module + ".weight"] = dequantised(weight.removesuffix("_quantized")).T
        elif node.op_type == "MatMul" and weight in weights:  # a layer kept in float32
            state[module + ".weight"] = weights[weight].T
    return state


def recover_checkpoint(export_dir: Path, base_model_dir: Path, out_dir: Path) -> Path:
    """Write ``out_dir`` as a training run's ``final/`` folder rebuilt from ``export_dir``.

    The folder holds the model (``save_pretrained``), the export's tokenizer and a
    ``training.json`` carrying the export's training record plus where the weights came from.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import onnx
    import torch
    from transformers import AutoModelForSequenceClassification

    state = recovered_state(onnx.load(str(export_dir / MODEL_FILE)).graph)
    model = AutoModelForSequenceClassification.from_pretrained(str(base_model_dir), num_labels=1)
    expected = set(model.state_dict())
    tensors = {
        name: torch.from_numpy(np.array(value, dtype=np.float32))  # a writable copy
        for name, value in state.items()
        if name in expected
    }
    unplaced = sorted(set(state) - expected)
    missing = sorted(
        name for name in expected - set(tensors) if not name.endswith(("position_ids",))
    )
    if unplaced or missing:
        raise RecoveryError(f"weights not placed: {unplaced[:5]}; missing: {missing[:5]}")
    model.load_state_dict(tensors, strict=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    (out_dir / TOKENIZER_FILE).write_bytes((export_dir / TOKENIZER_FILE).read_bytes())
    manifest = json.loads((export_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    training = {
        key: value
        for key, value in manifest.get("training", {}).items()
        if key not in ("data_sha256", "composition")  # export adds the current data's
    }
    training["recovered_from"] = {
        "model_sha256": manifest["files"][MODEL_FILE],
        "threshold": manifest.get("threshold"),
        "how": "weights dequantised from the int8 export (lumen lab verifier recover)",
    }
    (out_dir / "training.json").write_text(json.dumps(training, indent=1), encoding="utf-8")
    return out_dir

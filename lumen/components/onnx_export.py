"""Export a BERT-style PyTorch module to ONNX and quantise it to int8 (one recipe, three users).

The embedder, the entailment verifier and the reranker all export a module that takes
``input_ids``, ``attention_mask`` and ``token_type_ids`` (batch x sequence) through the
TorchScript exporter, then quantise its weights dynamically, per channel, with onnxruntime.
The file appears atomically: a reader never sees a half-written graph.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lumen.errors import MissingExtraError

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

#: Names the nodes of an exported graph to leave in float32.
NodeFilter = Callable[[Any], list[str]]


def export_int8(
    module: Any,
    target: Path,
    *,
    output_name: str,
    output_axes: dict[int, str],
    quantise: Sequence[str] = ("MatMul",),
    keep_float: NodeFilter | None = None,
    reduce_range: bool = False,
) -> Path:
    """Write ``module`` to ``target`` as an int8 ONNX graph.

    ``quantise``: the operator types quantised (``Gather`` adds the embedding table);
    ``keep_float``: given the float32 graph (an ``onnx.GraphProto``), the node names to leave
    unquantised; ``reduce_range``: 7-bit weights, so that CPUs without VNNI (AVX2's 8-bit
    multiply-add saturates) compute what CPUs with it do.
    """
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise MissingExtraError("torch/onnxruntime", "embedded") from exc

    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_name(target.stem + "-fp32.onnx")
    dummy = torch.ones((2, 8), dtype=torch.long)
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "seq"} for name in INPUT_NAMES}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (dummy, dummy, torch.zeros_like(dummy)),
            str(fp32),
            input_names=list(INPUT_NAMES),
            output_names=[output_name],
            dynamic_axes={**axes, output_name: output_axes},
            opset_version=OPSET,
            dynamo=False,
        )
    excluded: list[str] = []
    if keep_float is not None:
        import onnx

        excluded = keep_float(onnx.load(str(fp32)).graph)
    partial = target.with_name(target.name + ".partial")
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice meant for image models
    try:
        quantize_dynamic(
            str(fp32),
            str(partial),
            per_channel=True,
            reduce_range=reduce_range,
            op_types_to_quantize=list(quantise),
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
        )
    finally:
        root.setLevel(previous)
        fp32.unlink(missing_ok=True)
    os.replace(partial, target)
    return target

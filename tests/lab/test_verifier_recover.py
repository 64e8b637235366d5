"""Recovering a PyTorch checkpoint from the shipped int8 verifier, and exporting it again."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lumen.rag.entailment import MODEL_FILE, EntailmentModel, default_model_dir
from tests.rag.helpers import GLAUCOMA, METFORMIN

pytest.importorskip("transformers")

TRIAL = (
    "In this randomised trial of 210 adults with type 2 diabetes, metformin lowered HbA1c by "
    "1.1 percentage points over 24 weeks compared with placebo."
)
PAIRS = [
    ("HbA1c decreased with metformin.", TRIAL),
    ("HbA1c increased with metformin.", TRIAL),
    ("Glaucoma is treated with eye drops.", GLAUCOMA.chunk.text),
    ("Aspirin cures glaucoma.", GLAUCOMA.chunk.text),
    ("The starting dose is 500 mg.", METFORMIN.chunk.text),
    ("The starting dose is 5,000 mg.", METFORMIN.chunk.text),
]


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lumen.components.model_files import minilm_dir
    from lumen_lab.verifier.recover import recover_checkpoint

    out = tmp_path_factory.mktemp("recovered") / "final"
    return recover_checkpoint(default_model_dir(), minilm_dir(), out)


def test_recovered_weights_reproduce_the_shipped_model(recovered: Path) -> None:
    from lumen_lab.verifier.export import torch_logits

    shipped = EntailmentModel(default_model_dir()).logits(PAIRS)
    reference = torch_logits(recovered, PAIRS, 256)
    assert float(np.std(shipped)) > 0.5  # the pairs read differently
    # float activations against the export's int8 ones: close, and the same order
    assert float(np.max(np.abs(shipped - reference))) < 1.0
    assert np.corrcoef(shipped, reference)[0, 1] > 0.98


def test_a_recovered_model_exports_again_with_7_bit_weights(
    recovered: Path, tmp_path: Path
) -> None:
    from lumen_lab.verifier.export import export_int8, write_manifest

    out = export_int8(recovered, tmp_path).parent
    write_manifest(out, threshold=0.5, max_tokens=256, training={}, metrics={})
    again = EntailmentModel(out).logits(PAIRS)
    shipped = EntailmentModel(default_model_dir()).logits(PAIRS)
    assert np.corrcoef(again, shipped)[0, 1] > 0.98
    assert (out / MODEL_FILE).stat().st_size < 40_000_000


def test_recover_refuses_a_graph_missing_weights(tmp_path: Path) -> None:
    import onnx

    from lumen.components.model_files import minilm_dir
    from lumen_lab.verifier.recover import RecoveryError, recover_checkpoint

    export = tmp_path / "export"
    shutil.copytree(default_model_dir(), export)
    model = onnx.load(str(export / MODEL_FILE))
    dropped = [i for i in model.graph.initializer if "layer.3.output.LayerNorm" in i.name]
    for init in dropped:
        model.graph.initializer.remove(init)
    onnx.save(model, str(export / MODEL_FILE))
    with pytest.raises(RecoveryError, match="missing"):
        recover_checkpoint(export, minilm_dir(), tmp_path / "final")

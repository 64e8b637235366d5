"""Image build step: the packaged MiniLM as a folder with its tokenizer and an int8 ONNX graph.

Usage: python export_embedding.py OUT_DIR. The folder keeps the model's name, so indexes built
by either image flavour record the same embedding identity.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from lumen.components.embedding.onnx import export_int8
from lumen.components.model_files import minilm_dir

SMALL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def main(out: Path) -> None:
    """Copy the tokenizer and config, export the graph beside them."""
    source = minilm_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name in SMALL_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, out / name)
    export_int8(source, out)
    if not (out / "model-int8.onnx").is_file():
        raise SystemExit("the ONNX export failed")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""``export``: a merged Hugging Face folder to GGUF (f16), then quantised for llama.cpp.

The converter is llama.cpp's ``convert_hf_to_gguf.py`` with its bundled ``gguf-py``, taken
from the llama-cpp-python source distribution (kept in the wheel cache by
``scripts/setup.sh``); quantisation is ``llama_cpp.llama_model_quantize``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from lumen.errors import ComponentError, InputError
from lumen_lab.finetune.config import ExportOptions
from lumen_lab.finetune.deps import require

logger = logging.getLogger(__name__)

CONVERTER = "convert_hf_to_gguf.py"
_VENDOR = "vendor/llama.cpp/"
_PACKAGES = ("gguf-py/gguf/", "conversion/")  # what the converter imports beside itself
# llama.cpp's ftype numbers (llama.h: LLAMA_FTYPE_MOSTLY_*).
FTYPES = {"F16": 1, "Q8_0": 7, "Q4_K_M": 15}


def _llama_cpp_version() -> str:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return "0.3.36"


def find_sdist(options: ExportOptions) -> Path:
    """The llama-cpp-python source distribution: the option, the variable, or the wheel cache."""
    version = _llama_cpp_version()
    explicit = options.llama_cpp_sdist or os.environ.get("LUMEN_LLAMA_CPP_SDIST", "")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InputError(f"export.llama_cpp_sdist: file not found: {path}")
        return path
    cache = Path(os.environ.get("LUMEN_WHEEL_CACHE", "~/.cache/lumen-wheels")).expanduser()
    exact = cache / f"llama_cpp_python-{version}.tar.gz"
    if exact.is_file():
        return exact
    others = sorted(cache.glob("llama_cpp_python-*.tar.gz"))
    if others:
        logger.warning("using %s (llama-cpp-python %s is installed)", others[-1].name, version)
        return others[-1]
    raise InputError(
        f"llama.cpp's {CONVERTER} was not found: it ships in the llama-cpp-python source "
        f"distribution. Get it with 'pip download --no-binary :all: --no-deps "
        f"llama-cpp-python=={version} -d {cache}' (scripts/setup.sh does this), or set "
        "export.llama_cpp_sdist / LUMEN_LLAMA_CPP_SDIST to the .tar.gz"
    )


def extract_converter(sdist: Path, cache_dir: Path) -> Path:
    """Unpack the converter with its ``conversion`` and ``gguf-py`` packages once; the script."""
    target = cache_dir / sdist.name.removesuffix(".tar.gz")
    script = target / CONVERTER
    ready = target / ".complete"
    if script.is_file() and ready.is_file():
        return script
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            found = False
            for member in archive.getmembers():
                _, _, inner = member.name.partition("/")
                if not inner.startswith(_VENDOR):
                    continue
                relative = inner[len(_VENDOR) :]
                if relative != CONVERTER and not relative.startswith(_PACKAGES):
                    continue
                if not member.isfile():
                    continue
                source = archive.extractfile(member)
                if source is None:
                    continue
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(source.read())
                found = found or relative == CONVERTER
    except (OSError, tarfile.TarError) as exc:
        raise InputError(f"cannot read {sdist}: {exc}") from exc
    if not found:
        raise InputError(f"{sdist} holds no vendor/llama.cpp/{CONVERTER}")
    ready.write_text(sdist.name, encoding="utf-8")
    return script


def convert_to_f16(merged_dir: Path, out_file: Path, script: Path) -> Path:
    """Run the converter (f16 output) in a subprocess using the bundled gguf-py."""
    if not (merged_dir / "config.json").is_file():
        raise InputError(f"no merged model in {merged_dir}: run 'lumen finetune merge' first")
    out_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(script.parent / "gguf-py"), "HF_HUB_OFFLINE": "1"}
    env.pop("NO_LOCAL_GGUF", None)
    command = [
        sys.executable,
        str(script),
        str(merged_dir),
        "--outfile",
        str(out_file),
        "--outtype",
        "f16",
    ]
    logger.info("converting %s to %s", merged_dir, out_file)
    done = subprocess.run(  # noqa: S603 - our own argv: the converter and paths
        command, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not out_file.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise ComponentError(f"{CONVERTER} failed: " + " | ".join(tail))
    return out_file


def quantize(source: Path, target: Path, kind: str) -> Path:
    """Quantise a GGUF file with llama.cpp (``kind`` Q4_K_M, Q8_0 or F16)."""
    llama_cpp = require("llama_cpp")
    if kind not in FTYPES:
        raise InputError(f"export.quantization: unknown type {kind!r}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[kind]
    params.nthread = os.cpu_count() or 1
    code = llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), llama_cpp.byref(params)
    )
    if code != 0 or not target.is_file():
        raise ComponentError(f"llama.cpp could not quantise {source} to {kind} (code {code})")
    return target


def export_gguf(
    merged_dir: Path, out_dir: Path, name: str, options: ExportOptions, cache_dir: Path
) -> Path:
    """The merged model as ``<out_dir>/<name>.<quant>.gguf`` (the f16 file is kept beside)."""
    script = extract_converter(find_sdist(options), cache_dir)
    f16 = convert_to_f16(merged_dir, out_dir / f"{name}.f16.gguf", script)
    if options.quantization == "F16":
        return f16
    target = out_dir / f"{name}.{options.quantization}.gguf"
    quantize(f16, target, options.quantization)
    logger.info("wrote %s (%.0f MB)", target, target.stat().st_size / 1e6)
    return target

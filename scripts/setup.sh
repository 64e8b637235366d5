#!/usr/bin/env bash
# Sets up Lumen in ./.venv on a fresh machine: CPU torch first (a CUDA build is several GB),
# a portable llama-cpp-python wheel built once and cached, then Lumen with its extras. Every
# version comes from the lock, constraints.txt (`make lock` rewrites it).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${LUMEN_VENV:-.venv}
WHEELS=${LUMEN_WHEEL_CACHE:-$HOME/.cache/lumen-wheels}
LOCK=constraints.txt
pinned() { sed -n "s/^$1==//p" "$LOCK"; }
LLAMA_VERSION=$(pinned llama-cpp-python)
TORCH_VERSION=$(pinned torch)
EXTRAS=${LUMEN_EXTRAS:-embedded,server,service,jobs,s3,lab,finetune,dev}
if [ -z "$LLAMA_VERSION" ] || [ -z "$TORCH_VERSION" ]; then
    echo "setup: $LOCK lacks the torch or llama-cpp-python pin" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install -U pip wheel >/dev/null
export PIP_CONSTRAINT="$PWD/$LOCK"  # every install below takes the locked versions

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "setup: installing torch $TORCH_VERSION (CPU build)"
    "${PIP[@]}" install "torch==$TORCH_VERSION"
fi

mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "setup: building llama-cpp-python $LLAMA_VERSION (portable, about 3 minutes, once)"
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
        "${PIP[@]}" wheel --no-deps -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi
"${PIP[@]}" install --find-links "$WHEELS" "llama-cpp-python[server]==$LLAMA_VERSION"
# The source distribution carries llama.cpp's convert_hf_to_gguf.py (lumen finetune export).
if [ ! -f "$WHEELS/llama_cpp_python-$LLAMA_VERSION.tar.gz" ]; then
    echo "setup: keeping the llama-cpp-python $LLAMA_VERSION sdist (GGUF converter)"
    "${PIP[@]}" download --no-binary :all: --no-deps -d "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi

echo "setup: installing lumen[$EXTRAS]"
"${PIP[@]}" install --find-links "$WHEELS" -e ".[$EXTRAS]"
echo "setup: done ($("$VENV/bin/lumen" --help >/dev/null && echo 'lumen is ready'))"

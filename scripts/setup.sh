#!/usr/bin/env bash
# Creates .venv, installs insight-recall with its pinned dependencies and prepares the model. Safe to run again.
# torch is installed first, pinned, so pip takes the CPU build instead of pulling a multi-GB CUDA one.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
# The embedding model exported for ONNX Runtime and checked against PyTorch, once, so that no
# command imports PyTorch at run time (a no-op when a checked preparation is already there).
.venv/bin/insight-recall prepare-model

#!/usr/bin/env bash
# Creates .venv and installs insight-recall with its pinned dependencies. Safe to run again.
# torch is installed first, pinned, so pip takes the CPU build instead of pulling a multi-GB CUDA one.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'

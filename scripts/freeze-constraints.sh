#!/usr/bin/env bash
# Rewrites constraints.txt from the current .venv after a deliberate dependency upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Pinned versions that CI and the quick start install from (pip install -c constraints.txt)."
  echo "# Regenerate after a deliberate upgrade: scripts/freeze-constraints.sh"
  .venv/bin/pip freeze --exclude-editable | grep -v '^insight-recall' | sed -E 's/^torch==([0-9.]+)\+cpu$/torch==\1/'
} > constraints.txt

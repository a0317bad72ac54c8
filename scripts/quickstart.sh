#!/usr/bin/env bash
# The quick start's first command: set up, then run the main job on the embedded defaults.
# With INSIGHT_DISCORD_TOKEN set (environment or .env) it starts the bot; without it, it loads the
# bundled sample briefs and answers a sample search, so a new user sees it work with no token.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
token=${INSIGHT_DISCORD_TOKEN:-}
if [ -z "$token" ] && [ -f .env ]; then
  token=$(grep -E '^INSIGHT_DISCORD_TOKEN=' .env | tail -n 1 | cut -d= -f2- || true)
fi
if [ -n "$token" ]; then
  exec .venv/bin/insight-recall run
fi
exec .venv/bin/insight-recall demo

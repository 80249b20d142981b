#!/usr/bin/env bash
# Lint and format check, exactly as CI runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .

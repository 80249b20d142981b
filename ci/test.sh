#!/usr/bin/env bash
# The README's test command, verbatim. A native module that failed to build fails the twin
# tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."
export OUTRIDER_REQUIRE_NATIVE=1
pip install '.[test]' && python -m pytest

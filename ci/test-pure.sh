#!/usr/bin/env bash
# The HTTP behaviour again on the pure-Python twins (the native core switched off).
set -euo pipefail
cd "$(dirname "$0")/.."
OUTRIDER_PURE=1 python -m pytest -q -p no:cacheprovider tests/http

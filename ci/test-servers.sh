#!/usr/bin/env bash
# The HTTP tests under hypercorn, the supported server that is not the default (ci/test.sh
# ran everything under the default, uvicorn): each test agent is served by hypercorn.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTRIDER_REQUIRE_NATIVE=1 python -m pytest -q -p no:cacheprovider --server hypercorn tests/http

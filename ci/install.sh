#!/usr/bin/env bash
# Installs what the checks need on a fresh Debian machine: the Debian packages the benchmark
# smoke tests measure against (nginx, wrk), then Outrider with its test extra.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nginx wrk >/dev/null
fi
python -m pip install -q --upgrade pip
python -m pip install -q ruff

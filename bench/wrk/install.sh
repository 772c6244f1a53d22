#!/usr/bin/env bash
# Install the compiled load generator the benchmark drives HTTP load with: wrk from
# Debian's packages (apt-get; needs root). `python -m bench` runs this itself when `wrk`
# is not on PATH; run it by hand to install ahead of a run: `bench/wrk/install.sh`.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
    echo "[wrk] already installed: $(command -v wrk)"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "[wrk] no apt-get: install wrk by other means" >&2; exit 1; }
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "[wrk] not root and no sudo" >&2; exit 1; }
    SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq wrk >/dev/null
echo "[wrk] installed: $(command -v wrk)"

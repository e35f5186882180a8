#!/usr/bin/env bash
# Installs network-config-analyzer (NCA) 2.1.0 in its own virtualenv, .venv-nca at the repo
# root: it pins an older PyYAML than the kubernetes client, so it cannot share .venv.
# Idempotent and fast when already installed. Used by tests/netpol/test_differential_nca.py.
set -euo pipefail
cd "$(dirname "$0")/.."

NCA_VERSION=2.1.0
venv=.venv-nca

if [ -x "$venv/bin/nca" ] && "$venv/bin/python" -c "
import importlib.metadata, sys
sys.exit(importlib.metadata.version('network-config-analyzer') != '$NCA_VERSION')
" 2>/dev/null; then
  exit 0
fi

python=python3.11
command -v "$python" >/dev/null || python=python3
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "network-config-analyzer==$NCA_VERSION"
echo "network-config-analyzer $NCA_VERSION installé dans $venv"

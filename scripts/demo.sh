#!/usr/bin/env bash
# The main job on the sandbox: installs what it needs, starts a 3-node sandbox, grades
# every lab's starter then solution and prints the French reports, then stops the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kubelab demo "$@"

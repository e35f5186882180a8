#!/usr/bin/env bash
# Installs everything on a fresh machine, idempotently: Debian packages, the virtualenv,
# and the sandbox binaries (built once per machine from the Go module proxy, then cached).
set -euo pipefail
cd "$(dirname "$0")/.."

with_browser=0
with_nca=0
with_build=1
for arg in "$@"; do
  case "$arg" in
    --browser) with_browser=1 ;;
    --nca) with_nca=1 ;;
    --no-build) with_build=0 ;;  # scripts/test.sh times the build as a phase of its own
    *) echo "option inconnue : $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

if [ "$with_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "Paquets Debian : chromium (tests dans un vrai navigateur)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi

step "Environnement Python (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[notebooks,docs,dev]'

if [ "$with_nca" = 1 ]; then
  step "network-config-analyzer (.venv-nca, référence indépendante pour les NetworkPolicies)"
  bash scripts/setup_nca.sh
fi

if [ "$with_build" = 1 ]; then
  step "Binaires du bac à sable (compilés une fois par machine)"
  .venv/bin/kubelab sandbox build
fi
step "Installation terminée"

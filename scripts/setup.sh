#!/usr/bin/env bash
# Installs everything on a fresh machine, idempotently: Debian packages, the virtualenv,
# and the sandbox binaries (built once per machine from the Go module proxy, then cached).
set -euo pipefail
cd "$(dirname "$0")/.."

with_browser=0
with_nca=0
with_install=1
with_build=1
build_parts=",control-plane,real-node,oracles,"
for arg in "$@"; do
  case "$arg" in
    --browser) with_browser=1 ;;
    --nca) with_nca=1 ;;
    # scripts/test.sh times the build as a phase of its own: --no-build, then --only-build
    --no-build) with_build=0 ;;
    --only-build) with_install=0 ;;
    # what to build, a comma-separated subset of control-plane,real-node,oracles (all by default)
    --build=*) build_parts=",${arg#--build=}," ;;
    *) echo "option inconnue : $arg" >&2; exit 2 ;;
  esac
done
builds() { [[ "$build_parts" == *",$1,"* ]]; }

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

# Installs the Debian packages among "$@" that are not installed yet (nothing when all are).
debian_install() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ "${#missing[@]}" = 0 ] && return 0
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The real node (Linux, root): containerd, runc, the CNI plugins and the firewall tools come
# from Debian; gcc and libc6-dev compile the static pause binary.
real_node=0
if [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ]; then
  real_node=1
fi

if [ "$with_install" = 1 ]; then
  if [ "$with_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
    step "Paquets Debian : chromium (tests dans un vrai navigateur)"
    debian_install chromium
  fi

  if [ "$real_node" = 1 ]; then
    step "Paquets Debian du nœud réel : containerd, runc, plugins CNI, iptables, ipset, conntrack, gcc"
    debian_install containerd runc containernetworking-plugins iptables ipset conntrack gcc libc6-dev
  fi

  if ! command -v containerd >/dev/null || ! command -v runc >/dev/null; then
    step "Paquets Debian : containerd et runc (images locales, tests des images)"
    debian_install containerd runc
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
fi

if [ "$with_build" = 1 ] && [ "$real_node" = 1 ] && builds real-node; then
  step "Binaires du bac à sable et du nœud réel, images (compilés une fois par machine)"
  .venv/bin/kubelab sandbox build --real-node
elif [ "$with_build" = 1 ] && builds control-plane; then
  step "Binaires du bac à sable (compilés une fois par machine)"
  .venv/bin/kubelab sandbox build
fi

if [ "$with_build" = 1 ] && builds oracles; then
  step "Chargeurs de configuration de Prometheus et d'Alertmanager (lab 09, compilés une fois par machine)"
  .venv/bin/python -m kubelab.sandbox.oracles_build
fi
step "Installation terminée"

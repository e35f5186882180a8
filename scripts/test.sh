#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, builds the sandbox, runs the
# static checks, then pytest, and ends with the duration of each phase (tests: per folder).
# A failing phase fails the run (pytest stops being run after a failed phase); pytest's exit
# code 5 (no test collected) counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

timings=$(mktemp -d)
export KUBELAB_TEST_TIMINGS="$timings/tests.tsv"
phases=()

phase() {  # phase NAME COMMAND...: run it, note its duration, stop everything if it fails
  local name=$1 started=$SECONDS code
  shift
  "$@"
  code=$?
  phases+=("$name	$((SECONDS - started))	$code")
  return "$code"
}

summary() {
  printf '\n== Durées (s)\n'
  local line name seconds code
  for line in "${phases[@]}"; do
    IFS=$'\t' read -r name seconds code <<<"$line"
    printf '%-34s %6s  %s\n' "$name" "$seconds" "$([ "$code" = 0 ] && echo ok || echo "échec ($code)")"
    if [ "$name" = "tests" ] && [ -s "$KUBELAB_TEST_TIMINGS" ]; then
      while IFS=$'\t' read -r folder folder_seconds; do
        printf '  %-32s %6s\n' "$folder" "$folder_seconds"
      done <"$KUBELAB_TEST_TIMINGS"
    fi
  done
  printf '%-34s %6s\n' "total" "$SECONDS"
  rm -rf "$timings"
}
trap summary EXIT

pytest_suite() {
  .venv/bin/python -m pytest "$@"
  local code=$?
  if [ "$code" -eq 5 ]; then
    echo "Aucun test collecté : c'est un échec." >&2
    return 1
  fi
  return "$code"
}

phase "installation" bash scripts/setup.sh --browser --nca --no-build || exit 1
phase "compilation (bac à sable, nœud réel)" bash scripts/setup.sh --only-build || exit 1
phase "vérifications statiques" bash scripts/static_checks.sh || exit 1
phase "tests" pytest_suite "$@"

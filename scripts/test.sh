#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, builds the sandbox, runs the
# static checks, then pytest, and ends with the duration of each phase (tests: per stream and
# folder). A failing phase fails the run (pytest stops being run after a failed phase); pytest's
# exit code 5 (no test collected) counts as a failure.
#
# Without arguments the build phase compiles the control plane only and the tests run as two
# pytest sessions side by side, each printing its lines behind its name and first building what
# only it needs: « nœud réel » (the real node's binaries and the images; then the tests marked
# real_node or host_runtime: the machine's one real node and the containers it shares the host
# with; then the engine's tests) and « reste » (lab 09's oracles; then everything else, on
# simulated sandboxes). One session alone leaves the 2 cores half idle while it waits on its
# clusters; two keep them busy and take about the time of the longer one instead of the sum. With
# arguments, everything is built first and one session runs them.
set -uo pipefail
cd "$(dirname "$0")/.."

timings=$(mktemp -d)
export KUBELAB_TEST_TIMINGS="$timings/tests.tsv"
streams=("nœud réel" "nœud réel, puis" "reste")  # the sessions of two_streams, in the summary's order
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
  local line name seconds code stream_name stream_timings
  for line in "${phases[@]}"; do
    IFS=$'\t' read -r name seconds code <<<"$line"
    printf '%-46s %6s  %s\n' "$name" "$seconds" "$([ "$code" = 0 ] && echo ok || echo "échec ($code)")"
    if [[ "$name" == tests* ]]; then
      for stream_name in tests "${streams[@]}"; do
        stream_timings="$timings/$stream_name.tsv"
        [ -s "$stream_timings" ] || [ -s "$timings/$stream_name.build" ] || continue
        [ "$stream_name" = tests ] || printf '  %s\n' "$stream_name"
        while IFS=$'\t' read -r folder folder_seconds; do
          printf '  %-44s %6s\n' "$folder" "$folder_seconds"
        done < <(cat "$timings/$stream_name.build" "$stream_timings" 2>/dev/null)
      done
    fi
  done
  printf '%-46s %6s\n' "total" "$SECONDS"
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

stream() {  # stream NAME BUILD PYTEST-ARGS...: builds BUILD (setup.sh --build, none if empty), then one
  # pytest session, its lines behind its name, its 12 slowest tests last
  local name=$1 parts=$2 started=$SECONDS
  shift 2
  {
    if [ -n "$parts" ]; then
      bash scripts/setup.sh --only-build --build="$parts" || exit 1
      printf 'compilation (%s)\t%s\n' "$parts" "$((SECONDS - started))" >"$timings/$name.build"
    fi
    KUBELAB_TEST_TIMINGS="$timings/$name.tsv" pytest_suite --durations=12 "$@"
  } 2>&1 | sed -u "s/^/[$name] /"
  return "${PIPESTATUS[0]}"
}

two_streams() {
  # Each session first builds what only it needs, while the other one starts: the real node's
  # binaries, BusyBox and the images; the oracles of lab 09. The real node's session loads the
  # machine for the other one and is loaded by it: its deadlines (pods that must crash, pull or
  # become ready) get a factor of 1.5 unless one is set. It then runs the engine's tests, whatever
  # its first part gave, so that both sessions last about as long.
  local rest_only=(-m "not real_node and not host_runtime")
  {
    local first=0 second=0
    KUBELAB_TIMEOUT_FACTOR="${KUBELAB_TIMEOUT_FACTOR:-1.5}" \
      stream "${streams[0]}" real-node -m "real_node or host_runtime" || first=$?
    stream "${streams[1]}" "" "${rest_only[@]}" tests/engine || second=$?
    [ "$first" = 0 ] || exit "$first"
    exit "$second"
  } &
  local real=$!
  stream "${streams[2]}" oracles "${rest_only[@]}" --ignore=tests/engine &
  local rest=$!
  local real_code=0 rest_code=0
  wait "$real" || real_code=$?
  wait "$rest" || rest_code=$?
  printf '\n== Tests : nœud réel %s, reste %s\n' \
    "$([ "$real_code" = 0 ] && echo ok || echo "échec ($real_code)")" \
    "$([ "$rest_code" = 0 ] && echo ok || echo "échec ($rest_code)")"
  [ "$real_code" = 0 ] && [ "$rest_code" = 0 ]
}

phase "installation" bash scripts/setup.sh --browser --nca --no-build || exit 1
if [ "$#" -gt 0 ]; then
  phase "compilation (bac à sable, nœud réel, oracles)" bash scripts/setup.sh --only-build || exit 1
  phase "vérifications statiques" bash scripts/static_checks.sh || exit 1
  phase "tests" pytest_suite "$@"
else
  phase "compilation (plan de contrôle)" bash scripts/setup.sh --only-build --build=control-plane || exit 1
  phase "vérifications statiques" bash scripts/static_checks.sh || exit 1
  phase "tests (et ce que chaque session compile)" two_streams
fi

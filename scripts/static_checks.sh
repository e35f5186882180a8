#!/usr/bin/env bash
# The static checks, configured in pyproject.toml: ruff (lint), mypy (types of graders/kubelab),
# lint-imports (the import contracts). Every one runs; the script fails if any of them fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for check in "ruff check ." "mypy" "lint-imports --no-cache"; do
  printf '\n== %s\n' "$check"
  # shellcheck disable=SC2086  # the check's words are its command line
  .venv/bin/$check || status=1
done
exit "$status"

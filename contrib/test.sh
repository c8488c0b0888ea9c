#!/usr/bin/env bash
# Sets up (contrib/setup.sh), checks the import arrows, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./contrib/setup.sh
.venv/bin/lint-imports
set +e
.venv/bin/python -m pytest -q "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests (exit 5)"; exit 1
fi
exit "$code"

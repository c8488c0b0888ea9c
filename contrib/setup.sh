#!/usr/bin/env bash
# Installs what aifs needs on Debian/Ubuntu (FUSE 3 and the headers pyfuse3 builds against),
# then the project itself, with its test extras, into .venv beside this folder. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in fuse3 libfuse3-dev pkg-config gcc python3-dev python3-venv ripgrep; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[test]'

#!/usr/bin/env bash
# The no-change run, aifs and borg interleaved N times (default 10) on the vault and repo that
# bench/compare.py left in WORK (default /tmp/aifs-bench), plus what aifs's time is made of:
# Argon2id alone, and Python start-up with every collector loaded. Prints each series sorted.
#   bench/nochange.sh [N] [WORK]
set -euo pipefail
n="${1:-10}"; work="${2:-/tmp/aifs-bench}"
py="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python"
export AIFS_VAULT="$work/aifs-vault" AIFS_PASSPHRASE="bench passphrase" AIFS_CONFIG=/nonexistent
export BORG_PASSPHRASE="bench passphrase" BORG_REPO="$work/borg-repo" BORG_BASE_DIR="$work/borg-base"
cd "$work/home"
for i in $(seq "$n"); do
  /usr/bin/time -f "aifs %e" "$py" -m aifs collect --home "$work/home" >/dev/null
  /usr/bin/time -f "borg %e" borg create --compression zstd,3 "::nochange-$i-$$" .claude .codex >/dev/null
  /usr/bin/time -f "argon2id %e" "$py" -c "from argon2.low_level import hash_secret_raw, Type
hash_secret_raw(b'x', b'0' * 16, time_cost=3, memory_cost=65536, parallelism=2, hash_len=32, type=Type.ID)"
  /usr/bin/time -f "startup %e" "$py" -c "import aifs.cli, aifs.registry; aifs.registry.load_collectors()"
done 2>&1 | sort -k1,1 -k2,2n | awk '{a[$1] = a[$1] " " $2} END {for (k in a) print k ":" a[k]}'

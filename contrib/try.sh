#!/usr/bin/env bash
# The main job, from nothing: install aifs, back up your AI history (Claude Code, Codex) into an
# encrypted vault, and mount it read-only at ~/ai-archive. Uses the bundled samples when this
# machine has no history. Asks for a passphrase the first time (or set AIFS_PASSPHRASE).
set -euo pipefail
cd "$(dirname "$0")/.."
./contrib/setup.sh
aifs=".venv/bin/aifs"
where=()
if [ ! -d "${CLAUDE_CONFIG_DIR:-$HOME/.claude}/projects" ] && [ ! -d "${CODEX_HOME:-$HOME/.codex}/sessions" ] \
   && [ ! -d "${CODEX_HOME:-$HOME/.codex}/archived_sessions" ]; then
  echo "No Claude Code or Codex history under $HOME: using the bundled samples (contrib/samples)."
  where=(--home "$PWD/contrib/samples/home")
fi
vault="${AIFS_VAULT:-$(.venv/bin/python -c 'from aifs.config import load_config; print(load_config().vault)')}"
if [ ! -e "$vault/config" ]; then
  "$aifs" init
fi
"$aifs" collect "${where[@]}"
mnt="${AIFS_MOUNT:-$HOME/ai-archive}"
mkdir -p "$mnt"
if ! mountpoint -q "$mnt"; then
  "$aifs" mount "$mnt"
fi
"$aifs" ls
cat <<EOT

Mounted read-only at $mnt (it shows new versions as 'aifs collect' stores them):
  ls $mnt/*/*                # org / provider / conversation
  rg -l WORD $mnt            # search everything
  $aifs umount $mnt   # when done
EOT

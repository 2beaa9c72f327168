#!/usr/bin/env bash
# Installs the real ACP agent adapters the conformance matrix runs
# (tests/agents/test_conformance.py), at the versions README's agent table names, into
# $OVERMIND_AGENTS_PREFIX (default ~/.cache/overmind-agents). Idempotent: a prefix that
# already holds these versions is left alone.
set -euo pipefail
prefix="${OVERMIND_AGENTS_PREFIX:-$HOME/.cache/overmind-agents}"
packages=(
  "@agentclientprotocol/claude-agent-acp@0.101.0"
  "@agentclientprotocol/codex-acp@2.6.0"
  "@google/gemini-cli@0.61.0"
)
installed() {  # name@version → whether the prefix holds that version
  local spec="$1" name="${1%@*}" version="${1##*@}"
  [ -f "$prefix/node_modules/$name/package.json" ] &&
    node -e "process.exit(require('$prefix/node_modules/$name/package.json').version==='$version'?0:1)"
}
missing=()
for spec in "${packages[@]}"; do installed "$spec" || missing+=("$spec"); done
if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p "$prefix"
  npm install -q --no-audit --no-fund --prefix "$prefix" "${packages[@]}" >/dev/null
fi
echo "agent adapters in $prefix/node_modules/.bin: claude-agent-acp codex-acp gemini"

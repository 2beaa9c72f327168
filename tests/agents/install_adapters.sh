#!/usr/bin/env bash
# Installs the real ACP agent adapters the conformance matrix runs
# (tests/agents/test_conformance.py), at the versions README's agent table names, into
# $OVERMIND_AGENTS_PREFIX (default ~/.cache/overmind-agents), and the ACP Python SDK's
# example agents (examples/ of the agent-client-protocol sdist, the version pyproject.toml
# allows, fetched with $PYTHON -m pip) into its acp-examples/. Idempotent: what is
# already there is left alone.
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
sdk="agent-client-protocol==0.12.1"
if [ ! -f "$prefix/acp-examples/echo_agent.py" ]; then
  tmp="$(mktemp -d)"
  "${PYTHON:-python3}" -m pip download -q --no-deps --no-binary :all: -d "$tmp" "$sdk" >/dev/null
  mkdir -p "$prefix/acp-examples"
  tar -xzf "$tmp"/agent_client_protocol-*.tar.gz -C "$tmp"
  cp "$tmp"/agent_client_protocol-*/examples/{echo_agent.py,agent.py} "$prefix/acp-examples/"
  rm -rf "$tmp"
fi
echo "agent adapters in $prefix/node_modules/.bin: claude-agent-acp codex-acp gemini;"
echo "ACP SDK examples in $prefix/acp-examples: echo_agent.py agent.py"

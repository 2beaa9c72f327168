"""Agents: the ACP runtime (client side), the built-in agent, adapters, tool policy."""

"""Workspaces: git runner, worktree pool, ports, merge tiers, verification gate."""

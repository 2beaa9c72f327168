"""Orchestration: party, stories, planning, scheduling, changes and questions."""

"""Durable store: SQLite (WAL) schema, validated transitions, sequenced events."""

from .store import Store, default_db_path, exclude_from_git

__all__ = ["Store", "default_db_path", "exclude_from_git"]

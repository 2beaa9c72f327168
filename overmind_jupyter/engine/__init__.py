"""The engine of one project: its services wired once, behind the ``api`` contract
(``engine.Engine``; see that module)."""

from .engine import Engine, Lifecycle

__all__ = ["Engine", "Lifecycle"]

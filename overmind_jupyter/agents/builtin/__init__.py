"""The built-in coding agent (an ACP agent process); run ``python -m`` on this package."""

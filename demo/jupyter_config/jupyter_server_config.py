"""Jupyter server configuration of the demo's Overmind server (on ``JUPYTER_CONFIG_PATH``).

The story agent groups the prompts approved within a short window (0.3 s,
``orchestrator.objectives.STORY_WINDOW_S``). In the quickstart notebook bob's prompt and
alice's ``%%overmind prompt`` come from two cells, further apart than that, and are meant
to become one objective: the demo's server waits 3 s for companions instead.
"""

from overmind_jupyter.orchestrator import objectives

objectives.STORY_WINDOW_S = 3.0  # s; until the window is a setting of the extension

"""Jupyter server configuration of the demo's Overmind server (on ``JUPYTER_CONFIG_PATH``).

The story agent groups the prompts approved within a short window (0.3 s by default). In
the quickstart notebook bob's prompt and alice's ``%%overmind prompt`` come from two
cells, further apart than that, and are meant to become one objective: the demo's server
waits 3 s for companions instead.
"""

c = get_config()  # noqa: F821 - provided by Jupyter's config loader
c.Overmind.story_window_s = 3.0  # s

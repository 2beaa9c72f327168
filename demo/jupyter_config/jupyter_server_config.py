"""Jupyter server configuration of the demo's Overmind server (on ``JUPYTER_CONFIG_PATH``).

The story agent groups the prompts approved within a short window (0.3 s by default). In
the quickstart notebook bob's prompt and alice's ``%%overmind prompt`` come from two
cells, further apart than that, and are meant to become one objective: the demo's server
waits 3 s for companions instead.

Agents' changes wait for a reviewer by default; the demo shows the whole way to the
target branch unattended, so it opts in to landing them without review.
"""

c = get_config()  # noqa: F821 - provided by Jupyter's config loader
c.Overmind.story_window_s = 3.0  # s
c.Overmind.auto_merge = True  # the demo lands changes unattended (opt-in)

"""``make demo``: Overmind's main job end to end on a real PyPI project (see ``main.py``)."""

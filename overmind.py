"""Short name so that ``%load_ext overmind`` works; everything lives in ``overmind_jupyter``."""

from overmind_jupyter import __version__, load_ipython_extension, unload_ipython_extension

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]

"""Fakes that ship with the package, each beside the seam it stands in for."""

from .clock import FakeClock

__all__ = ["FakeClock"]

"""The report shared by the benchmark scripts: one results table, then *Details*.

``Row`` is one line of the table (Overmind's figure, the baseline's figure from the same
run, the ratio, the target and PASS / MISS / info). ``Run`` collects what a run records
besides its figures (the errors of the phases that failed, the time each phase took, the
load average) and prints the footer that closes *Details*.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

HEADER = ["#", "benchmark", "overmind", "baseline (same run)", "ratio", "target", "result"]


@dataclasses.dataclass
class Row:
    key: str
    what: str
    value: float | None
    fmt: str
    baseline: str
    base_value: float | None
    target: str
    ok: bool | None  # None: informational, no target
    peer: bool = False  # the target is relative to the baseline: without it, "n/a"

    def cells(self) -> list[str]:
        v = self.fmt.format(self.value) if self.value is not None else "error"
        b = self.fmt.format(self.base_value) if self.base_value is not None else "—"
        ratio = (f"{self.value / self.base_value:.2f}×" if self.value is not None
                 and self.base_value else "—")
        verdict = {True: "PASS", False: "MISS", None: "info"}[self.ok]
        if self.value is None and self.ok is not None:
            verdict = "ERROR"
        elif self.peer and self.ok is not None and self.base_value is None:
            verdict = "n/a"  # the peer it is compared with failed (see Details)
        return [self.key, self.what, v, f"{b} ({self.baseline})" if self.baseline else b,
                ratio, self.target, verdict]


def print_table(rows: list[Row]) -> None:
    table = [HEADER] + [r.cells() for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print(line)
    print(line)


def print_head(what: str, quick: bool, note: str, rows: list[Row]) -> None:
    """The title, the machine line (``note`` appended), the table and ``Details``."""
    print(f"\nOvermind {what} benchmarks — {time.strftime('%Y-%m-%d %H:%M:%S')}"
          f"{' (--quick)' if quick else ''}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, kernel "
          f"{os.uname().release}{note}")
    print_table(rows)
    print("\nDetails")


class Run:
    """What one run records besides its figures: errors, phase times, load average."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.took: dict[str, float] = {}
        self.started = time.monotonic()
        self.load0 = os.getloadavg()

    def _failed(self, key: str, exc: Exception) -> None:
        self.errors[key] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)

    def attempt(self, key: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, or None with the error recorded under ``key``."""
        try:
            return fn(*args)
        except Exception as exc:
            self._failed(key, exc)
            return None

    async def aattempt(self, key: str, coro: Awaitable[Any]) -> Any:
        """``await coro``, or None with the error recorded under ``key``."""
        try:
            return await coro
        except Exception as exc:
            self._failed(key, exc)
            return None

    @contextlib.contextmanager
    def phase(self, key: str) -> Iterator[None]:
        """Record how long the block took under ``key`` (in the footer's total line)."""
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.took[key] = time.monotonic() - t0

    def print_footer(self, leftover: int = 0) -> None:
        """The errors, the leftover processes cleanup killed, the total and the load."""
        for k, v in self.errors.items():
            print(f"  ERROR in {k}: {v}")
        if leftover:
            print(f"  cleanup killed {leftover} leftover process(es)")
        load0 = self.load0
        print(f"  total {time.monotonic() - self.started:.1f} s ("
              + ", ".join(f"{k}: {v:.1f} s" for k, v in self.took.items())
              + f"); load average at start {load0[0]:.2f}, at end {os.getloadavg()[0]:.2f}"
              + (" — other work on the machine skews the figures" if load0[0] > 0.5 else ""))

"""``python -m overmind_jupyter.localmodel setup|serve|status [--size 1.5b|0.5b]``.

- ``setup``: fetch, verify and build what the model needs (``install.setup``); exit 1 with
  the failed step named.
- ``serve [--port P] [--slots N]``: run llama-server in the foreground until Ctrl-C; prints
  the ``OVERMIND_MODEL`` value to use.
- ``status``: what is cached; exit 0 when ready, 1 when not.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .install import DEFAULT_SIZE, MODELS, LocalModelError, cache_dir, installed, setup
from .serve import LocalServer


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m overmind_jupyter.localmodel",
                                     description="A real local model for Overmind.")
    parser.add_argument("command", choices=("setup", "serve", "status"))
    parser.add_argument("--size", choices=sorted(MODELS), default=DEFAULT_SIZE)
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--slots", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        return {"setup": _setup, "serve": _serve, "status": _status}[args.command](args)
    except LocalModelError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


def _setup(args: argparse.Namespace) -> int:
    ready = setup(args.size, say=lambda line: print(line, flush=True))
    print(f"serve it with: python -m overmind_jupyter.localmodel serve --size {args.size}\n"
          f"or point Overmind at it: OVERMIND_MODEL=openai:{ready.spec.alias}"
          f"@http://127.0.0.1:{args.port}/v1")
    return 0


def _serve(args: argparse.Namespace) -> int:
    ready = installed(args.size)
    if ready is None:
        print(f"the {args.size} model is not set up: run `make local-model` "
              f"(python -m overmind_jupyter.localmodel setup --size {args.size})", file=sys.stderr)
        return 1
    # SIGTERM ends the server too (it runs in its own process group)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with LocalServer(ready, args.port, args.slots) as server:
        print(f"serving {ready.spec.alias} at {server.endpoint} (log {server.log})\n"
              f"OVERMIND_MODEL={server.model_id}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def _status(args: argparse.Namespace) -> int:
    ready = installed(args.size)
    if ready is None:
        print(f"{args.size}: not set up in {cache_dir()} (run `make local-model`)")
        return 1
    print(f"{args.size}: ready\n  model  {ready.model}\n  server {ready.server}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

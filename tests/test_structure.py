"""The package's structure, as DESIGN.md draws it: imports point down the layers (ui →
edge → core → base, and inside core store → workspace → supervisor → llm → agents →
orchestrator → engine), no import cycles between modules at run time (annotations may
name a type back: ``if TYPE_CHECKING``), nothing in the product imports
the test doubles, and mypy finds the engine and the REST client conform to ``api.EngineAPI``
and the edges call it with its types."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "overmind_jupyter"
# (rank, module prefixes): higher ranks may import lower ones, never the reverse
LAYERS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("errors", "model", "events", "bounds", "_version", "runtime_files",
         "config")),
    (10, ("store",)), (11, ("workspace",)), (12, ("supervisor",)), (13, ("llm", "localmodel")),
    (14, ("agents",)), (15, ("orchestrator", "party", "targets")),
    (16, ("engine",)),
    (20, ("api", "server", "client", "commands", "daemon")),
    (30, ("magics", "cli", "widgets", "portal")),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _nodes(tree: ast.AST, typing: bool) -> list[ast.AST]:
    """Every node, without the bodies of ``if TYPE_CHECKING:`` unless ``typing``."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if not typing and isinstance(node, ast.If) and \
                getattr(node.test, "id", None) == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def imported(name: str, path: Path, typing: bool = True) -> set[str]:
    """The package's modules ``name`` imports anywhere in its body (lazy imports too;
    ``typing``: those only type checkers read as well)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text()), typing):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] \
                if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found |= {f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target
                      for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m in MODULES and m != name}


def rank(name: str) -> int | None:
    """The layer of a module (None: the package root or the test doubles)."""
    first = name.split(".")[1] if "." in name else ""
    return next((r for r, prefixes in LAYERS if first in prefixes), None)


GRAPH = {name: imported(name, path) for name, path in MODULES.items()}
RUNTIME = {name: imported(name, path, typing=False) for name, path in MODULES.items()}


def test_every_module_has_a_layer():
    unplaced = [n for n in MODULES if rank(n) is None and n != "overmind_jupyter"
                and not n.startswith("overmind_jupyter.testing")]
    assert unplaced == []


def test_imports_point_down_the_layers():
    upward = [(name, target) for name, targets in GRAPH.items() for target in targets
              if rank(name) is not None and rank(target) is not None
              and rank(target) > rank(name)]
    assert upward == []


def environment_names(path: Path) -> list[str]:
    """``OVERMIND_*`` names written as string constants in code (docstrings and f-strings,
    which only mention them, are not code)."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)
            for n in ast.walk(n)}
    skip |= {id(n.body[0].value) for n in ast.walk(tree)
             if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
             and n.body and isinstance(n.body[0], ast.Expr)}
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in skip
            and isinstance(n.value, str) and n.value.startswith("OVERMIND_")]


def test_every_overmind_variable_is_named_in_config_only():
    found = {name: environment_names(path) for name, path in MODULES.items()
             if name != "overmind_jupyter.config"}
    assert {name: names for name, names in found.items() if names} == {}
    assert len(environment_names(PACKAGE / "config.py")) >= 25


EMITTERS = {"append_event", "_event_now", "EventSpec", "_event", "event_spec"}


def emitted_types(path: Path) -> list[str]:
    """Event types written as the first argument of an emitting call."""
    return [node.args[0].value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and node.args
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) in EMITTERS
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]


def test_the_product_emits_only_event_types_with_a_payload_model():
    from overmind_jupyter.events import PAYLOADS
    found = {name: emitted_types(path) for name, path in MODULES.items()
             if not name.startswith("overmind_jupyter.testing")}
    unknown = {name: [t for t in types if t not in PAYLOADS] for name, types in found.items()}
    assert {name: types for name, types in unknown.items() if types} == {}
    assert sum(map(len, found.values())) >= 40  # the scan does find the emitters


def test_the_product_never_imports_the_test_doubles():
    leaks = [(n, t) for n, ts in GRAPH.items() for t in ts
             if t.startswith("overmind_jupyter.testing") and
             not n.startswith("overmind_jupyter.testing")]
    assert leaks == []


def test_no_import_cycles_at_run_time():
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(RUNTIME[name]):
            if target == "overmind_jupyter":
                continue  # the front door imports lazily, inside its entry points
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(RUNTIME):
        if name not in state:
            visit(name)
    assert cycles == []


# the contract and its edges: mypy reports these (the modules they import are read, not
# reported: pyproject's [tool.mypy] follow_imports = "silent")
TYPED = ("overmind_jupyter/api", "overmind_jupyter/client.py", "overmind_jupyter/commands",
         "overmind_jupyter/magics.py", "overmind_jupyter/cli.py", "overmind_jupyter/widgets",
         "overmind_jupyter/server/routes.py", "overmind_jupyter/server/openapi.py",
         "overmind_jupyter/server/codegen.py", "overmind_jupyter/server/events_ws.py",
         "tests/typecheck")


def test_the_contract_and_its_edges_type_check():
    """Engine and Client are ``api.EngineAPI`` (``tests/typecheck``) and every edge calls
    the contract with its types."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", *TYPED],
                          capture_output=True, text=True, cwd=ROOT, timeout=110)
    assert done.returncode == 0, done.stdout + done.stderr

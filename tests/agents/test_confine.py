"""Workspace confinement: real paths, protected paths, no-follow walking under races."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import stat
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overmind_jupyter.agents import confine
from overmind_jupyter.agents.confine import PathDenied, Workspace, protection
from overmind_jupyter.errors import OvermindError, UsageError

pytestmark = pytest.mark.timeout(60)

SECRET = "OUTSIDE SECRET"
GIT_CONFIG = "[core]\n\tbare = false\n"
HOOK = "#!/bin/sh\nexit 0\n"


class Tree:
    """tmp/{ws, outside, home, alias -> tmp}; ``ws`` holds traps pointing everywhere."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "ws"
        self.outside = tmp / "outside"
        self.home = tmp / "home"
        self.alias = tmp / "alias"  # a symlinked parent of the root
        for d in (self.root / "a" / "sub", self.root / ".git" / "hooks", self.outside / "sub",
                  self.outside / "sentinel", self.home):
            d.mkdir(parents=True)
        self.alias.symlink_to(tmp)
        (self.root / "notes.txt").write_text("line 1\nline 2\nline 3\n")
        (self.root / "a" / "b.txt").write_text("b\n")
        (self.root / ".git" / "config").write_text(GIT_CONFIG)
        (self.root / ".git" / "hooks" / "pre-commit").write_text(HOOK)
        (self.outside / "secret.txt").write_text(SECRET)
        (self.outside / "sub" / "secret.txt").write_text(SECRET)
        (self.home / ".bashrc").write_text("# home rc\n")
        links = {
            "out_abs": str(self.outside),
            "out_rel": "../outside",
            "out_file": str(self.outside / "secret.txt"),
            "chain1": "chain2", "chain2": "a/../chain3", "chain3": "../outside/sub",
            "to_git": ".git", "to_git_config": ".git/config", "to_hooks": "./.git/hooks",
            "inside_link": "a", "up_and_back": "../ws/a",
            "loop1": "loop2", "loop2": "loop1",
            ".profile": "notes.txt",  # a protected name pointing at a normal file
            "etc": "/etc",
        }
        for name, target in links.items():
            (self.root / name).symlink_to(target)
        (self.root / "a" / "up").symlink_to("../..")  # a/up -> tmp (outside)

    def outside_snapshot(self) -> dict[str, str]:
        """Every file and directory outside the workspace that a bug could touch."""
        found = {}
        for base in (self.outside, self.home):
            for dirpath, dirnames, filenames in os.walk(base):
                for name in dirnames:
                    found[os.path.join(dirpath, name)] = "<dir>"
                for name in filenames:
                    found[os.path.join(dirpath, name)] = Path(dirpath, name).read_text()
        for name in os.listdir(self.tmp):
            found.setdefault(os.path.join(self.tmp, name), "<entry>")
        return found

    def protected_snapshot(self) -> tuple[str, str]:
        return ((self.root / ".git" / "config").read_text(),
                (self.root / ".git" / "hooks" / "pre-commit").read_text())


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tree:
    t = Tree(tmp_path)
    monkeypatch.setenv("HOME", str(t.home))
    return t


def inside(path: str | Path, root: Path) -> bool:
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    return real == base or real.startswith(base + os.sep)


# -- property: resolution ---------------------------------------------------------------------

SEGMENTS = ["..", ".", "", "a", "sub", "b.txt", "new", "notes.txt", "out_abs", "out_rel",
            "out_file", "chain1", "to_git", "to_git_config", "to_hooks", "inside_link",
            "up_and_back", "loop1", "etc", "up", ".git", "hooks", "config", "pre-commit",
            ".bashrc", ".profile", ".jupyter", ".overmind", "secret.txt", "outside", "ws", "passwd",
            "jupyter_server_config.py", ".claude"]
PREFIXES = ["", "", "/", "~", "~/", "/etc/passwd/", "<OUTSIDE>/", "<ROOT>/", "<ALIAS_ROOT>/",
            "<TMP>/", "<ROOT>/../"]


@st.composite
def paths(draw: st.DrawFn) -> tuple[str, str]:
    """(template, joined path); placeholders are substituted with the tree's locations."""
    prefix = draw(st.sampled_from(PREFIXES))
    segments = draw(st.lists(st.sampled_from(SEGMENTS), max_size=6))
    return prefix, "/".join(segments)


def concrete(tree: Tree, prefix: str, rest: str) -> str:
    prefix = (prefix.replace("<OUTSIDE>", str(tree.outside))
              .replace("<ALIAS_ROOT>", str(tree.alias / "ws"))
              .replace("<ROOT>", str(tree.root)).replace("<TMP>", str(tree.tmp)))
    if prefix == "~" and rest:
        prefix = "~/"
    return prefix + rest


def naive_realpath(tree: Tree, path: str) -> str:
    """The oracle: what the OS says ``path`` (relative to the root) points at."""
    return os.path.realpath(os.path.join(tree.root, os.path.expanduser(path)))


@pytest.mark.parametrize("via_alias", [False, True], ids=["real-root", "symlinked-parent"])
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=paths(), write=st.booleans())
def test_resolve_accepts_only_unprotected_paths_inside(tree: Tree, via_alias: bool,
                                                       drawn: tuple[str, str],
                                                       write: bool) -> None:
    ws = Workspace(tree.alias / "ws" if via_alias else tree.root)
    path = concrete(tree, *drawn)
    expected = naive_realpath(tree, path)
    try:
        got = ws.resolve(path, write=write)
    except PathDenied as exc:
        assert exc.message.startswith("refused: ")
        assert exc.reason == "path-denied" and exc.http_status == 403
        return
    assert inside(got, tree.root), f"{path!r} accepted but resolves to {got}"
    assert str(got) == os.path.realpath(got), "resolve must return the real path"
    assert str(got) == expected, "resolve disagrees with the OS about where the path goes"
    rel = Path(os.path.relpath(got, os.path.realpath(tree.root))).parts
    assert protection([p for p in rel if p != "."], write=write) is None
    if not write:
        assert ".git" not in rel
    assert not inside(expected, tree.outside)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=paths())
def test_operations_never_touch_outside_or_protected_files(tree: Tree,
                                                           drawn: tuple[str, str]) -> None:
    ws = Workspace(tree.root)
    path = concrete(tree, *drawn)
    before_outside, before_protected = tree.outside_snapshot(), tree.protected_snapshot()
    for op in ("read", "write", "list"):
        try:
            write = op == "write"
            ws.resolve(path, write=write)
            refused = None
        except PathDenied as exc:
            refused = exc
        try:
            if op == "read":
                assert ws.read_text(path) not in (SECRET, GIT_CONFIG, HOOK)
            elif op == "write":
                ws.write_text(path, "written by the property test\n")
            else:
                for entry in ws.list_dir(path):
                    assert inside(os.path.dirname(ws.root / entry["path"]), tree.root)
        except PathDenied:
            continue
        except OSError:
            assert refused is None, f"{op} of a refused path raised OSError, not PathDenied"
            continue
        assert refused is None, f"{op} of {path!r} succeeded but resolve refuses it"
    assert tree.outside_snapshot() == before_outside
    assert tree.protected_snapshot() == before_protected


# -- table: what is refused and what the messages say -----------------------------------------

@pytest.mark.parametrize(("path", "needle"), [
    ("/etc/passwd", "refused: /etc/passwd is outside the workspace"),
    ("../outside/secret.txt", "is outside the workspace"),
    ("~/.bashrc", "refused: ~/.bashrc is outside the workspace"),
    ("out_abs/secret.txt", "it resolves to"),
    ("out_rel/secret.txt", "is outside the workspace"),
    ("chain1/secret.txt", "is outside the workspace"),
    ("a/up/outside/secret.txt", "is outside the workspace"),
    ("etc/passwd", "is outside the workspace"),
    ("loop1", "too many levels of symbolic links"),
    ("loop1/x", "too many levels of symbolic links"),
    ("a\0b", "NUL byte"),
    ("a/" * 2100, "too long"),
    ("x" * 256, "too long"),
])
def test_paths_outside_are_refused_for_reading_and_writing(tree: Tree, path: str,
                                                           needle: str) -> None:
    ws = Workspace(tree.root)
    for call in (lambda: ws.read_text(path), lambda: ws.write_text(path, "x"),
                 lambda: ws.list_dir(path), lambda: ws.resolve(path, write=False)):
        with pytest.raises(PathDenied) as info:
            call()
        assert needle in info.value.message
    assert not (tree.outside / "x").exists()


@pytest.mark.parametrize(("path", "message"), [
    (".git/config", "refused: .git/config is inside .git (git internals are off limits)"),
    (".git/hooks/pre-commit",
     "refused: .git/hooks/pre-commit is inside .git (git internals are off limits)"),
    (".git", "refused: .git is git's directory or gitfile (git internals are off limits)"),
    ("a/../.git/config", "refused: a/../.git/config is inside .git"),
    (".GIT/config", "refused: .GIT/config is inside .GIT (git internals are off limits)"),
    ("to_git_config", "refused: to_git_config (it resolves to .git/config) is inside .git"),
    ("to_hooks/pre-commit",
     "refused: to_hooks/pre-commit (it resolves to .git/hooks/pre-commit) is inside .git"),
    (".overmind/overmind.db", "refused: .overmind/overmind.db is inside .overmind "
                              "(Overmind's own config and state are off limits)"),
])
def test_git_internals_and_overmind_state_are_neither_readable_nor_writable(
        tree: Tree, path: str, message: str) -> None:
    ws = Workspace(tree.root)
    for call in (lambda: ws.read_text(path), lambda: ws.write_text(path, "pwned"),
                 lambda: ws.resolve(path, write=False)):
        with pytest.raises(PathDenied) as info:
            call()
        assert info.value.message.startswith(message)
    assert tree.protected_snapshot() == (GIT_CONFIG, HOOK)
    assert not (tree.root / ".overmind").exists()


@pytest.mark.parametrize(("path", "message"), [
    (".bashrc", "refused: .bashrc is a shell startup file (agents may not change shell "
                "startup files)"),
    ("sub/.zshrc", "refused: sub/.zshrc is a shell startup file"),
    (".envrc", "is a shell startup file"),
    (".profile", "refused: .profile (it resolves to notes.txt) is a shell startup file"),
    (".jupyter/jupyter_server_config.py", "refused: .jupyter/jupyter_server_config.py is "
     "inside .jupyter (agents may not change Jupyter/IPython config or startup files)"),
    (".ipython/profile_default/startup/00-x.py", "is inside .ipython"),
    ("jupyter_server_config.py", "is a Jupyter/IPython config file"),
    ("nb/jupyter_notebook_config.json", "is a Jupyter/IPython config file"),
    ("ipython_config.py", "is a Jupyter/IPython config file"),
    ("venv/etc/jupyter/jupyter_server_config.d/x.json", "is inside jupyter_server_config.d"),
    (".claude/settings.json", "is inside .claude (agents may not change agent CLI config)"),
    (".gemini/settings.json", "is inside .gemini"),
    (".codex/config.toml", "is inside .codex"),
    (".goose/config.yaml", "is inside .goose"),
    (".cursor/rules", "is inside .cursor"),
    (".aider.conf.yml", "is an agent CLI config file"),
    (".mcp.json", "is an agent CLI config file"),
    (".husky/pre-commit", "is inside .husky (agents may not change git hooks)"),
])
def test_config_and_startup_files_are_readable_but_never_writable(tree: Tree, path: str,
                                                                  message: str) -> None:
    ws = Workspace(tree.root)
    with pytest.raises(PathDenied) as info:
        ws.write_text(path, "pwned")
    assert message in info.value.message
    if path != ".profile":  # the tree's .profile is a symlink to notes.txt
        assert not os.path.lexists(tree.root / path.split("/")[0])
    assert (tree.root / "notes.txt").read_text() == "line 1\nline 2\nline 3\n"
    ws.resolve(path, write=False)  # reading them is fine


def test_gitfile_worktree_is_protected(tmp_path: Path) -> None:
    """In a linked worktree ``.git`` is a file pointing at the main repository's gitdir."""
    root = tmp_path / "wt"
    root.mkdir()
    gitdir = tmp_path / "main" / ".git" / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (root / ".git").write_text(f"gitdir: {gitdir}\n")
    ws = Workspace(root)
    with pytest.raises(PathDenied, match=r"^refused: \.git is git's directory or gitfile"):
        ws.write_text(".git", f"gitdir: {tmp_path}/evil\n")
    with pytest.raises(PathDenied, match="git internals are off limits"):
        ws.read_text(".git")
    with pytest.raises(PathDenied, match=r"inside \.git"):
        ws.write_text(".git/hooks/pre-commit", HOOK)  # .git is a file, yet still refused
    assert (root / ".git").read_text() == f"gitdir: {gitdir}\n"


def test_protected_names_are_matched_on_the_root_relative_path_only(tmp_path: Path) -> None:
    """A workspace that itself lives under ``.overmind/`` (mission worktrees) still works."""
    root = tmp_path / "project" / ".overmind" / "worktrees" / "m1"
    root.mkdir(parents=True)
    ws = Workspace(root)
    ws.write_text("src/app.py", "print('hi')\n")
    assert ws.read_text("src/app.py") == "print('hi')\n"
    assert ws.resolve(str(root / "src" / "app.py"), write=True) == root / "src" / "app.py"


# -- normal use ---------------------------------------------------------------------------------

def test_read_write_and_list_inside_the_workspace(tree: Tree) -> None:
    ws = Workspace(tree.root)
    assert ws.root == tree.root.resolve()
    assert ws.read_text("notes.txt") == "line 1\nline 2\nline 3\n"
    assert ws.read_text(str(tree.root / "a" / "b.txt")) == "b\n"
    assert ws.read_text("inside_link/b.txt") == "b\n"  # symlinks inside are fine
    assert ws.read_text("up_and_back/b.txt") == "b\n"
    ws.write_text("src/pkg/new.py", "x = 1\n")  # parents created
    assert (tree.root / "src" / "pkg" / "new.py").read_text() == "x = 1\n"
    ws.write_text("inside_link/b.txt", "B\n")
    assert (tree.root / "a" / "b.txt").read_text() == "B\n"
    entries = {e["name"]: e for e in ws.list_dir(".")}
    assert entries["a"] == {"name": "a", "path": "a", "type": "dir", "size": None}
    assert entries["notes.txt"]["type"] == "file"
    assert entries["notes.txt"]["size"] == len("line 1\nline 2\nline 3\n")
    assert entries["out_abs"]["type"] == "symlink"  # reported, never followed
    assert [e["path"] for e in ws.list_dir("src/pkg")] == ["src/pkg/new.py"]
    assert [e["name"] for e in ws.list_dir("a")] == sorted(os.listdir(tree.root / "a"))
    assert not any(n.startswith(".overmind-write") for n in os.listdir(tree.root / "src/pkg"))


def test_write_replaces_atomically_and_keeps_the_mode(tree: Tree) -> None:
    ws = Workspace(tree.root)
    script = tree.root / "run.sh"
    script.write_text("old\n")
    script.chmod(0o750)
    inode = script.stat().st_ino
    ws.write_text("run.sh", "new\n")
    assert script.read_text() == "new\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert script.stat().st_ino != inode  # a new file replaced the old one
    ws.write_text("empty.txt", "")
    assert (tree.root / "empty.txt").read_text() == ""


@pytest.mark.parametrize(("line", "limit", "expected"), [
    (None, None, "l1\nl2\r\nl3\fstill 3\nl4"),
    (1, None, "l1\nl2\r\nl3\fstill 3\nl4"),
    (2, None, "l2\r\nl3\fstill 3\nl4"),
    (2, 1, "l2\r\n"),
    (3, 1, "l3\fstill 3\n"),  # form feeds do not split lines
    (4, 5, "l4"),
    (5, None, ""),
    (None, 2, "l1\nl2\r\n"),
    (1, 0, ""),
])
def test_read_text_line_window(tree: Tree, line: int | None, limit: int | None,
                               expected: str) -> None:
    (tree.root / "w.txt").write_bytes(b"l1\nl2\r\nl3\fstill 3\nl4")
    assert Workspace(tree.root).read_text("w.txt", line=line, limit=limit) == expected


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_characters="\n\r",
                                                      blacklist_categories=["Cs"]),
                              max_size=5), max_size=8),
       line=st.integers(1, 10), limit=st.integers(0, 10) | st.none())
def test_read_text_window_matches_a_slice_of_lines(tree: Tree, lines: list[str], line: int,
                                                   limit: int | None) -> None:
    ws = Workspace(tree.root)
    ws.write_text("window.txt", "".join(s + "\n" for s in lines))
    end = None if limit is None else line - 1 + limit
    expected = "".join(s + "\n" for s in lines[line - 1:end])
    assert ws.read_text("window.txt", line=line, limit=limit) == expected


def test_bad_windows_and_non_files(tree: Tree) -> None:
    ws = Workspace(tree.root)
    with pytest.raises(UsageError, match="numbered from 1"):
        ws.read_text("notes.txt", line=0)
    with pytest.raises(UsageError, match="limit"):
        ws.read_text("notes.txt", limit=-1)
    with pytest.raises(FileNotFoundError):
        ws.read_text("missing.txt")
    with pytest.raises(FileNotFoundError):
        ws.list_dir("missing")
    with pytest.raises(IsADirectoryError):
        ws.read_text("a")
    with pytest.raises(IsADirectoryError):
        ws.write_text("a", "x")
    with pytest.raises(IsADirectoryError):
        ws.write_text(".", "x")
    with pytest.raises(NotADirectoryError):
        ws.write_text("notes.txt/x", "x")
    os.mkfifo(tree.root / "fifo")
    with pytest.raises(PathDenied, match="not a regular file"):
        ws.read_text("fifo")  # and it did not block on the FIFO
    with pytest.raises(PathDenied, match="not a path"):
        ws.resolve(b"notes.txt", write=False)  # type: ignore[arg-type]
    with pytest.raises(PathDenied, match="not valid text"):
        ws.resolve("bad\udcffsurrogate\ud800", write=False)
    assert issubclass(PathDenied, OvermindError)


def test_root_reached_through_a_symlinked_parent(tree: Tree) -> None:
    ws = Workspace(tree.alias / "ws")
    assert ws.root == tree.root.resolve()
    assert ws.read_text(str(tree.alias / "ws" / "notes.txt")).startswith("line 1")
    assert ws.read_text(str(tree.root / "notes.txt")).startswith("line 1")
    ws.write_text(str(tree.alias / "ws" / "via_alias.txt"), "ok")
    assert (tree.root / "via_alias.txt").read_text() == "ok"
    with pytest.raises(PathDenied):
        ws.write_text(str(tree.alias / "ws" / ".git" / "config"), "x")
    with pytest.raises(PathDenied, match="outside the workspace"):
        ws.read_text(str(tree.alias / "outside" / "secret.txt"))


def test_home_inside_the_workspace_still_protects_rc_files(tree: Tree,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("HOME", str(tree.root))
    ws = Workspace(tree.root)
    assert ws.resolve("~/notes.txt", write=True) == tree.root.resolve() / "notes.txt"
    with pytest.raises(PathDenied, match="shell startup file"):
        ws.write_text("~/.zshrc", "x")


def test_a_replaced_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    ws = Workspace(root)
    root.rename(tmp_path / "old")
    root.mkdir()
    with pytest.raises(PathDenied, match="was replaced"):
        ws.write_text("x.txt", "x")
    assert not (root / "x.txt").exists()


def test_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Workspace(tmp_path / "nope")
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError):
        Workspace(tmp_path / "f")


# -- TOCTOU: symlinks swapped in after the check -----------------------------------------------

def _exchanger():
    """Atomically exchange two names (renameat2 RENAME_EXCHANGE / renamex_np RENAME_SWAP)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        fn = libc.renameat2
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                       ctypes.c_uint]

        def exchange(a: Path, b: Path) -> None:
            if fn(-100, os.fsencode(a), -100, os.fsencode(b), 2) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        return exchange
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        fn = libc.renamex_np
        fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]

        def exchange(a: Path, b: Path) -> None:
            if fn(os.fsencode(a), os.fsencode(b), 2) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        return exchange
    pytest.skip("no atomic rename-exchange on this platform")


@pytest.fixture
def exchange():
    return _exchanger()


def _swap_after_check(monkeypatch: pytest.MonkeyPatch, ws: Workspace, swap) -> None:
    original = ws._check

    def check_then_swap(path, *, write):
        result = original(path, write=write)
        swap()
        return result
    monkeypatch.setattr(ws, "_check", check_then_swap)


@pytest.mark.parametrize("op", ["write", "read", "list"])
def test_directory_swapped_for_a_symlink_after_the_check(tree: Tree, exchange, op: str,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Deterministic TOCTOU: the check passes, then ``d`` becomes a link to outside."""
    ws = Workspace(tree.root)
    (tree.root / "d").mkdir()
    (tree.root / "d" / "f.txt").write_text("inside\n")
    target = tree.outside / ("sentinel" if op == "write" else "sub")
    (tree.root / "d_swap").symlink_to(target)
    _swap_after_check(monkeypatch, ws, lambda: exchange(tree.root / "d", tree.root / "d_swap"))
    with pytest.raises(PathDenied, match="symbolic link"):
        if op == "write":
            ws.write_text("d/secret.txt", "pwned")
        elif op == "read":
            ws.read_text("d/secret.txt")
        else:
            ws.list_dir("d")
    assert os.path.islink(tree.root / "d")  # the swap really happened
    assert os.listdir(tree.outside / "sentinel") == []


def test_file_swapped_for_a_symlink_after_the_check(tree: Tree, exchange,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(tree.root)
    (tree.root / "f.txt").write_text("inside\n")
    (tree.root / "f_swap").symlink_to(tree.outside / "secret.txt")
    swap = lambda: exchange(tree.root / "f.txt", tree.root / "f_swap")  # noqa: E731
    _swap_after_check(monkeypatch, ws, swap)
    with pytest.raises(PathDenied, match="symbolic link"):
        ws.read_text("f.txt")
    swap()  # f.txt is a file again for the write's check
    with pytest.raises(PathDenied, match="symbolic link"):
        ws.write_text("f.txt", "pwned")
    assert (tree.outside / "secret.txt").read_text() == SECRET


@pytest.mark.parametrize("target", ["dir", "file"])
def test_racing_swaps_never_leak_outside(tree: Tree, exchange, target: str) -> None:
    """A thread flips a directory (or file) and a symlink to outside as fast as it can."""
    ws = Workspace(tree.root)
    (tree.root / "d").mkdir()
    (tree.root / "d" / "f.txt").write_text("inside\n")
    (tree.outside / "sentinel" / "f.txt").write_text(SECRET)
    if target == "dir":
        a, b = tree.root / "d", tree.root / "d_swap"
        b.symlink_to(tree.outside / "sentinel")
        path = "d/f.txt"
    else:
        a, b = tree.root / "d" / "f.txt", tree.root / "d" / "f_swap"
        b.symlink_to(tree.outside / "sentinel" / "f.txt")
        path = "d/f.txt"
    before = tree.outside_snapshot()
    stop = threading.Event()
    flips = 0

    def flipper() -> None:
        nonlocal flips
        while not stop.is_set():
            exchange(a, b)
            flips += 1
            if not (os.path.islink(a) or os.path.islink(b)):  # a write replaced the link
                temp = b.with_name("link.tmp")
                temp.symlink_to(tree.outside / "sentinel" / "f.txt")
                os.replace(temp, b)

    thread = threading.Thread(target=flipper, daemon=True)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads finely, not in 5 ms slices
    thread.start()
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + 4
    try:
        i = 0
        while time.monotonic() < deadline and i < 3000:
            i += 1
            for op in ("write", "read"):
                try:
                    if op == "write":
                        ws.write_text(path, f"inside {i}\n")
                    else:
                        assert SECRET not in ws.read_text(path)
                    key = f"{op}-ok"
                except PathDenied as exc:
                    key = f"{op}-denied" + ("-late" if "after it was checked" in exc.message
                                            or "changed" in exc.message else "")
                except FileNotFoundError:
                    key = f"{op}-missing"  # read right after a file swap moved it away
                outcomes[key] = outcomes.get(key, 0) + 1
    finally:
        stop.set()
        thread.join(5)
        sys.setswitchinterval(switch)
    assert tree.outside_snapshot() == before, "something was written outside the workspace"
    assert flips > 100
    assert outcomes.get("write-ok", 0) > 0 and outcomes.get("read-ok", 0) > 0, outcomes
    assert any(k.startswith(("write-denied", "read-denied")) for k in outcomes), outcomes


def test_module_exports() -> None:
    assert all(hasattr(confine, name) for name in confine.__all__)
    assert PathDenied("x").to_json() == {"message": "x", "reason": "path-denied"}

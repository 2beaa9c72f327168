"""The scope extractor and its repository index, on real tiny git repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from planning_helpers import respond, run, scripted

from overmind_jupyter.orchestrator import repo_index
from overmind_jupyter.orchestrator.scope import MAX_FILES, extract

pytestmark = pytest.mark.timeout(60)

FILES = {
    "README.md": "# Demo\nA tiny app.\n",
    "src/app/greeting.py": "def greeting(name):\n    return f'Hello {name}'\n",
    "src/app/cli.py": "import sys\nfrom app.greeting import greeting\n",
    "docs/guide.md": "Run the cli.\n",
}


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    """A real git repository at ``root`` with ``files`` committed."""
    root.mkdir()
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=root, check=True)
    return root


def test_search_finds_the_file_and_invented_paths_are_dropped(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("greeting OUTSIDE-SECRET\n")
    files = {**FILES, "assets/logo.png": b"\x89PNG\0\0greeting BINARY-BYTES"}
    repo = make_repo(tmp_path / "repo", files)
    os.symlink(outside, repo / "link.txt")
    subprocess.run(["git", "add", "link.txt"], cwd=repo, check=True)
    answer = {"files": [{"path": "src/app/greeting.py"}, {"path": "src/app/ghost.py"},
                        {"path": "src/app/i18n.py", "new": True},
                        {"path": "nowhere/x.py", "new": True}, {"path": "../etc/passwd"},
                        {"path": "./src/app/greeting.py"}, {"path": "docs/"}],
              "complexity": "low", "rationale": "One function changes."}
    model = scripted(tmp_path, respond(answer, expect="src/app/greeting.py:1: def greeting"))
    scope = run(extract(model, repo, "Make the greeting say hello in French", "A tiny app."))
    assert scope.files == ("src/app/greeting.py", "src/app/i18n.py", "docs/")
    assert scope.new_files == ("src/app/i18n.py",)
    assert (scope.complexity, scope.rationale) == ("low", "One function changes.")
    dropped = " ".join(scope.notes)
    assert all(p in dropped for p in ("ghost.py", "nowhere/x.py", "../etc/passwd"))
    request = model.calls[0][0][-1].content
    assert "README.md" in request and "A tiny app." in request
    assert "OUTSIDE-SECRET" not in request and "BINARY-BYTES" not in request
    model.assert_complete()


def test_scope_is_capped_at_fifteen_files(tmp_path):
    many = {f"pkg/m{i:02}.py": f"x = {i}\n" for i in range(20)}
    repo = make_repo(tmp_path / "repo", many)
    answer = {"files": [{"path": p} for p in many], "complexity": "high", "rationale": "all"}
    scope = run(extract(scripted(tmp_path, respond(answer)), repo, "Rename x", ""))
    assert scope.files == tuple(sorted(many))[:MAX_FILES]
    assert any("first 15 of 20" in note for note in scope.notes)


def test_search_ranks_files_matching_more_words_first(tmp_path):
    repo = make_repo(tmp_path / "repo", {
        "a.py": "greeting = 1\n", "b.py": "greeting french hello\n", "c.py": "nothing\n"})
    tree = run(repo_index.index(repo))
    hits = run(repo_index.search(repo, tree.files, repo_index.keywords(
        "Make the greeting say hello in French")))
    assert [str(h) for h in hits] == ["b.py:1: greeting french hello", "a.py:1: greeting = 1"]


def test_search_reads_a_bounded_number_of_bytes(tmp_path):
    filler = "x = 0\n" * 50_000  # 300 kB: more than one file's share
    repo = make_repo(tmp_path / "repo", {"big.py": filler + "greeting\n",
                                         "later.py": "greeting\n"})
    tree = run(repo_index.index(repo))
    assert run(repo_index.search(repo, tree.files, ["greeting"])) == [
        repo_index.Hit("later.py", 1, "greeting")]  # the end of big.py is never read
    assert run(repo_index.search(repo, tree.files, ["greeting"], max_bytes=1_000)) == []


def test_keywords_skip_filler_words():
    assert repo_index.keywords("Please fix the greeting so it says Hello in French") == [
        "greeting", "says", "hello", "french"]


TABLES = {  # the shape of tabulate: one module holds every format, many files say "table"
    "pkg/__init__.py": "\n".join(["# table formats", "def simple_table(): pass"] +
                                 [f"# table row {i}" for i in range(30)] +
                                 ['"jira": TableFormat(lineabove=None, ...)', "def _jira(): pass"]),
    "test/test_output.py": "def test_simple_table(): assert table\n",
    "test/test_input.py": "def test_table_input(): table\n",
    "benchmark.py": "import pkg\n# benchmark table formats\n",
    "tox.ini": "[tox]\n# table tests\n",
    "README.md": "Pretty tables. Formats: simple, grid, jira.\n",
}
BBCODE = ("Add a 'bbcode' table format to the library, similar to the existing 'jira' format. "
          "Add a test for it in test/test_output.py.")


def test_rare_words_rank_the_file_that_holds_them_first(tmp_path):
    """``jira`` is rare, ``table`` is everywhere: the module with the jira format wins."""
    repo = make_repo(tmp_path / "repo", TABLES)
    tree = run(repo_index.index(repo))
    found = run(repo_index.find(repo, tree.files, repo_index.keywords(BBCODE)))
    assert "test_output" not in repo_index.keywords(BBCODE)  # a named path is no keyword
    assert "pkg/__init__.py" in found.candidates()
    assert {"tox.ini", "benchmark.py"}.isdisjoint(found.candidates())
    jira_lines = [h for h in found.hits if h.path == "pkg/__init__.py"]
    assert sum("jira" in h.text for h in jira_lines) == 2  # the rare word's lines, not row 1-30
    assert repo_index.mentioned(BBCODE, tree) == ["test/test_output.py"]


def test_scope_is_grounded_when_the_model_recalls_the_wrong_files(tmp_path):
    """The real 1.5B model's scope for the bbcode prompt (issue 13): config and test files,
    not the module. The named path comes first, the search's best file is added."""
    repo = make_repo(tmp_path / "repo", TABLES)
    answer = {"files": [{"path": "tox.ini"}, {"path": "benchmark.py"},
                        {"path": "test/test_input.py"}],
              "complexity": "low", "rationale": "Add a format."}
    model = scripted(tmp_path, respond(answer, expect="Candidate files"))
    scope = run(extract(model, repo, BBCODE, ""))
    assert scope.files[0] == "test/test_output.py" and "pkg/__init__.py" in scope.files[:3]
    assert set(scope.files) >= {"tox.ini", "benchmark.py", "test/test_input.py"}
    notes = " ".join(scope.notes)
    assert "added test/test_output.py: the objective names it" in notes
    assert "added pkg/__init__.py" in notes

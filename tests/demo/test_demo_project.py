"""The demo's project preparation: the pinned sdist, its checksum, unpacking, the repository.

Uses the real cached sdist (downloaded with pip on first use, offline afterwards).
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:  # `demo` is a folder of the checkout, not installed
    sys.path.insert(0, str(CHECKOUT))
from demo import main, project, quickstart, summary  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def archive() -> Path:
    return project.fetch()


def test_a_tampered_archive_is_refused(archive: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / archive.name).write_bytes(archive.read_bytes() + b"\0")
    with pytest.raises(project.DemoError, match="delete it and run the demo again"):
        project.fetch(project.TABULATE, cache)


def test_the_pin_is_checked_against_the_cached_archive(archive: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(archive, cache)
    wrong = dataclasses.replace(project.TABULATE, sha256="0" * 64)
    with pytest.raises(project.DemoError, match="not the pinned"):
        project.fetch(wrong, cache)
    assert project.fetch(project.TABULATE, cache) == cache / archive.name


def test_prepare_makes_the_same_one_commit_repository_every_time(tmp_path: Path) -> None:
    first, second = project.prepare(tmp_path / "a"), project.prepare(tmp_path / "b")
    head = [project.git(repo, "log", "--format=%H %s", "main").splitlines()
            for repo in (first, second)]
    assert head[0] == head[1] and len(head[0]) == 1
    assert head[0][0].endswith("tabulate 0.9.0 from its PyPI source distribution")
    assert (first / "tabulate" / "__init__.py").is_file() and (first / "test").is_dir()
    assert project.git(first, "status", "--porcelain") == ""
    assert project.prepare(first) == first  # kept as it is
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "-o", "addopts=", "--color=no"], cwd=first, capture_output=True,
                           text=True, timeout=240)
    assert tests.returncode == 0 and "269 passed" in tests.stdout, tests.stdout[-2000:]


def test_unpacking_refuses_members_outside_the_destination(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo("pkg-1.0/../../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    with pytest.raises(project.DemoError, match="cannot unpack"):
        project.unpack(bad, tmp_path / "dest")
    assert not (tmp_path / "escaped.txt").exists()


def test_summary_of_a_failed_objective_says_why() -> None:
    failed = {"id": "1f0c9a2e", "state": "failed", "title": "DokuWiki", "members": ["alice"],
              "target": "main", "tasks": [], "changes": [], "merges": [],
              "spent": {"tokens": 812, "cost_usd": 0.0}, "scripted": True,
              "error": "the planner gave no valid answer"}
    text = summary.render([failed], {"project": 1.0, "notebook": 2.4})
    assert "1f0c9a2e failed: DokuWiki" in text
    assert "0 of 0 merged" in text and "no verification ran" in text
    assert "the planner gave no valid answer" in text
    assert "wall time   3 s (project 1 s · notebook 2 s)" in text
    assert summary.pytest_counts("...\n271 passed, 15 skipped in 4.1s\n") == \
        "271 passed, 15 skipped"


# what `make demo MODEL=local` came to on 2026-12-07 (qwen2.5-coder-1.5b, Q4_K_M)
GUARD = ("test-writing-77d1 stopped: the same error 3 times in a row: write_file: write_file "
         "would cut test/test_output.py from 2975 lines to 19: it replaces the whole file, "
         "and it was refused.\nAnswer to let it go on, or cancel the objective.")


def waiting_objective() -> dict:
    return {"id": "4a6a1294", "state": "running", "title": "DokuWiki", "members": ["alice"],
            "target": "main", "merges": [], "spent": {"tokens": 66_892, "cost_usd": 0.0},
            "tasks": [{"name": "test-writing", "state": "running", "files_changed": []}],
            "changes": [], "questions": [{"id": "0f07ef2f", "kind": "guard", "text": GUARD}]}


def test_a_real_model_that_stops_at_a_question_is_reported_not_failed() -> None:
    objective = waiting_objective()
    text = summary.render([objective], {"notebook": 987.0})
    assert "waiting on  question 0f07ef2f (guard): test-writing-77d1 stopped" in text
    assert "`overmind answer 0f07ef2f TEXT`" in text and "Answer to let it" not in text
    assert main.failures(None, [objective], [], real_model=True) == []
    assert "0 change(s) landed; 1 objective(s) wait on a question" in \
        main.outcome([objective], real_model=True)
    # the scripted model must land everything; a stuck objective (no question) always fails
    assert main.failures(None, [objective], [])[0].startswith("objective 4a6a1294 running")
    stuck = {**objective, "questions": []}
    assert main.failures(None, [stuck], [], real_model=True) == [
        "objective 4a6a1294 running: no error recorded"]
    assert main.failures(None, [objective], ["process 12 (python) in /w"], real_model=True) \
        == ["left behind: process 12 (python) in /w"]


def test_worktrees_of_undecided_changes_are_kept_others_are_left_behind(tmp_path: Path
                                                                          ) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "base"], check=True)
    for name in ("open-change", "stray"):
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", "-b", name,
                        str(repo / ".overmind" / "worktrees" / name)], check=True)
    objective = {**waiting_objective(), "changes": [
        {"state": "open", "workspace": str(repo / ".overmind/worktrees/open-change")},
        {"state": "merged", "workspace": str(repo / ".overmind/worktrees/stray")}]}
    kept = main.kept_for_review([objective])
    assert kept == {(repo / ".overmind/worktrees/open-change").resolve()}
    assert main.leftovers(tmp_path / "nothing-runs-here", repo, kept) == [
        f"worktree {(repo / '.overmind/worktrees/stray').resolve()}"]


def test_no_key_means_the_scripted_model_and_a_key_means_the_real_one(tmp_path: Path) -> None:
    extra, label = quickstart.model_env({}, tmp_path / "scripts")
    assert extra == {"OVERMIND_MODEL": f"scripted:{tmp_path / 'scripts'}"}
    assert label.startswith("scripted model")
    assert {p.name for p in (tmp_path / "scripts").iterdir()} >= {
        "story.json", "scope.json", "planner.json", "evaluator.json",
        "task-dokuwiki-format.json", "task-docs.json"}
    extra, label = quickstart.model_env({"OPENAI_API_KEY": "sk-test"}, tmp_path / "unused")
    assert extra == {} and label.startswith("openai:") and "scripted" not in label
    extra, label = quickstart.model_env({"GEMINI_API_KEY": "g-test"}, tmp_path / "unused")
    assert extra == {} and label.startswith("gemini:")
    assert not (tmp_path / "unused").exists()

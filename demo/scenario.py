"""What the demo's team asks of tabulate 0.9.0, and the scripted model's answers.

alice (the host) asks for a ``dokuwiki`` table format with tests; bob (a guest) asks for
its documentation (their prompts are in ``notebooks/quickstart.ipynb``). The scripted
model — used when no API key is set, and always labelled "scripted model" — answers every
role (``orchestrator.roles``): the story agent groups both prompts into one objective, the
planner makes two tasks with disjoint file scopes (so they run in parallel, each in its
own worktree), and each task's agent makes real edits to the pinned release with
``edit_file`` anchors taken verbatim from it. The implementation agent also runs the new
tests; its final turn ``expect``s pytest's "2 passed" and the evaluator's verdict
``expect``s that task done, so a scripted answer never claims what did not happen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

TASKS = {  # task name → (description: a title line, then the agent's brief; file scope)
    "dokuwiki-format": ("Add the dokuwiki table format with tests\n\n"
                        "Add a TableFormat entry for dokuwiki next to jira in "
                        "tabulate/__init__.py (header cells between ^, data cells between |) "
                        "and tests with and without headers in test/test_output.py.",
                        ["tabulate/__init__.py", "test/test_output.py"]),
    "docs": ("Document the dokuwiki table format\n\n"
             "List dokuwiki among the formats in README.md, add an example after the jira "
             "one, and note the new format in CHANGELOG.", ["README.md", "CHANGELOG"]),
}
EXAMPLE = ("^ item   ^   qty ^\n"
           "| spam   |    42 |\n"
           "| eggs   |   451 |\n"
           "| bacon  |     0 |")  # tabulate(table, headers, tablefmt="dokuwiki") in README

JIRA_FORMAT = '''        headerrow=DataRow("||", "||", "||"),
        datarow=DataRow("|", "|", "|"),
        padding=1,
        with_header_hide=None,
    ),
'''
DOKUWIKI_FORMAT = '''    "dokuwiki": TableFormat(
        lineabove=None,
        linebelowheader=None,
        linebetweenrows=None,
        linebelow=None,
        headerrow=DataRow("^", "^", "^"),
        datarow=DataRow("|", "|", "|"),
        padding=1,
        with_header_hide=None,
    ),
'''
JIRA_HEADERLESS_TEST = '''    result = tabulate(_test_table, tablefmt="jira")
    assert_equal(expected, result)
'''
DOKUWIKI_TESTS = '''

def test_dokuwiki():
    "Output: dokuwiki with headers"
    expected = "\\n".join(
        [
            "^ strings   ^   numbers ^",
            "| spam      |   41.9999 |",
            "| eggs      |  451      |",
        ]
    )
    result = tabulate(_test_table, _test_table_headers, tablefmt="dokuwiki")
    assert_equal(expected, result)


def test_dokuwiki_headerless():
    "Output: dokuwiki without headers"
    expected = "\\n".join(["| spam |  41.9999 |", "| eggs | 451      |"])
    result = tabulate(_test_table, tablefmt="dokuwiki")
    assert_equal(expected, result)
'''
JIRA_README = '''>>> print(tabulate(table, headers, tablefmt="jira"))
|| item   ||   qty ||
| spam   |    42 |
| eggs   |   451 |
| bacon  |     0 |
```
'''
DOKUWIKI_README = f'''
`dokuwiki` follows the [table syntax of DokuWiki](https://www.dokuwiki.org/wiki:syntax#tables):
header cells start with `^`, data cells with `|`:

```pycon
>>> print(tabulate(table, headers, tablefmt="dokuwiki"))
{EXAMPLE}
```
'''


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"input_tokens": prompt, "output_tokens": completion}


def engine_roles() -> dict[str, Any]:
    """The turns of the in-engine roles: story, scope, planner, evaluator."""
    return {
        "story": respond({
            "groups": [{"title": "DokuWiki table format, tested and documented",
                        "prompt_ids": ["p1", "p2"],
                        "summary": "Add a dokuwiki output format to tabulate (header cells "
                                   "in ^, data cells in |) with tests, and document it in "
                                   "the README and CHANGELOG."}],
            "story": "The team extends tabulate with a DokuWiki table format: code, tests "
                     "and documentation."}, _usage(612, 118)),
        "scope": respond({
            "files": [{"path": "tabulate/__init__.py"}, {"path": "test/test_output.py"},
                      {"path": "README.md"}, {"path": "CHANGELOG"}],
            "complexity": "low",
            "rationale": "Table formats are entries of _table_formats in tabulate/__init__.py "
                         "(jira is the closest); their tests are in test/test_output.py; the "
                         "README lists every format with examples."}, _usage(2410, 164)),
        "planner": respond({"tasks": [
            {"name": name, "description": description, "scope": scope}
            for name, (description, scope) in TASKS.items()]}, _usage(1835, 242)),
        # the verdict holds only if the implementation task really is done
        "evaluator": {**respond({"done": True, "feedback": "The format, its two tests and "
                                 "its documentation are in place."}, _usage(1520, 41)),
                      "expect": "task dokuwiki-format: done\nfiles changed: "
                                "tabulate/__init__.py, test/test_output.py"},
    }


def task_turns() -> dict[str, list[dict[str, Any]]]:
    """The turns of each task's agent (real edits of the pinned release)."""
    return {
        "dokuwiki-format": [
            tool("search", _usage(3120, 31), pattern='"jira"', path="tabulate"),
            tool("edit_file", _usage(3480, 212), path="tabulate/__init__.py",
                 old_text=JIRA_FORMAT, new_text=JIRA_FORMAT + DOKUWIKI_FORMAT),
            tool("edit_file", _usage(3905, 268), path="test/test_output.py",
                 old_text=JIRA_HEADERLESS_TEST,
                 new_text=JIRA_HEADERLESS_TEST + DOKUWIKI_TESTS),
            tool("run_command", _usage(4330, 38), command=(
                "python -m pytest -q -p no:cacheprovider test/test_output.py::test_dokuwiki "
                "test/test_output.py::test_dokuwiki_headerless")),
            {**say("Added the `dokuwiki` table format (header cells in `^`, data cells in "
                   "`|`, like `jira`) and two tests, with and without headers; both pass.",
                   _usage(4610, 52)), "expect": "\n2 passed"},
        ],
        "docs": [
            tool("search", _usage(2950, 28), pattern="jira", path="README.md"),
            tool("edit_file", _usage(3310, 40), path="README.md",
                 old_text='-   "jira"\n', new_text='-   "jira"\n-   "dokuwiki"\n'),
            tool("edit_file", _usage(3520, 160), path="README.md", old_text=JIRA_README,
                 new_text=JIRA_README + DOKUWIKI_README),
            tool("edit_file", _usage(3790, 45), path="CHANGELOG",
                 old_text="- 0.9.1: Future version.\n",
                 new_text="- 0.9.1: Future version.\n  New output format: `dokuwiki`.\n"),
            say("Listed `dokuwiki` among the formats in the README, added an example after "
                "the jira one, and noted the new format in the CHANGELOG.", _usage(3960, 40)),
        ],
    }


def write_scripts(directory: Path) -> Path:
    """Write the scripted model's directory (``scripted:DIR``, see ``orchestrator.roles``)
    into ``directory``; return it."""
    return write_role_scripts(directory, tasks=task_turns(), **engine_roles())

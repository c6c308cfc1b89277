"""README's exit-code table covers every command, `diff` included, and agrees with the code."""

from __future__ import annotations

import re

from harness import REPO
from servestack.cli import cli
from servestack.commands.common import EXIT_FAILED, EXIT_INVALID, EXIT_OK


def table() -> dict[str, list[str]]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Exit codes\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([\w-]+)` \| (.*) \|$", section, re.M)  # deploy-path: a hyphen
    return {name: [cell.strip() for cell in cells.split("|")] for name, cells in rows}


def test_every_command_has_a_row_with_its_three_codes():
    rows = table()
    assert sorted(rows) == sorted(cli.commands)
    assert all(len(cells) == 3 for cells in rows.values())
    assert (EXIT_OK, EXIT_FAILED, EXIT_INVALID) == (0, 1, 2)


def test_the_diff_row_names_every_unsafe_transition():
    ok, found, invalid = table()["diff"]
    assert ok == "no unsafe transition"
    for kind in ("a skipped stage", "a promotion before the last stage", "created mid-rollout",
                 "a pool shrunk below its endpoints' demand", "a protected resource deleted"):
        assert kind in found

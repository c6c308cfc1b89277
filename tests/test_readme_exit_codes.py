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


def test_the_diff_row_and_the_review_section_name_every_unsafe_transition():
    from servestack.review.flags import KINDS

    ok, found, invalid = table()["diff"]
    assert ok == "no unsafe transition"
    assert re.findall(r"`([a-z-]+)`", found.split(":", 1)[1].split("see [")[0]) == list(KINDS)
    review = (REPO / "README.md").read_text().split("#### What `diff` flags\n", 1)[1].split("\n\n", 2)[1]
    assert re.findall(r"^\| `([a-z-]+)` \|", review, re.M) == list(KINDS)

"""Every shell block in README.md and docs/ runs as written, in a fresh copy of the project, with the
`servestack` command on PATH as README says: each command exits 0, and a block's commands run in
order (a rollout moved by one line is the input of the next). Inputs a command names exist because an
earlier line of the document made them, or the project has them.

What cannot run here is skipped by rule, each with its reason (never silently): the Pulumi CLI and
AWS, `make` (it installs .venv; CI runs `make test` itself, and tests/test_bench_runs.py runs the
bench), and the maintainers' refresh of upstream data from the reference folder beside the repository (tools/vendor_upstream.py
--upstream). A line may also say why it cannot run here in its own comment: `# needs: <what>`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: An untagged block is a shell block when its first line runs one of these.
COMMANDS = ("servestack ", "make ", ".venv/", "pulumi ", "export ", "uv ")

#: Why the refresh of derived upstream data is not run: it reads the upstream reference folder.
UPSTREAM_REASON = "refreshes derived data from the upstream reference folder, which only a maintainer's checkout has"

#: Commands that cannot run in a test, by their first word (or path), with the reason.
SKIPPED = {
    "pulumi": "needs the Pulumi CLI and AWS credentials",
    "make": "installs .venv (CI runs `make test` itself; tests/test_bench_runs.py runs the bench)",
}


def fenced(text: str) -> list[tuple[int, str, list[str]]]:
    """Every fenced block of a Markdown text: (line of its fence, its info string, its lines)."""
    found, current = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            if current is None:
                current = (number, line[3:].strip(), [])
            else:
                found.append(current)
                current = None
        elif current is not None:
            current[2].append(line)
    return found


def blocks() -> list[tuple[str, list[str]]]:
    """Each shell block as (``file:line``, its command lines without comments or blank lines): blocks
    tagged sh/bash/shell, and untagged ones whose first line runs a command."""
    found = []
    for document in DOCUMENTS:
        for line, info, lines in fenced(document.read_text()):
            commands = [c for c in (raw.rstrip() for raw in lines) if c and not c.lstrip().startswith("#")]
            if info in ("sh", "bash", "shell") or (not info and commands and commands[0].startswith(COMMANDS)):
                found.append((f"{document.relative_to(REPO)}:{line}", commands))
    return found


def skip_reason(command: str) -> str | None:
    comment = command.partition(" #")[2]
    if "needs:" in comment:
        return comment.split("needs:", 1)[1].strip()
    words = shlex.split(command.partition(" #")[0])
    if words[0] in SKIPPED:
        return SKIPPED[words[0]]
    if words[0].endswith("tools/vendor_upstream.py") or words[-1].endswith("tools/vendor_upstream.py") or \
            any(w.endswith("vendor_upstream.py") for w in words):
        return UPSTREAM_REASON
    return None


def project_copy(root: Path) -> Path:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, root / name)
    for folder in ("stacks", "docs", "policies/config"):
        shutil.copytree(REPO / folder, root / folder)
    return root


@pytest.mark.parametrize("where, commands", blocks(), ids=[where for where, _ in blocks()])
def test_every_shell_block_of_the_documentation_runs_as_written(where, commands, tmp_path):
    project = project_copy(tmp_path)
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "NO_COLOR": "1", "COLUMNS": "200"}
    skipped, ran = [], 0
    for command in commands:
        reason = skip_reason(command)
        if reason is not None:
            skipped.append(f"{command.split()[0]}: {reason}")
            continue
        run = subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"{where}: `{command}` exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
        ran += 1
    if not ran:
        pytest.skip("; ".join(dict.fromkeys(skipped)))


def test_the_skip_rules_say_why_and_nothing_else_is_skipped():
    commands = [c for _, block in blocks() for c in block]
    said = {c.partition(" #")[2].split("needs:", 1)[1].strip() for c in commands if "needs:" in c.partition(" #")[2]}
    reasons = {skip_reason(c) for c in commands} - {None}
    assert reasons <= {*SKIPPED.values(), UPSTREAM_REASON, *said}
    assert all(reason for reason in said), "a '# needs:' comment must say what is needed"
    assert skip_reason("servestack plan --stack dev") is None
    assert skip_reason("pulumi up --stack dev") == SKIPPED["pulumi"]
    assert skip_reason("servestack rollout analyze chat --stack prod --prometheus http://x  # needs: a Prometheus") == \
        "a Prometheus"

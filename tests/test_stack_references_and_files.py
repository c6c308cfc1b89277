"""What a stack file or a ``cluster.existing`` reference cannot be, said as what it is (exit 2, one
line each): a stack on top of a serving stack, a cycle of references (a stack naming itself too), a
reference to a stack with no file, a stack file that is a symbolic link looping or pointing nowhere
or a directory (never listed among the stacks that exist), and config keys holding a double quote."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from servestack.cli import cli

KNOWN = "dev, prod, staging"


def serving(existing: str) -> str:
    return f"config:\n  aws:region: us-east-1\n  servestack:cluster:\n    existing: {existing}\n"


def plan(project: Path, stack: str):
    result = CliRunner().invoke(cli, ["plan", "--stack", stack, "--project", str(project), "--out", str(project / "out")])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def problem(stack: str, line: str) -> str:
    return f"stack {stack!r} has 1 config problem(s); nothing was created:\n  - servestack:cluster.existing: {line}\n"


@pytest.mark.parametrize("files, stack, line", [
    ({"a": serving("dev"), "b": serving("a")}, "b",
     "names stack 'a', a serving stack whose cluster belongs to 'dev': reference the platform stack that owns the "
     'cluster (got "a")'),
    ({"a": serving("organization/servestack/dev"), "b": serving("organization/a")}, "b",
     "names stack 'a', a serving stack whose cluster belongs to 'organization/servestack/dev': reference the platform "
     'stack that owns the cluster (got "organization/a")'),
    ({"a": serving("a")}, "a",
     'forms a cycle of stack references (a -> a); reference the platform stack that owns the cluster (got "a")'),
    ({"a": serving("organization/servestack/a")}, "a",
     "forms a cycle of stack references (a -> a); reference the platform stack that owns the cluster "
     '(got "organization/servestack/a")'),
    ({"a": serving("b"), "b": serving("a")}, "a",
     "names stack 'b', a serving stack whose cluster belongs to 'a': reference the platform stack that owns the "
     'cluster (got "b")'),
    ({"a": serving("gone")}, "a",
     f'names stack \'gone\', but no stack file stacks/Pulumi.gone.yaml (stacks here: a, {KNOWN}) (got "gone")'),
])
def test_a_reference_that_names_no_platform_stack_is_one_config_problem(project_dir, files, stack, line):
    for name, text in files.items():
        (project_dir / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    assert plan(project_dir, stack) == (2, problem(stack, line))
    assert not (project_dir / "out").exists()


def _loop(stacks: Path) -> None:
    os.symlink("Pulumi.x.yaml", stacks / "Pulumi.x.yaml")


def _dangling(stacks: Path) -> None:
    os.symlink("nowhere/Pulumi.x.yaml", stacks / "Pulumi.x.yaml")


def _directory(stacks: Path) -> None:
    (stacks / "Pulumi.x.yaml").mkdir()


def _fifo(stacks: Path) -> None:
    os.mkfifo(stacks / "Pulumi.x.yaml")


@pytest.mark.parametrize("make, reason", [
    (_loop, "stack file stacks/Pulumi.x.yaml is a symbolic link that loops"),
    (_dangling, "stack file stacks/Pulumi.x.yaml is a symbolic link to nowhere/Pulumi.x.yaml, which does not exist"),
    (_directory, "stack file stacks/Pulumi.x.yaml is a directory, not a file"),
    (_fifo, "stack file stacks/Pulumi.x.yaml is not a regular file"),
])
def test_a_stack_file_that_is_not_a_file_is_said_so_and_not_listed_as_a_stack(project_dir, make, reason):
    make(project_dir / "stacks")
    expected = f"error: {reason} (stacks here: {KNOWN})\n"
    assert plan(project_dir, "x") == (2, expected)
    for args in (["rollout", "advance", "iris", "--stack", "x"], ["check", "--stack", "x"], ["cost", "--stack", "x"]):
        result = CliRunner().invoke(cli, [*args, "--project", str(project_dir)])
        assert (result.exit_code, result.output) == (2, expected), args
    (project_dir / "stacks" / "Pulumi.s.yaml").write_text(serving("x"))
    assert plan(project_dir, "s") == (2, problem("s", f'names stack \'x\', but {reason} (stacks here: dev, prod, s, staging) (got "x")'))


@pytest.mark.parametrize("key, secret", [
    ('servestack:ti"er', False), ('servestack:ti"er', True), ('"servestack:tier', True), ('aws:re"gion', True),
    ('servestack:a"b"c', True),
])
def test_a_config_key_with_a_double_quote_is_a_config_problem_not_a_crash(project_dir, key, secret):
    value = "{secure: v1:AAAA}" if secret else "dev"
    escaped = key.replace('"', '\\"')
    (project_dir / "stacks" / "Pulumi.q.yaml").write_text(f'config:\n  aws:region: us-east-1\n  "{escaped}": {value}\n')
    code, output = plan(project_dir, "q")
    lines = output.splitlines()
    assert code == 2, output
    assert lines[0].startswith("stack 'q' has ") and all(line.startswith("  - ") for line in lines[1:])
    if key.startswith("servestack:"):  # keys of other namespaces are not the program's (Pulumi passes them on)
        assert any(line.startswith(f"  - {json_key(key)}: ") for line in lines[1:]), output
    assert "JSONDecodeError" not in output


def json_key(key: str) -> str:
    import json
    return json.dumps(key)

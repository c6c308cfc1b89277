"""Fuzz: 2,000 generated stack files and every command's wrong inputs end in a result or in one
clear refusal: never a traceback, never a hang (each case runs under an alarm).

The stack files are the repository's three, mutated by a seeded generator (the same cases on
every run): unquoted dates and timestamps, binary, sets, anchors and aliases (recursive ones, alias
bombs), deep nesting, huge numbers, duplicate keys, control characters, bytes that are not UTF-8,
wrong types, truncation. Each goes through the reader every command uses and the config
validation the program runs; a bounded sample is planned in full through the CLI.
"""

from __future__ import annotations

import json
import random
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from components.config import ConfigError
from components.config.stack import NAMESPACE, REGION_KEY, decode_value, parse_stack_config
from harness import REPO, REPOSITORY_STACKS
from servestack.cli import cli
from servestack.plan import load_project
from servestack.plan.project import ProjectError

CASES = 2000
SEED = 16
PLANNED = 4
"""How many of the cases that read cleanly are planned in full (a plan takes a second or two)."""

ORIGINALS = {name: (REPO / "stacks" / f"Pulumi.{name}.yaml").read_text() for name in REPOSITORY_STACKS}

VALUES = [
    "2026-05-01", "2001-12-14t21:59:43.10-05:00", "2026-05-01 10:00:00", "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]",
    "!!timestamp 2026-05-01", "!!python/name:os.system", "!!python/tuple [1]", ".inf", "-.inf", ".nan", "1e999", "9" * 5000,
    "0x1F", "0o17", "1_000", "yes", "off", "~", "null", "''", '"\\x1b[2J\\u2028\\n  - forged: line"', '"\\t\\r\\0"',
    "[", "{", "]", "*undefined", "&anchor 3", "[1, [2, [3]]]", "{a: {b: {c: d}}}", "-1", "3.5", "true", "[]", "{}",
    "\"\u00b2\"", "\u00b2", "10_0", "'a\\nb'", "|\n  multi\n  line", "!!str 5", "!!int '7'", "!!float x", "? x",
    "- a", "@", "`", "%TAG", "!local x",
]


def _deep(rng: random.Random) -> str:
    depth = rng.choice([50, 101, 150, 1000, 20000])
    return "[" * depth + "]" * depth if rng.random() < 0.5 else "{a: " * depth + "1" + "}" * depth


def _bomb(rng: random.Random) -> str:
    levels = rng.randint(3, 9)
    lines = ["  fuzz0: &f0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  fuzz{i}: &f{i} [{', '.join([f'*f{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def mutate(rng: random.Random, text: str) -> bytes:
    """One generated stack file: ``text`` with one to four mutations."""
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(10)
        index = rng.randrange(len(lines))
        line = lines[index]
        if kind <= 3 and ": " in line and not line.lstrip().startswith("#"):
            key, _, _ = line.partition(": ")
            lines[index] = f"{key}: {rng.choice(VALUES)}\n"
        elif kind == 4 and ":" in line:
            lines.insert(rng.randrange(index, len(lines) + 1), line if line.endswith("\n") else line + "\n")  # a key twice
        elif kind == 5:
            lines.append(f"  servestack:{rng.choice(['tags', 'extra', 'endpoints'])}: {_deep(rng)}\n")
        elif kind == 6:
            lines.append(_bomb(rng))
        elif kind == 7:
            lines.append(f"  servestack:x: &r{index} [1, {{a: *r{index}}}]\n" if rng.random() < 0.5 else f"  servestack:y: *r{index}\n")
        elif kind == 8:
            cut = rng.randrange(len(line) + 1)
            lines[index] = line[:cut] + rng.choice(["\t", "\x00", "\x1b", "\u2028", "\r", "'", '"', "&", "*", "!", "|", ">", "\ufeff"]) + line[cut:]
        else:
            lines = lines[: rng.randrange(1, len(lines) + 1)]
    data = "".join(lines).encode()
    if rng.random() < 0.03:
        cut = rng.randrange(len(data) + 1)
        data = data[:cut] + bytes(rng.randrange(256) for _ in range(3)) + data[cut:]
    return data


def generated() -> list[bytes]:
    rng = random.Random(SEED)
    return [mutate(rng, ORIGINALS[rng.choice(sorted(ORIGINALS))]) for _ in range(CASES)]


class Hang(Exception):
    pass


@contextmanager
def deadline(seconds: float):
    """Raise :class:`Hang` in the test when the case takes longer than ``seconds``."""
    def expired(signum, frame):
        raise Hang(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def validate(project, stack: str) -> str:
    """What reading and validating the stack ends in: ``ok``, or the refusal's first line."""
    try:
        stack_file = project.read_stack(stack)
    except ProjectError as error:
        assert "\n" not in str(error), str(error)
        return "refused"
    raw = {k: decode_value(v) for k, v in stack_file.config.items() if k.startswith(f"{NAMESPACE}:") or k == REGION_KEY}
    try:
        parse_stack_config(stack, raw, stack_file.secret_keys)
    except ConfigError as error:
        lines = str(error).splitlines()
        assert lines[0] == f"stack {stack!r} has {len(lines) - 1} config problem(s); nothing was created:", lines
        return "invalid"
    return "ok"


def test_2000_generated_stack_files_are_read_or_refused_without_a_traceback_or_a_hang(project_dir):
    project = load_project(project_dir)
    path = project.stack_path("fuzz")
    outcomes: dict[str, int] = {}
    failures = []
    readable = []
    path.write_text(ORIGINALS["dev"])
    assert validate(project, "fuzz") == "ok"  # warm up: the first validation loads botocore's regions and builds validators
    for number, data in enumerate(generated()):
        path.write_bytes(data)
        try:
            with deadline(5.0):
                outcome = validate(project, "fuzz")
        except Exception as error:  # noqa: BLE001 - a traceback is what this test looks for
            failures.append(f"case {number}: {type(error).__name__}: {str(error)[:200]}")
            continue
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome != "refused" and len(readable) < PLANNED and number % 7 == 0:
            readable.append(data)
    assert failures == [], f"{len(failures)} of {CASES} cases crashed or hung:\n" + "\n".join(failures[:20])
    assert sum(outcomes.values()) == CASES
    assert all(outcomes.get(k, 0) > 100 for k in ("refused", "invalid")), outcomes

    for data in readable:  # the bounded sample: planned in full, in-process, through the CLI
        path.write_bytes(data)
        with deadline(30.0):
            result = CliRunner().invoke(cli, ["plan", "--stack", "fuzz", "--project", str(project_dir),
                                              "--out", str(project_dir / "out")])
        assert result.exception is None or isinstance(result.exception, SystemExit), (data, result.exception)
        assert result.exit_code in (0, 2), result.output


# --------------------------------------------------------------------------- every command's wrong inputs


def _wrong_files(root: Path) -> dict[str, Path]:
    """Files and directories that are not what a command expects."""
    files = {
        "empty": b"", "binary": bytes(range(256)), "not-utf8": b"config:\n  a: \xff\xfe\n", "huge": b"#" * (17 * 1024 * 1024),
        "text": b"hello\n", "null": b"null", "list": b"[]", "number": b"5", "terraform": json.dumps({"terraform_version": "1.9"}).encode(),
        "cloudformation": json.dumps({"AWSTemplateFormatVersion": "2010-09-09"}).encode(),
        "kubectl": json.dumps({"apiVersion": "v1", "kind": "List", "items": []}).encode(),
        "package": json.dumps({"name": "x", "version": "1.0.0"}).encode(), "infinity": b'{"steps": [], "config": {"a": Infinity}}',
        "deep": b'{"steps": ' + b"[" * 100000 + b"]" * 100000 + b"}", "bigint": b'{"steps": [], "x": ' + b"9" * 5000 + b"}",
        "steps-not-list": b'{"steps": 5}', "step-not-object": b'{"steps": [5]}', "yaml-bomb": _bomb(random.Random(1)).replace("  ", "").encode(),
        "config-not-mapping": b"config: 5\n", "no-config": b"name: x\n", "dup": b"config:\n  aws:region: a\n  aws:region: b\n",
    }
    root.mkdir()
    paths = {}
    for name, data in files.items():
        paths[name] = root / name
        paths[name].write_bytes(data)
    paths["directory"] = root / "a-directory"
    paths["directory"].mkdir()
    (root / "plan-with-dir").mkdir()
    (root / "plan-with-dir" / "preview.json").mkdir()
    paths["plan-dir-preview-is-dir"] = root / "plan-with-dir"
    return paths


def test_every_command_refuses_wrong_files_with_exit_2_and_no_traceback(project_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing here may reach AWS
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    runner = CliRunner()
    wrong = _wrong_files(tmp_path / "wrong")
    stack_path = project_dir / "stacks" / "Pulumi.wrong.yaml"
    failures = []
    cases = 0
    for name, path in sorted(wrong.items()):
        plan_args = [["check", str(path)], ["cost", str(path)], ["diff", str(path), str(path)], ["diff", str(path)],
                     ["preflight", "--plan", str(path)]]
        for args in plan_args:
            cases += 1
            with deadline(20.0):
                result = runner.invoke(cli, args)
            if (result.exception is not None and not isinstance(result.exception, SystemExit)) or result.exit_code != 2:
                failures.append(f"{' '.join(args)}: exit {result.exit_code} {result.exception!r} {result.output[-200:]!r}")
        # the same bytes as a stack file, read by every command that reads one
        if stack_path.is_dir():
            stack_path.rmdir()
        elif stack_path.exists():
            stack_path.unlink()
        if path.is_dir():
            stack_path.mkdir()
        else:
            stack_path.write_bytes(path.read_bytes())
        before = b"" if path.is_dir() else stack_path.read_bytes()
        project = ["--project", str(project_dir)]
        for args in (["plan", "--stack", "wrong", "--out", str(tmp_path / "out")], ["check", "--stack", "wrong"], ["cost", "--stack", "wrong"],
                     ["preflight", "--stack", "wrong"], ["rollout", "status", "--stack", "wrong"], ["rollout", "advance", "iris", "--stack", "wrong"],
                     ["rollout", "start", "iris", "--stack", "wrong", "--model-version", "2", "--storage-uri", "s3://bucket-a/models/iris/2"]):
            cases += 1
            with deadline(20.0):
                result = runner.invoke(cli, [*args, *project])
            if (result.exception is not None and not isinstance(result.exception, SystemExit)) or result.exit_code != 2:
                failures.append(f"{name} as a stack file, {' '.join(args)}: exit {result.exit_code} {result.exception!r} {result.output[-200:]!r}")
            if not path.is_dir():
                assert stack_path.read_bytes() == before, f"{' '.join(args)} changed a file it refused"
    assert failures == [], f"{len(failures)} of {cases} cases:\n" + "\n".join(failures)
    assert cases == len(wrong) * 12


@pytest.mark.parametrize("seed", [1, 2])
def test_the_generator_is_deterministic(seed):
    assert mutate(random.Random(seed), ORIGINALS["dev"]) == mutate(random.Random(seed), ORIGINALS["dev"])

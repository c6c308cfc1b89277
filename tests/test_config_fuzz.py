"""Property: whatever a stack file holds, `servestack plan` ends in a plan or in exit 2 with
one message per problem, each naming its config path: never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import REPO, REPOSITORY_STACKS, stack_config
from servestack.cli import cli

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-5, max_value=2000), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "dev", "prod", "10.0.0.0/16", "g5.xlarge", "f1.2xlarge", "inf2.xlarge", "m7g.large", "perAz", "us-east-1"]),
    st.text(max_size=12),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)


def paths(node, prefix=()):
    """Every path into a config tree (mapping keys and list indexes)."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


@st.composite
def mutated_configs(draw):
    config = stack_config(draw(st.sampled_from(REPOSITORY_STACKS)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        candidates = [p for p in paths(config) if p]
        path = draw(st.sampled_from(candidates))
        parent = config
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["servestack:extra", "unknownKey", "minSize", "maxSize", "instanceTypes"]))] = draw(values)
    return config


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_any_stack_file_plans_or_exits_2_with_one_message_per_field(config):
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text() + f"main: {REPO}\n")
        (project / "stacks").mkdir()
        (project / "stacks" / "Pulumi.fuzz.yaml").write_text(yaml.safe_dump({"config": config}))
        result = CliRunner().invoke(cli, ["plan", "--stack", "fuzz", "--project", str(project)])
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 0:
            assert (project / "build" / "plan" / "fuzz" / "preview.json").is_file()
        else:
            lines = result.output.rstrip("\n").split("\n")
            assert lines[0].startswith("stack 'fuzz' has ") or lines[0].startswith("error: stacks/Pulumi.fuzz.yaml")
            for line in lines[1:]:
                assert line.startswith(("  - servestack:", "  - aws:")), line

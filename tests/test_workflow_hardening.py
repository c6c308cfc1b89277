"""The PR workflow is valid against GitHub's workflow schema and hardened: tests run, no script
injection from file names, timeouts, actions pinned by commit SHA on node24, unsafe diffs fail it."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import jsonschema
import pytest
import yaml

from harness import REPO

WORKFLOW = REPO / ".github" / "workflows" / "pr-review.yml"
SCHEMA = REPO / "tests" / "data" / "schemas" / "github-workflow.json"
SCHEMA_SHA256 = "d10c9f4656e1bd5bc6727e9b35080e017dc167154726fca93da33c7a6bd1c4f3"

#: Checked against each action's repository: the commit its tag points at, and its action.yml `runs.using`.
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0"),
}


def workflow() -> dict:
    document = yaml.safe_load(WORKFLOW.read_text())
    document["on"] = document.pop(True)  # YAML 1.1 reads the key `on` as True; GitHub reads "on"
    return document


def test_the_vendored_schema_is_the_one_its_provenance_names():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert SCHEMA_SHA256 in (SCHEMA.parent / "README.md").read_text()


def test_the_workflow_is_valid_against_githubs_workflow_schema():
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [error.message for error in validator.iter_errors(workflow())] == []


def test_the_schema_does_catch_a_broken_workflow():
    broken = workflow()
    broken["jobs"]["review"]["steps"][0]["run"] = "echo both uses and run"
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors(broken))


def test_a_job_runs_the_test_suite():
    jobs = workflow()["jobs"]
    assert [s["run"] for s in jobs["test"]["steps"] if "run" in s] == ["make test"]


def test_every_job_has_a_timeout():
    assert {name: job.get("timeout-minutes") for name, job in workflow()["jobs"].items()} == {"test": 45, "review": 45}


def test_no_step_output_or_event_field_is_expanded_inside_a_script():
    """`${{ }}` in a run script is pasted into the shell before it runs: only env: may carry such values."""
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step.get("name")
            assert "${{" not in step.get("with", {}).get("script", ""), step.get("name")
    review = next(s for s in workflow()["jobs"]["review"]["steps"] if s.get("id") == "review")
    assert review["env"] == {"STACKS": "${{ steps.stacks.outputs.stacks }}"}
    assert 'for stack in $STACKS; do' in review["run"]


def test_every_action_is_pinned_by_full_commit_sha_with_its_tag_in_a_comment():
    lines = [line.strip() for line in WORKFLOW.read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        match = re.fullmatch(r"(- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)", line)
        assert match, line
        assert PINS[match[2]] == (match[3], match[4]), line


def test_the_pins_are_current_node24_majors():
    majors = {action: int(tag[1:].split(".")[0]) for action, (_, tag) in PINS.items()}
    # node24 from checkout v5, setup-python v6, cache v5 (v4.3 also), github-script v8: none older.
    assert majors["actions/checkout"] >= 5 and majors["actions/setup-python"] >= 6
    assert majors["actions/cache"] >= 5 and majors["actions/github-script"] >= 8


def test_an_unsafe_diff_fails_the_job_after_the_comment_is_posted():
    steps = workflow()["jobs"]["review"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    script = next(s for s in steps if s.get("id") == "review")["run"]
    assert ('.venv/bin/servestack diff "$base_plan" "$head_plan" --format markdown >> "$body" || diff_status=$?\n'
            '  if [ "$diff_status" -ne 0 ]; then failed=1; fi') in script
    assert names.index("Post the review as a PR comment") < names.index(
        "Fail on unsafe transitions, mandatory policy violations or plan errors")


def test_dependent_serving_stacks_are_reviewed_too():
    script = next(s for s in workflow()["jobs"]["review"]["steps"] if s.get("id") == "stacks")["run"]
    assert ".venv/bin/servestack dependents $stacks" in script


def _script(step_id: str) -> str:
    return next(s for s in workflow()["jobs"]["review"]["steps"] if s.get("id") == step_id)["run"]


@pytest.mark.parametrize("name", ["a;touch${IFS}pwned", "$(touch pwned)", "x`touch pwned`"])
def test_a_hostile_stack_file_name_never_reaches_a_shell_as_code(tmp_path, name):
    """The names filter of the 'stacks' step drops what is not a plain stack name."""
    filtered = subprocess.run(["bash", "-c", 'stacks="$1 prod"; echo $stacks | tr " " "\\n" | grep -E "^[A-Za-z0-9_.-]+$" || true',
                               "_", name], capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert filtered == "prod\n" and not (tmp_path / "pwned").exists()
    assert """grep -E '^[A-Za-z0-9_.-]+$'""" in _script("stacks")

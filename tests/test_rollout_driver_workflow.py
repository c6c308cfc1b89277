"""The rollout driver's workflow: valid against GitHub's workflow schema, hardened like pr-review.yml
(actions pinned by commit SHA, timeouts, no expression expanded inside a script), one run per endpoint
at a time, least privilege, credentials only through OIDC."""

from __future__ import annotations

import json
import re

import jsonschema
import yaml

from harness import REPO
from test_workflow_hardening import PINS, SCHEMA

WORKFLOW = REPO / ".github" / "workflows" / "rollout-driver.yml"


def workflow() -> dict:
    document = yaml.safe_load(WORKFLOW.read_text())
    document["on"] = document.pop(True)
    return document


def test_valid_against_githubs_workflow_schema():
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [error.message for error in validator.iter_errors(workflow())] == []


def test_runs_on_a_schedule_and_on_demand():
    assert set(workflow()["on"]) == {"schedule", "workflow_dispatch"}


def test_every_action_is_pinned_by_full_commit_sha_with_its_tag():
    lines = [line.strip() for line in WORKFLOW.read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        match = re.fullmatch(r"(- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)", line)
        assert match and PINS[match[2]] == (match[3], match[4]), line


def test_timeouts_and_no_expression_inside_a_script():
    jobs = workflow()["jobs"]
    assert {name: job["timeout-minutes"] for name, job in jobs.items()} == {"list": 20, "drive": 20}
    for job in jobs.values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step.get("name")


def test_one_run_per_endpoint_at_a_time():
    drive = workflow()["jobs"]["drive"]
    assert drive["concurrency"] == {"group": "rollout-driver-${{ matrix.target.stack }}-${{ matrix.target.endpoint }}",
                                    "cancel-in-progress": False}
    assert drive["strategy"]["matrix"] == {"target": "${{ fromJSON(needs.list.outputs.targets) }}"}


def test_least_privilege_and_oidc_credentials_only():
    document = workflow()
    assert document["permissions"] == {"contents": "read"}
    assert "permissions" not in document["jobs"]["list"]
    assert document["jobs"]["drive"]["permissions"] == {"contents": "write", "pull-requests": "write",
                                                        "id-token": "write"}
    text = WORKFLOW.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    oidc = next(s for s in document["jobs"]["drive"]["steps"] if s.get("name", "").startswith("AWS credentials"))
    assert oidc["env"] == {"ROLE_ARN": "${{ vars.ROLLOUT_DRIVER_ROLE_ARN }}"}
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" in oidc["run"]


def test_the_drive_step_names_one_endpoint_through_env_only():
    step = workflow()["jobs"]["drive"]["steps"][-1]
    assert step["env"]["STACK"] == "${{ matrix.target.stack }}"
    assert step["env"]["ENDPOINT"] == "${{ matrix.target.endpoint }}"
    assert '.venv/bin/servestack rollout drive --stack "$STACK" --endpoint "$ENDPOINT" "${source[@]}"' in step["run"]

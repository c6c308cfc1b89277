"""Shared by the preflight tests: fake AWS credentials and hand-built plan documents.

Plan documents here are small dicts in the shape of ``preview.json`` (see
servestack/plan/document.py): only the steps and config a test needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

STACK_URN = "urn:pulumi:test::servestack::pulumi:pulumi:Stack::servestack-test"
NETWORK_URN = "urn:pulumi:test::servestack::servestack:network:Network::net"

#: Never real credentials: moto accepts anything, and nothing may reach AWS from a test.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
            "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Fake credentials in the environment, no AWS config files, nothing else from the host."""
    for key in _CLEARED:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for key, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def step(type_: str, name: str, inputs: dict[str, Any], parent: str = STACK_URN,
         property_dependencies: dict[str, list[str]] | None = None, urn: str | None = None) -> dict[str, Any]:
    urn = urn or f"urn:pulumi:test::servestack::{type_}::{name}"
    return {"op": "create", "urn": urn, "newState": {
        "type": type_, "urn": urn, "custom": True, "parent": parent, "dependencies": [],
        "propertyDependencies": property_dependencies or {}, "protect": False, "retainOnDelete": False, "inputs": inputs,
    }}


def subnet(name: str, zone: str, private: bool = True) -> dict[str, Any]:
    role = "kubernetes.io/role/internal-elb" if private else "kubernetes.io/role/elb"
    return step("aws:ec2/subnet:Subnet", name, {"availabilityZone": zone, "tags": {role: "1", "Name": name}},
                parent=NETWORK_URN, urn=f"urn:pulumi:test::servestack::servestack:network:Network$aws:ec2/subnet:Subnet::{name}")


def document(config: dict[str, Any] | None = None, *steps: dict[str, Any]) -> dict[str, Any]:
    stack = {"op": "create", "urn": STACK_URN, "newState": {"type": "pulumi:pulumi:Stack", "urn": STACK_URN, "custom": False,
                                                             "parent": "", "inputs": {}}}
    network = step("servestack:network:Network", "net", {}, urn=NETWORK_URN)
    all_steps = [stack, network, *steps]
    return {"config": {"aws:region": "us-east-1", **(config or {})}, "steps": all_steps,
            "changeSummary": {"create": len(all_steps)}, "outputs": {}}


def write_plan(directory: Path, plan: dict[str, Any]) -> Path:
    path = directory / "preview.json"
    path.write_text(json.dumps(plan, indent=2))
    return path


def publish_eks_ami(parameter: str, image_id: str, region: str = "us-east-1", account: str = "123456789012") -> None:
    """Publish one public EKS AMI parameter in moto's SSM, as AWS publishes it (moto loads some public
    ``/aws/service`` parameters from its own data this way and refuses PutParameter under ``/aws``)."""
    from moto.ssm.models import Parameter, ssm_backends

    ssm_backends[account][region]._parameters[parameter].append(Parameter(
        account_id=account, name=parameter, value=image_id, parameter_type="String", description=None,
        allowed_pattern=None, keyid=None, last_modified_date=None, version=1, data_type="aws:ec2:image"))

"""Karpenter's reference controller IAM policy, reduced to what a conformance check compares:
per managed policy of the getting-started CloudFormation, each statement's Sid and actions.

Called by tools/vendor_upstream.py (one derivation among the others, same provenance block).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from upstream_common import RUNTIME_DATA, TEST_DATA, Source, provenance

KARPENTER_REPO = "https://github.com/aws/karpenter-provider-aws"
CLOUDFORMATION = "website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (``!Sub``, ``!GetAtt``...) as their plain values."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_CloudFormationLoader.add_multi_constructor("!", _tagged)


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action") or []
    return sorted([action] if isinstance(action, str) else action)


def derive_karpenter_controller_policy(upstream: Path, version: str = "v1.14.1") -> tuple[Path, dict[str, Any]]:
    path = upstream / "karpenter" / version / "docs" / "getting-started-cloudformation.yaml"
    template = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    policies, unscoped = {}, {}
    for name, resource in sorted(template["Resources"].items()):
        if resource.get("Type") != "AWS::IAM::ManagedPolicy":
            continue
        document = resource["Properties"]["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        policies[name] = {statement["Sid"]: _actions(statement) for statement in document["Statement"]}
        unscoped[name] = sorted(s["Sid"] for s in document["Statement"] if s.get("Resource") == "*")
    data = {
        "provenance": provenance(Source(KARPENTER_REPO, version, f"karpenter/{version}"), [CLOUDFORMATION],
                                 rule="each AWS::IAM::ManagedPolicy of the template: statement Sid -> its actions, "
                                      "sorted; unscoped: the Sids whose Resource is *"),
        "policies": policies,
        "unscoped": unscoped,
    }
    # Package data: the policy pack's karpenter-controller-policy-reference rule compares plans with it.
    return RUNTIME_DATA / f"karpenter-{version}-controller-policy.json", data


def derive_karpenter_defaults(upstream: Path) -> tuple[Path, dict[str, Any]]:
    """Karpenter's chart default ``settings.vmMemoryOverheadPercent``: the share of an instance type's memory
    Karpenter assumes the VM keeps (plandoc's capacity model subtracts it from every node's memory)."""
    source = Source(KARPENTER_REPO, "v1.14.1", "karpenter/v1.14.1")
    values = yaml.safe_load((upstream / source.folder / "charts/karpenter/values.yaml").read_text())
    data = {"provenance": provenance(source, ["charts/karpenter/values.yaml"]),
            "settings": {"vmMemoryOverheadPercent": values["settings"]["vmMemoryOverheadPercent"]}}
    return RUNTIME_DATA / "karpenter-defaults-v1.14.1.json", data

"""The rules as CrossGuard runs them: through pulumi_policy's validation args, and the pack's files."""

from __future__ import annotations

from pathlib import Path

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.rules import RULES_BY_NAME
from policies.rules.crossguard import policies, policy_for
from review_stack import cluster, good_stack, isvc, launch_template, nvidia_plugin, replace

REPO = Path(__file__).resolve().parent.parent
PROD = {"servestack:tier": "prod"}


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], False, [], None, [], None)


def _resource_args(resource, config=None) -> ResourceValidationArgs:
    return ResourceValidationArgs(resource["type"], resource["inputs"], resource["urn"],
                                  resource["urn"].rsplit("::", 1)[1], _opts(), None, config)


def _stack_args(resources, config=None) -> StackValidationArgs:
    return StackValidationArgs([PolicyResource(r["type"], r["inputs"], r["urn"], r["urn"].rsplit("::", 1)[1], _opts(),
                                               None, None, [], {}) for r in resources], config)


def test_every_rule_becomes_a_policy_of_the_right_kind_level_and_schema():
    built = {p.name: p for p in policies()}
    assert list(built) == list(RULES_BY_NAME)
    assert isinstance(built["eks-secrets-encryption"], ResourceValidationPolicy)
    assert isinstance(built["accelerator-capacity-fits"], StackValidationPolicy)
    assert built["node-group-no-ssh"].enforcement_level is EnforcementLevel.MANDATORY
    assert built["hourly-cost-cap"].config_schema.properties == {
        "maxHourlyCost": {"type": "number", "minimum": 0, "default": 100,
                          "description": "Most estimated USD per hour at max size."}}
    assert built["prod-payload-logging"].config_schema.properties["tier"]["enum"] == ["auto", "dev", "staging", "prod"]


def test_resource_policy_reports_through_report_violation():
    policy = policy_for(RULES_BY_NAME["eks-endpoint-private"], PROD, "prod")
    reported = []
    bad = cluster(vpcConfig={"endpointPublicAccess": False})
    policy.validate(_resource_args(bad), lambda message, urn=None: reported.append((message, urn)))
    assert reported == []
    bad = cluster(vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["10.0.0.0/8"]})
    policy.validate(_resource_args(bad), lambda message, urn=None: reported.append((message, urn)))
    assert reported == [("vpcConfig.endpointPublicAccess is true (or unset, which EKS treats as true) on a prod cluster; "
                         "allowed: false with endpointPrivateAccess true, because a prod API server must not be reachable "
                         "from the internet", None)]
    # The policy config (--policy-pack-config) overrides the tier.
    reported.clear()
    policy.validate(_resource_args(bad, {"tier": "dev"}), lambda message, urn=None: reported.append((message, urn)))
    assert reported == []


def test_resource_policy_ignores_other_types():
    policy = policy_for(RULES_BY_NAME["eks-secrets-encryption"], PROD, "prod")
    reported = []
    policy.validate(_resource_args(nvidia_plugin()), lambda message, urn=None: reported.append(message))
    assert reported == []


def test_stack_policy_reports_the_offending_resource_urn():
    policy = policy_for(RULES_BY_NAME["device-plugin-tolerates-pool-taints"], PROD, "prod")
    stack = replace(good_stack(), nvidia_plugin([]))
    reported = []
    policy.validate(_stack_args(stack), lambda message, urn=None: reported.append(urn))
    assert reported == ["urn:pulumi:prod::servestack::kubernetes:helm.sh/v3:Release::nvidia-device-plugin"]


def test_stack_policy_settings_come_from_the_policy_config():
    policy = policy_for(RULES_BY_NAME["accelerator-capacity-fits"], PROD, "prod")
    stack = replace(good_stack(), isvc(max_replicas=3, canary=10, candidate="1.1.0"))
    reported = []
    policy.validate(_stack_args(stack, {"countCanaryReplicas": False}), lambda message, urn=None: reported.append(urn))
    assert reported == []
    policy.validate(_stack_args(stack), lambda message, urn=None: reported.append(urn))
    assert reported == ["urn:pulumi:prod::servestack::aws:eks/nodeGroup:NodeGroup::servestack-gpu"]


def test_pack_files_are_what_pulumi_expects():
    manifest = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())
    # The project's .venv, synced from uv.lock (which pins pulumi-policy); tests/test_lock.py checks the lock side.
    assert manifest["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": "../.venv"}}
    assert "-r ../requirements/locked.txt" in (REPO / "policies" / "requirements.txt").read_text().splitlines()
    main = (REPO / "policies" / "__main__.py").read_text()
    # __main__ only assembles the pack: the rules live in the importable package.
    assert "PolicyPack(" in main and "def " not in main


def test_values_unknown_during_preview_do_not_skip_the_policy():
    """CrossGuard's props raise on reading an unknown value; the rules read around them."""
    from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

    bad = cluster(vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"],
                             "subnetIds": UNKNOWN_ARRAY_VALUE}, roleArn=UNKNOWN_STRING_VALUE)
    args = ResourceValidationArgs(bad["type"], unknown_checking_proxy(bad["inputs"]), bad["urn"], "servestack-cluster",
                                  _opts(), None, None)
    reported = []
    policy_for(RULES_BY_NAME["eks-endpoint-private"], {"servestack:tier": "dev"}, "dev").validate(
        args, lambda message, urn=None: reported.append(message))
    assert reported == ["vpcConfig.publicAccessCidrs contains 0.0.0.0/0; allowed: specific ranges, never the whole "
                        "internet, because the API server would accept connections from anyone"]
    # An unknown httpTokens is not a violation, and does not keep the policy from judging the hop limit.
    unknown_tokens = launch_template(metadataOptions={"httpTokens": UNKNOWN_STRING_VALUE, "httpPutResponseHopLimit": 3})
    args = ResourceValidationArgs(unknown_tokens["type"], unknown_checking_proxy(unknown_tokens["inputs"]),
                                  unknown_tokens["urn"], "servestack-gpu", _opts(), None, None)
    reported.clear()
    policy_for(RULES_BY_NAME["launch-template-imdsv2"], PROD, "prod").validate(
        args, lambda message, urn=None: reported.append(message))
    assert reported == ["metadataOptions.httpPutResponseHopLimit is 3; allowed: at most 1, so that pods (one hop "
                        "further than the node) cannot reach the node role's credentials"]

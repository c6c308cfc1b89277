"""Typed stack config: every problem is reported at once, with its path, value and what is allowed."""

from __future__ import annotations

import pytest

from components.config import ConfigError, parse_stack_config
from harness import plan_config, stack_config

VALID = {
    "aws:region": "us-east-1",
    "servestack:nodePools": {"system": {"instanceTypes": ["m7i.large"], "minSize": 2}},
}


def problems_of(raw: dict, secret_keys: frozenset[str] = frozenset()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config("dev", raw, secret_keys)
    return [p.render() for p in caught.value.problems]


def test_a_valid_config_parses_with_documented_defaults():
    config = parse_stack_config("dev", VALID)
    assert config.tier == "dev"
    assert config.network.availability_zones == 2
    assert config.network.nat_gateways == "single"
    assert config.node_pools["system"].desired_size is None
    assert config.platform.kserve.deployment_mode == "Knative"


def test_every_problem_in_every_section_is_reported_together():
    raw = {
        "aws:region": "us-east-9",
        "servestack:tier": "production",
        "servestack:colour": "blue",
        "servestack:network": {"vpcCidr": "10.0.0.0/8", "availabilityZones": 1, "natGateway": "x"},
        "servestack:nodePools": {
            "gpu": {"instanceTypes": ["g5.xlarge", "inf2.xlarge", "f1.2xlarge"], "minSize": 5, "maxSize": 2},
            "Bad_Name": {"instanceTypes": ["m7i.large"]},
            "cpu": {"instanceTypes": ["m7i.large"], "minSize": "many"},
        },
    }
    assert problems_of(raw) == [
        'aws:region: is not an AWS region where EKS runs (got "us-east-9")',
        "servestack:colour: is not a known setting; known: servestack:cluster, servestack:endpoints, servestack:llmEndpoints, servestack:llmPresets, servestack:network, "
        "servestack:nodePools, servestack:platform, servestack:servingRuntimes, servestack:tags, servestack:tier",
        "servestack:network.availabilityZones: must be >= 2 (got 1)",
        "servestack:network.natGateway: is not a known setting; allowed here: vpcCidr, availabilityZones, "
        'natGateways, existing (got "x")',
        "servestack:network.vpcCidr: must be a /16 to /20 network (room for public and private subnets in up "
        'to 6 zones) (got "10.0.0.0/8")',
        "servestack:nodePools.Bad_Name: a pool name must start with a lowercase letter and hold only lowercase "
        "letters, digits and '-', at most 31 characters",
        'servestack:nodePools.cpu.minSize: must be a whole number (got "many")',
        "servestack:nodePools.gpu.instanceTypes: mixes accelerator kinds (neuron, nvidia); one pool holds one "
        'kind, so declare a pool per kind (got ["g5.xlarge", "inf2.xlarge", "f1.2xlarge"])',
        "servestack:nodePools.gpu.instanceTypes[2]: EC2 F1 instances were retired on 2025-12-20; use F2 "
        '(f2.6xlarge, f2.12xlarge or f2.48xlarge) (got "f1.2xlarge")',
        'servestack:tier: must be one of dev, staging or prod (got "production")',
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"aws:region": None}, "aws:region: is required: the AWS region of the stack (pulumi config set aws:region us-east-1)"),
        ({"servestack:nodePools": None}, "servestack:nodePools: needs a managed CPU pool (provisioner managed, instance types without accelerators) with minSize >= 1: cluster add-ons such as CoreDNS tolerate no accelerator taint, and the Karpenter controller must not run on nodes it manages (got [])"),
        ({"servestack:nodePools": {"gpu": {"provisioner": "managed", "instanceTypes": ["g6.xlarge"], "minSize": 1}}},
         'servestack:nodePools: needs a managed CPU pool (provisioner managed, instance types without accelerators) with minSize >= 1: cluster add-ons such as CoreDNS tolerate no accelerator taint, and the Karpenter controller must not run on nodes it manages (got ["gpu"])'),
        ({"servestack:nodePools": {"cpu": {"provisioner": "karpenter", "instanceTypes": ["m7i.large"]}}},
         'servestack:nodePools: needs a managed CPU pool (provisioner managed, instance types without accelerators) with minSize >= 1: cluster add-ons such as CoreDNS tolerate no accelerator taint, and the Karpenter controller must not run on nodes it manages (got ["cpu"])'),
        ({"servestack:nodePools": ["system"]}, 'servestack:nodePools: must be a mapping (got ["system"])'),
        ({"servestack:nodePools": {"a": {"instanceTypes": []}}}, "servestack:nodePools.a.instanceTypes: must hold at least 1 entry (got [])"),
        ({"servestack:nodePools": {"a": {"instanceTypes": ["m7i.large"], "maxSize": 0}}}, "servestack:nodePools.a.maxSize: must be >= 1 (got 0)"),
        ({"servestack:nodePools": {"a": {"instanceTypes": ["m7i.large"], "minSize": 1, "desiredSize": 5}}},
         "servestack:nodePools.a.desiredSize: must equal minSize (1) for a managed pool (its size is fixed) (got 5)"),
        ({"servestack:nodePools": {"a": {"instanceTypes": ["m7i.large", "m7g.large"]}}},
         'servestack:nodePools.a.instanceTypes: mixes CPU architectures (arm64, x86_64); one pool runs one AMI, so declare a pool per architecture (got ["m7i.large", "m7g.large"])'),
        ({"servestack:nodePools": {"a": {"instanceTypes": ["g5.huge"]}}},
         'servestack:nodePools.a.instanceTypes[0]: \'g5.huge\' is not an EC2 instance type; g5 sizes: g5.12xlarge, g5.16xlarge, g5.24xlarge, g5.2xlarge, g5.48xlarge, g5.4xlarge, g5.8xlarge, g5.xlarge (got "g5.huge")'),
        ({"servestack:nodePools": {"a": {"instanceTypes": ["m7i.large", "m7i.large"]}}},
         'servestack:nodePools.a.instanceTypes: must not list an instance type twice (got ["m7i.large", "m7i.large"])'),
        ({"servestack:network": {"vpcCidr": "8.8.0.0/16"}}, 'servestack:network.vpcCidr: must be a private (RFC 1918) range (got "8.8.0.0/16")'),
        ({"servestack:network": {"vpcCidr": "10.0.0.0/33"}}, 'servestack:network.vpcCidr: must be an IPv4 network in CIDR notation such as 10.0.0.0/16 (got "10.0.0.0/33")'),
        ({"servestack:network": {"natGateways": "many"}}, 'servestack:network.natGateways: must be one of single or perAz (got "many")'),
        ({"servestack:network": {"existing": {"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": ["subnet-1", "subnet-0123456789abcdef0"]}}},
         'servestack:network.existing.privateSubnetIds: must be subnet ids like subnet-0123456789abcdef0; not subnet ids: entry [0] (got ["subnet-1", "subnet-0123456789abcdef0"])'),
        ({"servestack:network": {"vpcCidr": "10.1.0.0/16", "existing": {"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}}},
         'servestack:network.vpcCidr: cannot be set together with existing (an existing network has its own range) (got "10.1.0.0/16")'),
        ({"servestack:cluster": {"supportType": "FOREVER"}}, 'servestack:cluster.supportType: must be one of STANDARD or EXTENDED (got "FOREVER")'),
        ({"servestack:platform": {"kserve": {"deploymentMode": "Serverless"}}},
         'servestack:platform.kserve.deploymentMode: must be one of Knative or Standard (got "Serverless")'),
        ({"servestack:tags": {"team": 7}}, "servestack:tags.team: must be a string (got 7)"),
    ],
)
def test_each_kind_of_mistake_names_path_value_and_what_is_allowed(change, expected):
    raw = {**VALID, **change}
    raw = {k: v for k, v in raw.items() if v is not None}
    assert problems_of(raw) == [expected]


def test_the_value_of_a_secret_key_never_appears_in_a_problem():
    raw = {**VALID, "servestack:tags": {"team": ["not", "a", "string"]}}
    assert problems_of(raw, frozenset({"servestack:tags"})) == [
        "servestack:tags: cannot hold a secret: its values end up in resource tags, names or manifests that anyone "
        "with read access sees",
        'servestack:tags.team: must be a string (got "[secret]")',
    ]


def test_an_invalid_stack_creates_nothing_and_reports_from_the_program():
    config = stack_config("dev")
    config["servestack:nodePools"]["gpu"]["minSize"] = 9
    with pytest.raises(ConfigError) as caught:
        plan_config(config)
    assert [p.render() for p in caught.value.problems] == [
        "servestack:nodePools.gpu.minSize: must be 0 for a Karpenter pool: Karpenter launches nodes only for pending pods and "
        "keeps no minimum; use provisioner managed for nodes that always run (got 9)"]
    assert str(caught.value).startswith("stack 'test' has 1 config problem(s); nothing was created:")

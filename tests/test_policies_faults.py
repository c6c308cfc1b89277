"""Issue 16: the faults the policy pack missed, each injected into a REAL plan and caught.

A fault goes in the way it would reach review: through the stack config where the config accepts
it (then servestack plans it), else by editing prod's plan document as ``pulumi preview --json``
would show a hand-edited program or console change. Every case asserts the exact findings; the
unmodified prod plan passes every rule (the stack clean checks are in test_check_command).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from harness import plan_config, repository_plan, stack_config

from components.core.cidrs import open_to_internet
from components.config import ConfigError, parse_stack_config
from plandoc.document import plan_from_document
from policies.rules import evaluate

PROD_POLICY = json.loads(open("policies/config/prod.json").read())
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def prod_document() -> dict[str, Any]:
    return copy.deepcopy(repository_plan("prod").document)


def managed_gpu_config() -> dict[str, Any]:
    """Prod's config with its GPU pool as a fixed-size managed node group (accelerator pools default to
    Karpenter, whose nodes have no node group): the faults below live on node groups."""
    config = stack_config("prod")
    config["servestack:nodePools"]["gpu"].update(provisioner="managed", minSize=8, maxSize=8)
    return config


def managed_gpu_document() -> dict[str, Any]:
    return plan_config(managed_gpu_config(), "prod").document


def step(document: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    [found] = [s for s in document["steps"] if s["newState"]["type"] == type_ and s["urn"].endswith("::" + name)]
    return found["newState"]


def findings(document: dict[str, Any], policy: dict[str, Any] | None = None) -> list[tuple[str, str, str, str]]:
    """(rule, enforcement, resource name, message) of every violation of the plan under prod's policy config."""
    plan = plan_from_document(document)
    return [(v.rule, v.enforcement, v.urn.rsplit("::", 1)[-1], v.message)
            for v in evaluate(plan.resource_list(), PROD_POLICY if policy is None else policy, plan.config, plan.stack)]


def test_the_recorded_prod_plan_is_clean():
    assert findings(prod_document()) == []


# --------------------------------------------------------------------------- 1. API open to the internet


@pytest.mark.parametrize("cidrs, shown, version, prefix", [
    (["0.0.0.0/1", "128.0.0.0/1"], "0.0.0.0/1 + 128.0.0.0/1", 4, "/1 (allowed: less than a /8"),
    (["203.0.113.0/24", "8.0.0.0/7"], "203.0.113.0/24 + 8.0.0.0/7", 4, "/7 (allowed: less than a /8"),
    (["2600::/12", "2001:db8::/32"], "2600::/12 + 2001:db8::/32", 6, "/12 (allowed: less than a /16"),
])
def test_api_open_to_the_internet_through_several_blocks(cidrs, shown, version, prefix):
    document = prod_document()
    cluster = step(document, "aws:eks/cluster:Cluster", "servestack-cluster-eks")
    cluster["inputs"]["vpcConfig"].update(endpointPublicAccess=True, publicAccessCidrs=cidrs)
    found = [f for f in findings(document, {"eks-endpoint-private": {"tier": "dev"}}) if f[0] == "eks-endpoint-private"]
    assert found == [("eks-endpoint-private", "mandatory", "servestack-cluster-eks",
                      f"vpcConfig.publicAccessCidrs {shown} admit as many public IPv{version} addresses as a {prefix} of "
                      "public addresses in all), because the API server would accept connections from a large part of the internet")]


def test_specific_public_ranges_and_private_ranges_are_not_the_internet():
    assert open_to_internet(["203.0.113.0/24", "198.51.100.0/24", "10.0.0.0/8", "52.0.0.0/9"]) == []
    assert open_to_internet(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "11.0.0.0/9"]) == []
    assert open_to_internet(["10.0.0.0/7"]) != []  # 11.0.0.0/8 is public: a whole /8
    assert open_to_internet(["11.0.0.0/9", "12.0.0.0/9"]) != []  # two halves of two /8s add up to one


def test_the_config_refuses_blocks_that_add_up_to_the_internet():
    config = stack_config("dev")
    config["servestack:cluster"]["publicAccessCidrs"] = ["0.0.0.0/1", "128.0.0.0/1"]
    with pytest.raises(ConfigError) as error:
        parse_stack_config("dev", config)
    assert str(error.value).splitlines()[1:] == [
        "  - servestack:cluster.publicAccessCidrs: must not open the API endpoint to the internet: 0.0.0.0/1 + 128.0.0.0/1 "
        "admit as many public IPv4 addresses as a /1 (allowed: less than a /8 of public addresses in all); list your own "
        'networks (got ["0.0.0.0/1", "128.0.0.0/1"])']


# --------------------------------------------------------------------------- 2-5. faults the stack config accepts


@pytest.fixture(scope="module")
def config_faults() -> list[tuple[str, str, str, str]]:
    """Prod planned with four faults its config accepts: EXTENDED support, podMetadataAccess, an external
    plain-http payload logger and an unversioned model URI."""
    config = managed_gpu_config()
    config["servestack:cluster"]["supportType"] = "EXTENDED"
    config["servestack:nodePools"]["gpu"]["podMetadataAccess"] = True
    chat = config["servestack:endpoints"]["chat"]
    chat["logger"]["url"] = "http://collector.example.com/events"
    chat["model"]["storageUri"] = "s3://acme-ml-models-prod/models/chat/weights"
    plan = plan_config(config, "prod")
    return findings(plan.document)


def test_unversioned_model_uri(config_faults):
    assert [f for f in config_faults if f[0] == "model-uri-names-version"] == [(
        "model-uri-names-version", "mandatory", "servestack-endpoint-chat-isvc",
        "spec.predictor.model.storageUri s3://acme-ml-models-prod/models/chat/weights names no version: no path segment "
        "is the endpoint's version 2.5-7b-instruct-awq or starts with a digit (or v and a digit); required: "
        "s3://<bucket>/models/<model>/<version>/, so that two versions never share a prefix and a rollback serves the "
        "bytes it served before")]


def test_extended_support_needs_an_explicit_opt_in(config_faults):
    assert [f for f in config_faults if f[0] == "eks-extended-support-opt-in"] == [(
        "eks-extended-support-opt-in", "mandatory", "servestack-cluster-eks",
        "upgradePolicy.supportType is EXTENDED; EXTENDED keeps an old Kubernetes version for 12 more months at six times "
        "the control plane's hourly price; allowed: STANDARD, or EXTENDED with this rule's setting allowExtendedSupport: "
        "true in the policy config (an explicit, reviewed opt-in)")]
    cluster = {"type": "aws:eks/cluster:Cluster", "urn": "urn:pulumi:prod::servestack::aws:eks/cluster:Cluster::c",
               "inputs": {"upgradePolicy": {"supportType": "EXTENDED"}}}
    assert [v for v in evaluate([cluster], {"eks-extended-support-opt-in": {"allowExtendedSupport": True}}, {}, "prod")
            if v.rule == "eks-extended-support-opt-in"] == []
    unset = {**cluster, "inputs": {}}
    assert [v.message.split(";")[0] for v in evaluate([unset], {}, {}, "prod") if v.rule == "eks-extended-support-opt-in"] == [
        "upgradePolicy.supportType is unset (EKS defaults to EXTENDED)"]


def test_prod_payload_logger_to_an_external_plain_http_url(config_faults):
    assert [f for f in config_faults if f[0] == "payload-logger-tls"] == [(
        "payload-logger-tls", "mandatory", "servestack-endpoint-chat-isvc",
        "spec.predictor.logger.url http://collector.example.com/events sends every request and response in clear text "
        "to collector.example.com, outside the cluster; allowed in prod: https://, or http:// to a service in the cluster "
        "(*.svc, *.svc.cluster.local)")]


def test_pod_metadata_access_needs_a_reviewed_setting(config_faults):
    assert [f for f in config_faults if f[0] == "launch-template-imdsv2"] == [(
        "launch-template-imdsv2", "mandatory", "servestack-pools-gpu",
        "metadataOptions.httpPutResponseHopLimit is 2; allowed: at most 1, so that pods (one hop further than the node) "
        "cannot reach the node role's credentials")]


def test_the_config_faults_are_all_that_is_found(config_faults):
    assert sorted({f[0] for f in config_faults}) == [
        "eks-extended-support-opt-in", "launch-template-imdsv2", "model-uri-names-version", "org-allow-lists",
        "payload-logger-tls"]  # org-allow-lists: the external logger is not in prod's loggerEndpoints


# --------------------------------------------------------------------------- 6, 13. what KServe runs


# Pod security (privileged, host namespaces, hostPath, security contexts) over every pod template:
# tests/test_policies_pod_security.py.


def test_inference_service_on_the_default_service_account():
    document = prod_document()
    step(document, ISVC, "servestack-endpoint-chat-isvc")["inputs"]["spec"]["predictor"]["serviceAccountName"] = "default"
    fraud = step(document, ISVC, "servestack-endpoint-fraud-isvc")["inputs"]["spec"]
    del fraud["canary"][0]["predictor"]["serviceAccountName"]
    found = [(f[0], f[2], f[3].split(";")[0]) for f in findings(document) if f[0] == "endpoint-own-service-account"]
    assert found == [
        ("endpoint-own-service-account", "servestack-endpoint-chat-isvc", "spec.predictor.serviceAccountName is default"),
        ("endpoint-own-service-account", "servestack-endpoint-fraud-isvc",
         "spec.canary[0].predictor.serviceAccountName is unset (the namespace's default)"),
    ]


# --------------------------------------------------------------------------- 7, 8. IAM


def test_irsa_role_granting_iam_or_assume_role_on_anything():
    document = prod_document()
    policy = step(document, "aws:iam/rolePolicy:RolePolicy", "servestack-endpoint-chat-model-read")["inputs"]
    doc = json.loads(policy["policy"])
    doc["Statement"] += [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
                         {"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*"}]
    policy["policy"] = json.dumps(doc)
    role = "IRSA role servestack-endpoint-chat-model-reader: policy"
    tail = ("; allowed: no IAM actions and sts:AssumeRole only on named roles, because any pod of its service account "
            "could otherwise make itself admin")
    assert [f for f in findings(document) if f[0] == "irsa-no-privilege-escalation"] == [
        ("irsa-no-privilege-escalation", "mandatory", "servestack-endpoint-chat-model-read",
         f"{role} statement 2 allows iam:* (a model server has no business with IAM){tail}"),
        ("irsa-no-privilege-escalation", "mandatory", "servestack-endpoint-chat-model-read",
         f"{role} statement 3 allows sts:AssumeRole on * (any role in reach){tail}"),
    ]


def test_administrator_access_and_star_on_star_on_any_role():
    document = prod_document()
    attachment = step(document, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "servestack-pools-node-role-AmazonEKSWorkerNodePolicy")
    attachment["inputs"]["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess"
    role = step(document, "aws:iam/role:Role", "servestack-cluster-role")
    role["inputs"]["inlinePolicies"] = [{"name": "all", "policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})}]
    # A managed policy of the stack, attached to the node role: its document is in the plan.
    node_role_urn = next(s["urn"] for s in document["steps"] if s["urn"].endswith("aws:iam/role:Role::servestack-pools-node-role"))
    policy_urn = "urn:pulumi:prod::servestack::aws:iam/policy:Policy::ops"
    document["steps"] += [
        {"op": "create", "urn": policy_urn, "newState": {"type": "aws:iam/policy:Policy", "urn": policy_urn, "inputs": {
            "policy": json.dumps({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})}}},
        {"op": "create", "urn": policy_urn.replace("policy:Policy::ops", "rolePolicyAttachment:RolePolicyAttachment::ops"),
         "newState": {"type": "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                      "urn": policy_urn.replace("policy:Policy::ops", "rolePolicyAttachment:RolePolicyAttachment::ops"),
                      "inputs": {"policyArn": "arn:aws:iam::123456789012:policy/ops", "role": "servestack-pools-node-role"},
                      "propertyDependencies": {"policyArn": [policy_urn], "role": [node_role_urn]}}},
    ]
    why = "; allowed: the actions and resources the role's job needs, because admin on the account is every other hole at once"
    assert [(f[2], f[3]) for f in findings(document) if f[0] == "iam-no-admin"] == [
        ("ops", f"policy statement 0 allows every action but iam:* on resource * (NotAction){why}"),
        ("ops", f"role servestack-pools-node-role: policy ops statement 0 allows every action but iam:* on resource * (NotAction){why}"),
        ("servestack-cluster-role", f"role servestack-cluster-role: inlinePolicies[0] (all) statement 0 allows action * on resource *{why}"),
        ("servestack-pools-node-role-AmazonEKSWorkerNodePolicy",
         f"role servestack-pools-node-role gets the AWS managed policy arn:aws:iam::aws:policy/AdministratorAccess{why}"),
    ]


# --------------------------------------------------------------------------- 9-12. network and keys


def _subnet_ids(document: dict[str, Any], prefix: str) -> tuple[list[str], list[str]]:
    """(ids, URNs) of prod's subnets whose names start with ``prefix``, from the route table associations."""
    ids, urns = [], []
    for s in document["steps"]:
        state = s["newState"]
        if state["type"] == "aws:ec2/routeTableAssociation:RouteTableAssociation" and s["urn"].rsplit("::", 1)[1].startswith(prefix):
            ids.append(state["inputs"]["subnetId"])
            urns += state["propertyDependencies"]["subnetId"]
    return ids, urns


def test_gpu_node_group_in_public_subnets():
    document = managed_gpu_document()
    ids, urns = _subnet_ids(document, "servestack-network-public-")
    group = step(document, "aws:eks/nodeGroup:NodeGroup", "servestack-pools-gpu")
    group["inputs"]["subnetIds"] = ids
    group["propertyDependencies"]["subnetIds"] = urns
    assert [(f[2], f[3]) for f in findings(document)] == [
        ("servestack-pools-gpu", f"launches nvidia accelerator nodes in the public subnet servestack-network-public-{zone} "
                                 "(its route table servestack-network-public sends 0.0.0.0/0 to an internet gateway); allowed: "
                                 "private subnets only, because a node there is reachable from the internet and its pods (and "
                                 "model weights) sit one security group away from it")
        for zone in "abc"]


def test_public_subnets_of_an_existing_network_are_known_by_the_stack_config():
    document = managed_gpu_document()
    group = step(document, "aws:eks/nodeGroup:NodeGroup", "servestack-pools-gpu")
    group["inputs"]["subnetIds"] = ["subnet-0aaa", "subnet-0bbb"]
    group["propertyDependencies"]["subnetIds"] = []
    document["config"]["servestack:network"] = json.dumps({"existing": {"vpcId": "vpc-1", "privateSubnetIds": ["subnet-0aaa", "subnet-0ccc"],
                                                                        "publicSubnetIds": ["subnet-0bbb"]}})
    assert [(f[0], f[2], f[3].split(";")[0]) for f in findings(document)] == [
        ("nodes-in-private-subnets", "servestack-pools-gpu",
         "launches nvidia accelerator nodes in the public subnet subnet-0bbb (servestack:network existing.publicSubnetIds lists it)")]


def test_map_public_ip_on_launch_on_a_subnet_nodes_use():
    document = managed_gpu_document()
    step(document, "aws:ec2/subnet:Subnet", "servestack-network-private-a")["inputs"]["mapPublicIpOnLaunch"] = True
    found = [(f[0], f[2], f[3].split(";")[0]) for f in findings(document)]
    assert found == [
        *[("nodes-in-private-subnets", f"servestack-pools-{pool}",
           f"launches {what} in the public subnet servestack-network-private-a (mapPublicIpOnLaunch is true)")
          for pool, what in [("gpu", "nvidia accelerator nodes"), ("system", "nodes")]],
        ("subnet-no-public-ip-on-launch", "servestack-network-private-a", "mapPublicIpOnLaunch is true"),
    ]


def test_default_security_group_open_to_the_internet():
    document = prod_document()
    group = step(document, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "servestack-network-default-sg")
    group["inputs"]["ingress"] = [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]
    assert findings(document) == [(
        "default-security-group-closed", "mandatory", "servestack-network-default-sg",
        "ingress[0] allows protocol -1 ports 0-0 with 0.0.0.0/0; allowed: no rules, because every instance or ENI "
        "created without a security group lands in the default one (CIS AWS 5.4)")]


def test_kms_key_rotation_off():
    document = prod_document()
    step(document, "aws:kms/key:Key", "servestack-cluster-secrets")["inputs"]["enableKeyRotation"] = False
    assert findings(document) == [(
        "kms-key-rotation", "mandatory", "servestack-cluster-secrets",
        "enableKeyRotation is False; required: true, so that the key material that encrypts the cluster's secrets is "
        "replaced every year (CIS AWS 3.6)")]


# --------------------------------------------------------------------------- the FPGA device plugin


def test_fpga_plugin_by_tag_in_prod():
    document = prod_document()
    daemon_set = step(document, "kubernetes:apps/v1:DaemonSet", "servestack-device-plugins-fpga")
    container = daemon_set["inputs"]["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"].split("@")[0]
    assert findings(document) == [(
        "declared-plugin-image-digest", "mandatory", "servestack-device-plugins-fpga",
        "spec.template.spec.containers[0].image 123456789012.dkr.ecr.us-east-1.amazonaws.com/fpga-device-plugin:1.0.0 is "
        "pulled by tag; required in prod: <image>:<tag>@sha256:<digest>, because a DaemonSet runs on every node it selects "
        "(a device plugin with the node's /dev and the kubelet's socket) and a tag can be pushed again")]

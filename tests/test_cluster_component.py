"""The EKS control plane as planned: exact inputs of the cluster, its IAM, KMS, OIDC, access and add-ons."""

from __future__ import annotations

import json

import pytest

from components.core import versions
from components.cluster import Cluster, ClusterAddons, ClusterAddonsArgs, ClusterArgs, endpoint_access, kubeconfig
from components.config.cluster import ClusterConfig
from components.core.iam import irsa_trust_policy
from harness import plan_program, resource, resources

ADMIN = "arn:aws:iam::123456789012:role/ml-admin"
DEPLOY = "arn:aws:iam::210987654321:role/deployer"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TAGS = {"team": "ml"}
ISSUER_PREFIX = "oidc.eks.us-east-1.amazonaws.com/id/"


def cluster_program(config: dict, production: bool):
    def program():
        cluster = Cluster("c", ClusterArgs(config=ClusterConfig.model_validate(config), cluster_name="servestack-test",
                                           subnet_ids=["subnet-a", "subnet-b"], region="us-east-1", is_production=production,
                                           tags=TAGS))
        ClusterAddons("late", ClusterAddonsArgs(control_plane=cluster.handle, nodes=[]))
    return program


@pytest.fixture(scope="module")
def dev_plan():
    # Read-only: planned once, inspected by many tests.
    return plan_program(cluster_program({"adminRoleArns": [DEPLOY, ADMIN], "publicAccessCidrs": ["203.0.113.0/24"]}, False))


@pytest.fixture(scope="module")
def prod_plan():
    return plan_program(cluster_program(
        {"adminRoleArns": [ADMIN], "publicAccessCidrs": [], "secretsKmsKeyArn": KEY, "supportType": "EXTENDED",
         "kubernetesVersion": "1.34"}, True))


def test_cluster_inputs(dev_plan):
    inputs = dict(resource(dev_plan, "aws:eks/cluster:Cluster", "c-eks")["inputs"])
    role_arn = inputs.pop("roleArn")
    key_arn = inputs["encryptionConfig"]["provider"].pop("keyArn")
    assert role_arn.startswith("arn:aws:iam::123456789012:role/c-role-")
    assert key_arn.startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert inputs == {
        "name": "servestack-test",
        "version": "1.35",
        "tags": TAGS,
        "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False},
        "vpcConfig": {"subnetIds": ["subnet-a", "subnet-b"], "endpointPrivateAccess": True, "endpointPublicAccess": True,
                      "publicAccessCidrs": ["203.0.113.0/24"]},
        "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
        "encryptionConfig": {"provider": {}, "resources": ["secrets"]},
        "upgradePolicy": {"supportType": "STANDARD"},
        "kubernetesNetworkConfig": {"ipFamily": "ipv4", "serviceIpv4Cidr": "172.20.0.0/16"},
        "bootstrapSelfManagedAddons": False,
    }


def test_prod_cluster_is_private_and_uses_the_given_key(prod_plan):
    inputs = resource(prod_plan, "aws:eks/cluster:Cluster", "c-eks")["inputs"]
    assert inputs["vpcConfig"] == {"subnetIds": ["subnet-a", "subnet-b"], "endpointPrivateAccess": True, "endpointPublicAccess": False}
    assert inputs["encryptionConfig"] == {"provider": {"keyArn": KEY}, "resources": ["secrets"]}
    assert inputs["upgradePolicy"] == {"supportType": "EXTENDED"}
    assert inputs["version"] == "1.34"
    assert resources(prod_plan, "aws:kms/key:Key") == {}


def test_secrets_key_is_created_with_rotation(dev_plan):
    assert resource(dev_plan, "aws:kms/key:Key", "c-secrets")["inputs"] == {
        "description": "Envelope encryption of Kubernetes secrets in servestack-test",
        "enableKeyRotation": True,
        "deletionWindowInDays": 30,
        "tags": TAGS,
    }
    assert resource(dev_plan, "aws:kms/alias:Alias", "c-secrets")["inputs"]["name"] == "alias/servestack-test-secrets"


def test_cluster_role_has_only_the_eks_cluster_policy(dev_plan):
    role = resource(dev_plan, "aws:iam/role:Role", "c-role")["inputs"]
    assert json.loads(role["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}],
    }
    cluster_role_name = resource(dev_plan, "aws:eks/cluster:Cluster", "c-eks")["inputs"]["roleArn"].rsplit("/", 1)[1]
    attached = [a["inputs"]["policyArn"] for a in resources(dev_plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").values()
                if a["inputs"]["role"] == cluster_role_name]
    assert attached == ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]


def test_control_plane_logs_are_kept_90_days(dev_plan):
    assert resource(dev_plan, "aws:cloudwatch/logGroup:LogGroup", "c-logs")["inputs"] == {
        "name": "/aws/eks/servestack-test/cluster", "retentionInDays": 90, "tags": TAGS,
    }
    cluster = resource(dev_plan, "aws:eks/cluster:Cluster", "c-eks")
    assert cluster["dependencies"].count(resource(dev_plan, "aws:cloudwatch/logGroup:LogGroup", "c-logs")["urn"]) == 1


def test_admin_access_entries_and_policies(dev_plan):
    entries = {k: v["inputs"] for k, v in resources(dev_plan, "aws:eks/accessEntry:AccessEntry").items()}
    assert entries == {
        "c-admin-123456789012-ml-admin": {"clusterName": "servestack-test", "principalArn": ADMIN, "type": "STANDARD", "tags": TAGS},
        "c-admin-210987654321-deployer": {"clusterName": "servestack-test", "principalArn": DEPLOY, "type": "STANDARD", "tags": TAGS},
    }
    policies = {k: v["inputs"] for k, v in resources(dev_plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").items()}
    admin_policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert policies == {
        "c-admin-123456789012-ml-admin": {"clusterName": "servestack-test", "principalArn": ADMIN, "policyArn": admin_policy,
                                          "accessScope": {"type": "cluster"}},
        "c-admin-210987654321-deployer": {"clusterName": "servestack-test", "principalArn": DEPLOY, "policyArn": admin_policy,
                                          "accessScope": {"type": "cluster"}},
    }


def test_oidc_provider_for_irsa_pins_no_thumbprint(dev_plan):
    inputs = resource(dev_plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "c-oidc")["inputs"]
    assert inputs["url"].startswith(f"https://{ISSUER_PREFIX}")
    assert inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in inputs


def test_managed_addons_at_pinned_versions(dev_plan):
    addons = {v["inputs"]["addonName"]: v["inputs"] for v in resources(dev_plan, "aws:eks/addon:Addon").values()}
    pinned = versions.EKS_ADDONS["1.35"]
    assert sorted(addons) == ["aws-ebs-csi-driver", "coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]
    for name, inputs in addons.items():
        assert inputs["addonVersion"] == pinned[name].version
        assert (inputs["resolveConflictsOnCreate"], inputs["resolveConflictsOnUpdate"]) == ("OVERWRITE", "OVERWRITE")
        assert inputs["clusterName"] == "servestack-test"
    with_role = sorted(n for n, i in addons.items() if "serviceAccountRoleArn" in i)
    assert with_role == ["aws-ebs-csi-driver", "vpc-cni"]


@pytest.mark.parametrize(("role", "service_account", "policy"), [
    ("c-vpc-cni-irsa", "aws-node", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"),
    ("late-aws-ebs-csi-driver-irsa", "ebs-csi-controller-sa", "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"),
])
def test_addon_irsa_roles_trust_only_their_service_account(dev_plan, role, service_account, policy):
    trust = json.loads(resource(dev_plan, "aws:iam/role:Role", role)["inputs"]["assumeRolePolicy"])
    issuer = resource(dev_plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "c-oidc")["inputs"]["url"].removeprefix("https://")
    assert trust == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer}:aud": "sts.amazonaws.com",
                                       f"{issuer}:sub": f"system:serviceaccount:kube-system:{service_account}"}},
    }]}
    attachment = resource(dev_plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", role.removesuffix("-irsa") + "-policy")
    assert attachment["inputs"]["policyArn"] == policy


def test_kubernetes_provider_uses_get_token_and_waits_for_admin_access(dev_plan):
    provider = resource(dev_plan, "pulumi:providers:kubernetes", "c-k8s")
    config = json.loads(provider["inputs"]["kubeconfig"])
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://") and cluster["server"].endswith(".gr7.us-east-1.eks.amazonaws.com")
    assert config["users"] == [{"name": "servestack-test", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "interactiveMode": "Never",
        "args": ["eks", "get-token", "--cluster-name", "servestack-test", "--region", "us-east-1", "--output", "json"],
    }}}]
    grants = {v["urn"] for v in resources(dev_plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").values()}
    assert grants <= set(provider["dependencies"])


@pytest.mark.parametrize(("cidrs", "production", "expected"), [
    ([], False, {"endpoint_private_access": True, "endpoint_public_access": False}),
    (["198.51.100.0/24", "203.0.113.0/24"], False,
     {"endpoint_private_access": True, "endpoint_public_access": True, "public_access_cidrs": ["198.51.100.0/24", "203.0.113.0/24"]}),
    (["203.0.113.0/24"], True, {"endpoint_private_access": True, "endpoint_public_access": False}),
])
def test_endpoint_access(cidrs, production, expected):
    config = ClusterConfig.model_validate({"adminRoleArns": [ADMIN], "publicAccessCidrs": cidrs})
    assert endpoint_access(config, production) == expected


def test_irsa_trust_policy_strips_the_scheme():
    policy = irsa_trust_policy("arn:aws:iam::1:oidc-provider/x/id/A", "https://x/id/A", "ns", "sa")
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"x/id/A:aud": "sts.amazonaws.com",
                                                                   "x/id/A:sub": "system:serviceaccount:ns:sa"}}


def test_kubeconfig_is_deterministic():
    text = kubeconfig("n", "https://e", "Q0E=", "eu-west-1")
    assert text == kubeconfig("n", "https://e", "Q0E=", "eu-west-1")
    # canonical (sorted keys): the provider's input changes only when a value does
    assert text == json.dumps(json.loads(text), sort_keys=True)
    assert json.loads(text)["current-context"] == "n"

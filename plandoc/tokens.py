"""The names a plan is written in: resource type tokens and step operations.

Type tokens are the engine's (``pulumi_aws`` and ``pulumi_kubernetes``), the same in
servestack's offline plan, a real ``pulumi preview --json`` and CrossGuard's analyzer.
"""

from __future__ import annotations

STACK = "pulumi:pulumi:Stack"

# --- AWS
CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
KMS_KEY = "aws:kms/key:Key"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

# --- Kubernetes
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
#: KServe's generative endpoint (llm-d), servestack:llmEndpoints.
LLM_INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService"
#: Kinds that run pods from a pod template (or are pods).
WORKLOADS = (
    "kubernetes:apps/v1:Deployment", DAEMON_SET, "kubernetes:apps/v1:StatefulSet",
    "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod",
)

# --- step operations (``pulumi preview --json``'s ``op``)
#: Steps after which the resource no longer exists (or never did).
GONE_OPS = frozenset({"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace", "read-discard"})
#: Steps that bring a new object into being (a replacement starts it over too).
CREATE_OPS = ("create", "create-replacement", "replace")
#: Steps that start a resource over although it exists already.
REPLACE_OPS = ("replace", "create-replacement")

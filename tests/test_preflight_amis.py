"""`servestack preflight` resolves every AMI a stack names where AWS publishes it: the EKS AL2023 release
of a Karpenter alias through its public SSM parameter (per pool variant and architecture), an AMI id
through DescribeImages; each missing one fails with the parameter or id it looked for."""

from __future__ import annotations

import boto3
from moto import mock_aws

from harness import repository_plan
from preflight_fixtures import aws_env, publish_eks_ami  # noqa: F401

from components.core import versions
from plandoc.document import plan_from_document
from servestack.preflight.amis import AmiUse, ami_uses, check_amis, ssm_parameter
from servestack.preflight.aws import AwsClients

RELEASE = versions.EKS_AL2023_AMI.version


def test_the_parameter_path_is_the_one_eks_publishes_for_each_variant_and_architecture():
    assert ssm_parameter("1.35", "x86_64", "nvidia", "v20260903") == (
        "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/"
        "amazon-eks-node-al2023-x86_64-nvidia-1.35-v20260903/image_id")
    assert ssm_parameter("1.34", "arm64", "standard", "v20260903").endswith(
        "/arm64/standard/amazon-eks-node-al2023-arm64-standard-1.34-v20260903/image_id")


def test_every_ami_of_prod_is_found_with_its_pools_variant_and_architecture():
    plan = plan_from_document(repository_plan("prod").document)
    uses = {(u.subject, u.alias or u.image_id, u.kind, u.architectures) for u in ami_uses(plan)}
    assert (f"pool gpu", f"al2023@{RELEASE}", "nvidia", ("x86_64",)) in uses
    assert any(kind == "neuron" and ami == f"al2023@{RELEASE}" for _, ami, kind, _ in uses)
    assert any(ami.startswith("ami-") and kind == "fpga" for _, ami, kind, _ in uses)  # the FPGA pool's own AMI


def test_a_published_release_passes_and_a_missing_variant_fails_naming_its_parameter(aws_env):  # noqa: F811
    with mock_aws():
        nvidia = ssm_parameter("1.35", "x86_64", "nvidia", RELEASE)
        publish_eks_ami(nvidia, "ami-0a1b2c3d4e5f60718")
        clients = AwsClients("us-east-1")
        results = check_amis([AmiUse("pool gpu", alias=f"al2023@{RELEASE}", kind="nvidia"),
                              AmiUse("pool inf", alias=f"al2023@{RELEASE}", kind="neuron")], "1.35", clients)
    assert [(r.subject, r.status.value) for r in results] == [("pool gpu", "pass"), ("pool inf", "fail")]
    assert results[0].message == f"al2023@{RELEASE} (nvidia, x86_64) is ami-0a1b2c3d4e5f60718 ({nvidia})"
    neuron = ssm_parameter("1.35", "x86_64", "neuron", RELEASE)
    assert results[1].message == (f"al2023@{RELEASE}: AWS publishes no neuron x86_64 AMI of release {RELEASE} for "
                                  f"Kubernetes 1.35 in us-east-1 (no SSM parameter {neuron})")
    assert results[1].fix.startswith("pin a release that exists (components/core/versions.py EKS_AL2023_AMI)")


def test_each_architecture_of_a_pool_is_resolved(aws_env):  # noqa: F811
    with mock_aws():
        publish_eks_ami(ssm_parameter("1.35", "x86_64", "standard", RELEASE), "ami-00000000000000001")
        results = check_amis([AmiUse("pool mixed", alias=f"al2023@{RELEASE}", architectures=("arm64", "x86_64"))],
                             "1.35", AwsClients("us-east-1"))
    assert [(r.status.value, "arm64" in r.message) for r in results] == [("fail", True), ("pass", False)]


def test_an_ami_id_must_exist_in_the_region(aws_env):  # noqa: F811
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        instance = ec2.run_instances(ImageId=ec2.describe_images()["Images"][0]["ImageId"], MinCount=1, MaxCount=1)
        image = ec2.create_image(InstanceId=instance["Instances"][0]["InstanceId"], Name="fpga-al2023-runtime-1.4")["ImageId"]
        results = check_amis([AmiUse("pool fpga", image_id=image), AmiUse("pool fpga", image_id="ami-0deadbeef0000000")],
                             "1.35", AwsClients("us-east-1"))
    assert [(r.status.value, r.message) for r in results] == [
        ("pass", f"AMI {image} (fpga-al2023-runtime-1.4) is available"),
        ("fail", "AMI ami-0deadbeef0000000 does not exist in us-east-1 (or this account may not use it)")]


def test_an_unpinned_alias_is_not_resolved_but_said(aws_env):  # noqa: F811
    with mock_aws():
        results = check_amis([AmiUse("pool gpu", alias="al2023@latest", kind="nvidia")], "1.35", AwsClients("us-east-1"))
    assert [(r.status.value, r.message) for r in results] == [
        ("skip", "al2023@latest: an unpinned alias (@latest) moves with every release")]

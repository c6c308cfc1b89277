"""Preflight checks against moto (in-process ``mock_aws``), and botocore Stubbers where moto cannot answer.

moto implements S3 and EC2 instance type offerings (with per-zone data of its own: e.g.
trn1.2xlarge only in us-east-1c and us-east-1f, trn2.48xlarge not in us-east-1), but neither
EKS DescribeClusterVersions/DescribeAddonVersions nor EC2 quotas in Service Quotas: those
checks must report "skipped" under moto, and their logic is tested with a botocore
``Stubber`` (which validates requests and responses against the real API model) passed in
through :class:`AwsClients`' ``overrides`` seam.
"""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ProfileNotFound
from botocore.stub import Stubber
from moto import mock_aws
from preflight_fixtures import aws_env  # noqa: F401 - fixture

from plandoc.cluster import Addon
from plandoc.document import plan_from_document
from plandoc.models import ModelUri
from plandoc.placement import PoolPlacement
from servestack.preflight.aws import AwsClients, AwsUnavailable, unavailable
from servestack.preflight.ec2 import check_pools
from servestack.preflight.eks import check_addons, check_kubernetes_version
from servestack.preflight.quotas import check_quotas, quota_for
from servestack.preflight.report import Result, Status
from servestack.preflight.s3 import check_models, version_segment

REGION = "us-east-1"
PLAN_ZONES = "the availabilityZone of the plan's private subnets"


@pytest.fixture
def clients(aws_env):  # noqa: F811
    with mock_aws():
        yield AwsClients(REGION)


def _bucket(name: str, versioning: str | None = None, objects: dict[str, bytes] | None = None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=name)
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    for key, body in (objects or {}).items():
        s3.put_object(Bucket=name, Key=key, Body=body)


def _model(uri: str, role: str = "stable") -> ModelUri:
    return ModelUri("iris", uri, (role,), ("config servestack:endpoints.iris.model.storageUri",))


# --- S3 --------------------------------------------------------------------------------------

def test_artifacts_present_under_a_prefix_and_as_an_object_in_a_versioned_bucket_pass(clients):
    _bucket("models", "Enabled", {"iris/model.joblib": b"x" * 12, "iris/README": b"", "single.pt": b"abc"})
    assert check_models([_model("s3://models/iris/"), _model("s3://models/single.pt", "candidate")], clients) == [
        Result("s3-artifact", "endpoint iris (stable)", Status.PASS,
               "s3://models/iris/ has non-empty objects under the prefix, e.g. iris/model.joblib (12 bytes)"),
        Result("s3-pinned", "endpoint iris (stable)", Status.PASS, "bucket models has versioning enabled"),
        Result("s3-artifact", "endpoint iris (candidate)", Status.PASS, "s3://models/single.pt has non-empty object (3 bytes)"),
        Result("s3-pinned", "endpoint iris (candidate)", Status.PASS, "bucket models has versioning enabled"),
    ]


def test_missing_artifact_and_missing_bucket_fail_with_the_fix(clients):
    _bucket("models", "Enabled", {"iris/v1/model.joblib": b"x"})
    results = check_models([_model("s3://models/iris/v2/", "candidate"), _model("s3://no-such-bucket/iris/v1/")], clients)
    assert results == [
        Result("s3-artifact", "endpoint iris (candidate)", Status.FAIL,
               "nothing at s3://models/iris/v2/: no object with that key and none under that prefix",
               "upload the model (aws s3 cp --recursive <model dir> s3://models/iris/v2/), or correct the storageUri "
               "(config servestack:endpoints.iris.model.storageUri)"),
        Result("s3-pinned", "endpoint iris (candidate)", Status.PASS, "s3://models/iris/v2/ names the version segment 'v2'"),
        Result("s3-artifact", "endpoint iris (stable)", Status.FAIL, "bucket no-such-bucket of s3://no-such-bucket/iris/v1/ does not exist",
               "create the bucket and upload the model, or correct the storageUri (config servestack:endpoints.iris.model.storageUri)"),
        Result("s3-pinned", "endpoint iris (stable)", Status.PASS, "s3://no-such-bucket/iris/v1/ names the version segment 'v1'"),
    ]


def test_a_prefix_holding_only_folder_markers_and_empty_objects_fails(clients):
    _bucket("models", "Enabled", {"iris/v3/": b"", "iris/v3/model.joblib": b""})
    assert check_models([_model("s3://models/iris/v3/")], clients)[0] == Result(
        "s3-artifact", "endpoint iris (stable)", Status.FAIL,
        "s3://models/iris/v3/ holds only empty objects or folder markers (2); KServe skips them and the predictor fails "
        "with 'No model found'",
        "upload the model files (aws s3 cp --recursive <model dir> s3://models/iris/v3/), or correct the storageUri "
        "(config servestack:endpoints.iris.model.storageUri)",
    )


@pytest.mark.parametrize("versioning, state", [(None, "never enabled"), ("Suspended", "suspended")])
def test_an_unversioned_bucket_without_a_version_segment_fails(clients, versioning, state):
    _bucket("models", versioning, {"iris/latest/model.joblib": b"x"})
    assert check_models([_model("s3://models/iris/latest/")], clients)[1] == Result(
        "s3-pinned", "endpoint iris (stable)", Status.FAIL,
        f"s3://models/iris/latest/ names no version and versioning of bucket models is {state}: the model can be "
        "overwritten in place, so what serves is not what was reviewed",
        "enable versioning (aws s3api put-bucket-versioning --bucket models --versioning-configuration Status=Enabled) "
        "or publish each model version under its own prefix (s3://bucket/model/v3/)",
    )


def test_a_version_id_query_pins_nothing_because_kserve_ignores_it(clients):
    _bucket("models", None, {"iris/model.joblib": b"x"})
    assert check_models([_model("s3://models/iris/model.joblib?versionId=3HL4kqtJlcpXroDTDmJ")], clients)[1] == Result(
        "s3-pinned", "endpoint iris (stable)", Status.FAIL,
        "s3://models/iris/model.joblib?versionId=3HL4kqtJlcpXroDTDmJ carries a query (versionId=3HL4kqtJlcpXroDTDmJ) that "
        "KServe's storage initializer ignores: it downloads the latest objects under the path, so the URI pins nothing",
        "drop the query and publish each model version under its own prefix (s3://bucket/model/v3/), or enable "
        "versioning on bucket models",
    )


def test_a_non_s3_uri_is_skipped_not_passed(clients):
    assert check_models([_model("oci://ghcr.io/acme/iris:1.0")], clients) == [Result(
        "s3-artifact", "endpoint iris (stable)", Status.SKIP,
        "oci://ghcr.io/acme/iris:1.0 is not an s3:// URI (oci); preflight checks S3 artifacts only",
    )]


def test_a_malformed_uri_fails_with_its_source_not_a_traceback(clients):
    assert check_models([_model("s3://models[/iris/v3/")], clients) == [Result(
        "s3-artifact", "endpoint iris (stable)", Status.FAIL, "s3://models[/iris/v3/ is not a valid URI: Invalid IPv6 URL",
        "correct the storageUri (config servestack:endpoints.iris.model.storageUri)",
    )]


@pytest.mark.parametrize("key, segment", [
    ("models/iris/v3/", "v3"), ("models/iris/3/", "3"), ("iris/1.2.0/model.pt", "1.2.0"), ("iris/v1.2/", "v1.2"),
    ("iris/20260501/", "20260501"), ("iris/" + "a" * 40 + "/", "a" * 40), ("iris/sha256-" + "0" * 64, "sha256-" + "0" * 64),
    ("models/iris/latest/", None), ("models/iris-v3/", None), ("models/v3beta/", None), ("", None),
])
def test_version_segments(key, segment):
    assert version_segment(key) == segment


# --- EC2 offerings -----------------------------------------------------------------------------

def test_an_instance_type_missing_in_some_zones_fails_naming_them(clients):
    pool = PoolPlacement("neuron", ("trn1.2xlarge",), 2, "ON_DEMAND", ("us-east-1a", "us-east-1b", "us-east-1c"), (), PLAN_ZONES)
    assert check_pools([pool], clients) == [
        Result("ec2-region-offering", "pool neuron", Status.PASS, "trn1.2xlarge is offered in region us-east-1"),
        Result("ec2-zone-offering", "pool neuron", Status.FAIL,
               "trn1.2xlarge is not offered in us-east-1a, us-east-1b (zones from the availabilityZone of the plan's private "
               "subnets: us-east-1a, us-east-1b, us-east-1c)",
               "choose an instance type offered in every zone of the pool, or place the pool's subnets in zones that offer "
               "trn1.2xlarge (aws ec2 describe-instance-type-offerings --location-type availability-zone --filters "
               "Name=instance-type,Values=trn1.2xlarge --region us-east-1)"),
    ]


def test_an_instance_type_missing_in_the_region_fails_and_zones_unknown_are_skipped(clients):
    pools = [PoolPlacement("trainium", ("trn2.48xlarge",), 1, "ON_DEMAND", ("us-east-1a",), (), PLAN_ZONES),
             PoolPlacement("gpu", ("g6.xlarge",), 2)]
    assert check_pools(pools, clients) == [
        Result("ec2-region-offering", "pool trainium", Status.FAIL, "trn2.48xlarge is not offered in region us-east-1",
               "choose another instance type for servestack:nodePools.trainium.instanceTypes, or deploy the stack to a region "
               "that offers it (aws ec2 describe-instance-type-offerings --location-type region --filters "
               "Name=instance-type,Values=trn2.48xlarge --region <region>)"),
        Result("ec2-region-offering", "pool gpu", Status.PASS, "g6.xlarge is offered in region us-east-1"),
        Result("ec2-zone-offering", "pool gpu", Status.SKIP,
               "the plan names no availability zones for pool gpu (no subnet with a known availabilityZone), so zone "
               "offerings of g6.xlarge cannot be checked"),
    ]


def test_zones_of_existing_subnets_come_from_describe_subnets(clients):
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
           for i, zone in enumerate(["us-east-1a", "us-east-1e"])]
    pool = PoolPlacement("gpu", ("g6e.xlarge",), 2, "ON_DEMAND", (), tuple(ids), "servestack:network.existing.privateSubnetIds")
    assert check_pools([pool], clients)[1] == Result(
        "ec2-zone-offering", "pool gpu", Status.FAIL,
        "g6e.xlarge is not offered in us-east-1e (zones from servestack:network.existing.privateSubnetIds: us-east-1a, us-east-1e)",
        "choose an instance type offered in every zone of the pool, or place the pool's subnets in zones that offer g6e.xlarge "
        "(aws ec2 describe-instance-type-offerings --location-type availability-zone --filters "
        "Name=instance-type,Values=g6e.xlarge --region us-east-1)",
    )


def test_subnets_that_do_not_exist_fail(clients):
    pool = PoolPlacement("gpu", ("g6.xlarge",), 2, "ON_DEMAND", (), ("subnet-0123456789abcdef0",), "servestack:network.existing.privateSubnetIds")
    result = check_pools([pool], clients)[0]
    assert (result.check, result.status, result.fix) == (
        "ec2-subnets", Status.FAIL,
        "correct servestack:network.existing.privateSubnetIds (aws ec2 describe-subnets --region us-east-1)")
    assert result.message.startswith("subnets of servestack:network.existing.privateSubnetIds do not exist in us-east-1: ")
    assert "subnet-0123456789abcdef0" in result.message


# --- EKS ---------------------------------------------------------------------------------------

def test_eks_checks_are_skipped_where_moto_cannot_tell(clients):
    assert check_kubernetes_version("1.34", clients) == [Result(
        "eks-kubernetes-version", "cluster", Status.SKIP,
        "cannot tell whether EKS offers Kubernetes 1.34: the AWS endpoint does not implement eks:DescribeClusterVersions")]
    assert check_addons([Addon("vpc-cni", "v1.20.4-eksbuild.1", "resource vpc-cni")], "1.34", clients) == [Result(
        "eks-addon-version", "add-on vpc-cni", Status.SKIP,
        "cannot tell which versions of vpc-cni EKS offers: the AWS endpoint does not implement eks:DescribeAddonVersions")]


def _stubbed(service: str):
    client = boto3.client(service, region_name=REGION)
    return client, Stubber(client)


def _version(version: str, status: str, standard_end: str, extended_end: str) -> dict:
    return {"clusterVersion": version, "versionStatus": status,
            "endOfStandardSupportDate": datetime.fromisoformat(standard_end).replace(tzinfo=timezone.utc),
            "endOfExtendedSupportDate": datetime.fromisoformat(extended_end).replace(tzinfo=timezone.utc)}


@pytest.mark.parametrize("version, entries, expected", [
    ("1.34", [_version("1.34", "STANDARD_SUPPORT", "2026-12-02", "2027-12-02")],
     Result("eks-kubernetes-version", "cluster", Status.PASS, "EKS offers Kubernetes 1.34 in standard support until 2026-12-02")),
    ("1.30", [_version("1.30", "EXTENDED_SUPPORT", "2025-07-23", "2026-07-23")],
     Result("eks-kubernetes-version", "cluster", Status.WARN,
            "Kubernetes 1.30 is in extended support until 2026-07-23: each cluster hour costs six times the standard price",
            "upgrade servestack:cluster.kubernetesVersion to a version in standard support")),
    ("1.23", [_version("1.23", "UNSUPPORTED", "2023-10-11", "2024-10-11")],
     Result("eks-kubernetes-version", "cluster", Status.FAIL, "Kubernetes 1.23 is no longer supported by EKS",
            "set servestack:cluster.kubernetesVersion to a version in standard support")),
])
def test_kubernetes_version_status(aws_env, version, entries, expected):  # noqa: F811
    eks, stub = _stubbed("eks")
    stub.add_response("describe_cluster_versions", {"clusterVersions": entries}, {"clusterVersions": [version], "includeAll": True})
    with stub:
        assert check_kubernetes_version(version, AwsClients(REGION, overrides={"eks": eks})) == [expected]
    stub.assert_no_pending_responses()


def test_a_kubernetes_version_eks_does_not_know_fails_listing_the_offered_ones(aws_env):  # noqa: F811
    eks, stub = _stubbed("eks")
    stub.add_response("describe_cluster_versions", {"clusterVersions": []}, {"clusterVersions": ["1.99"], "includeAll": True})
    stub.add_response("describe_cluster_versions", {"clusterVersions": [{"clusterVersion": v} for v in ("1.32", "1.34", "1.33")]}, {})
    with stub:
        assert check_kubernetes_version("1.99", AwsClients(REGION, overrides={"eks": eks})) == [Result(
            "eks-kubernetes-version", "cluster", Status.FAIL, "EKS does not offer Kubernetes 1.99 in us-east-1",
            "set servestack:cluster.kubernetesVersion to one EKS offers: 1.34, 1.33, 1.32")]


def _addon_versions(name: str, versions: list[str], default: str) -> dict:
    return {"addons": [{"addonName": name, "addonVersions": [
        {"addonVersion": v, "compatibilities": [{"clusterVersion": "1.34", "defaultVersion": v == default}]} for v in versions]}]}


def test_addon_versions_offered_pass_and_others_fail_listing_compatible_ones(aws_env):  # noqa: F811
    eks, stub = _stubbed("eks")
    cni = ["v1.20.4-eksbuild.2", "v1.20.4-eksbuild.1", "v1.20.3-eksbuild.1", "v1.20.2-eksbuild.1", "v1.20.1-eksbuild.1", "v1.20.0-eksbuild.1"]
    stub.add_response("describe_addon_versions", _addon_versions("vpc-cni", cni, "v1.20.3-eksbuild.1"),
                      {"addonName": "vpc-cni", "kubernetesVersion": "1.34"})
    stub.add_response("describe_addon_versions", _addon_versions("coredns", ["v1.12.4-eksbuild.1"], "v1.12.4-eksbuild.1"),
                      {"addonName": "coredns", "kubernetesVersion": "1.34"})
    stub.add_response("describe_addon_versions", {"addons": []}, {"addonName": "kube-prox", "kubernetesVersion": "1.34"})
    addons = [Addon("vpc-cni", "v1.19.0-eksbuild.1", "resource vpc-cni"), Addon("coredns", "v1.12.4-eksbuild.1", "resource coredns"),
              Addon("kube-prox", None, "config servestack:cluster.addons.kube-prox")]
    with stub:
        assert check_addons(addons, "1.34", AwsClients(REGION, overrides={"eks": eks})) == [
            Result("eks-addon-version", "add-on vpc-cni", Status.FAIL, "vpc-cni v1.19.0-eksbuild.1 is not offered for Kubernetes 1.34",
                   "pin a compatible version (resource vpc-cni): v1.20.4-eksbuild.2, v1.20.4-eksbuild.1, v1.20.3-eksbuild.1, "
                   "v1.20.2-eksbuild.1, v1.20.1-eksbuild.1, ...; the default is v1.20.3-eksbuild.1"),
            Result("eks-addon-version", "add-on coredns", Status.PASS, "coredns v1.12.4-eksbuild.1 is offered for Kubernetes 1.34"),
            Result("eks-addon-version", "add-on kube-prox", Status.FAIL, "EKS offers no add-on named kube-prox for Kubernetes 1.34",
                   "correct the add-on name (config servestack:cluster.addons.kube-prox); list them with aws eks describe-addon-versions"),
        ]


# --- quotas ------------------------------------------------------------------------------------

@pytest.mark.parametrize("instance_type, code", [
    ("g6.xlarge", "L-DB2E81BA"), ("g6e.12xlarge", "L-DB2E81BA"), ("gr6.4xlarge", "L-DB2E81BA"), ("p5.48xlarge", "L-417A185B"),
    ("p4de.24xlarge", "L-417A185B"), ("inf2.xlarge", "L-1945791B"), ("trn1n.32xlarge", "L-2C3B7624"), ("trn2.48xlarge", "L-2C3B7624"),
    ("f2.6xlarge", "L-74FC7D96"), ("m7i.large", "L-1216C47A"), ("m7i-flex.large", "L-1216C47A"), ("c7g.xlarge", "L-1216C47A"),
    ("r8g.large", "L-1216C47A"), ("t3.medium", "L-1216C47A"), ("x2idn.16xlarge", None), ("dl1.24xlarge", None),
])
def test_quota_class_of_instance_types(instance_type, code):
    quota = quota_for(instance_type)
    assert (quota.code if quota else None) == code


@pytest.mark.parametrize("instance_type, code", [
    ("g6.xlarge", "L-3819A6DF"), ("g5.xlarge", "L-3819A6DF"), ("p5.48xlarge", "L-7212CCBC"), ("inf2.xlarge", "L-B5D1601B"),
    ("trn1.32xlarge", "L-6B0D517C"), ("f2.6xlarge", "L-88CF9481"), ("m7i.large", "L-34B43A08"), ("t3.medium", "L-34B43A08"),
    ("x2idn.16xlarge", None),
])
def test_spot_quota_class_of_instance_types(instance_type, code):
    quota = quota_for(instance_type, "SPOT")
    assert (quota.code if quota else None) == code


def test_quotas_are_skipped_where_moto_cannot_tell(clients):
    assert check_quotas([PoolPlacement("gpu", ("g6.xlarge",), 2)], clients) == [Result(
        "ec2-quota", "pool gpu", Status.SKIP,
        "cannot tell the quota Running On-Demand G and VT instances (L-DB2E81BA) for 8 vCPUs: the AWS endpoint does not "
        "implement servicequotas:GetAWSDefaultServiceQuota")]


def _quota(code: str, value: float) -> dict:
    return {"Quota": {"ServiceCode": "ec2", "QuotaCode": code, "Value": value}}


def test_a_quota_too_low_for_the_pools_at_max_size_fails(aws_env):  # noqa: F811
    quotas, stub = _stubbed("service-quotas")
    stub.add_response("get_service_quota", _quota("L-1216C47A", 640.0), {"ServiceCode": "ec2", "QuotaCode": "L-1216C47A"})
    stub.add_client_error("get_service_quota", "NoSuchResourceException", expected_params={"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"})
    stub.add_response("get_aws_default_service_quota", _quota("L-DB2E81BA", 64.0), {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"})
    stub.add_response("get_service_quota", _quota("L-34B43A08", 5.0), {"ServiceCode": "ec2", "QuotaCode": "L-34B43A08"})
    stub.add_response("get_service_quota", _quota("L-3819A6DF", 0.0), {"ServiceCode": "ec2", "QuotaCode": "L-3819A6DF"})
    pools = [PoolPlacement("gpu", ("g6.xlarge", "g6.4xlarge"), 3), PoolPlacement("gpu-big", ("g6e.12xlarge",), 1),
             PoolPlacement("system", ("m7i.large",), 4), PoolPlacement("spot", ("g5.xlarge",), 10, "SPOT"),
             PoolPlacement("spot-cpu", ("m7i.large",), 2, "SPOT"), PoolPlacement("block", ("p5.48xlarge",), 1, "CAPACITY_BLOCK")]
    with stub:
        assert check_quotas(pools, AwsClients(REGION, overrides={"service-quotas": quotas})) == [
            Result("ec2-quota", "pool block", Status.SKIP,
                   "capacity type CAPACITY_BLOCK: the pool runs on capacity already purchased; on-demand and spot vCPU quotas "
                   "are not checked for it"),
            Result("ec2-quota", "pool system", Status.PASS,
                   "8 vCPUs at max size (system: 4 x m7i.large (2 vCPUs)) fit the quota L-1216C47A (Running On-Demand Standard "
                   "(A, C, D, H, I, M, R, T, Z) instances) of 640 vCPUs"),
            Result("ec2-quota", "pools gpu, gpu-big", Status.FAIL,
                   "at max size the pools need 96 vCPUs of Running On-Demand G and VT instances (gpu: 3 x g6.4xlarge (16 vCPUs); "
                   "gpu-big: 1 x g6e.12xlarge (48 vCPUs)); the account's quota L-DB2E81BA in us-east-1 is 64 vCPUs",
                   "request an increase (aws service-quotas request-service-quota-increase --service-code ec2 --quota-code "
                   "L-DB2E81BA --desired-value 96 --region us-east-1) or lower maxSize"),
            Result("ec2-quota", "pool spot-cpu", Status.PASS,
                   "4 vCPUs at max size (spot-cpu: 2 x m7i.large (2 vCPUs)) fit the quota L-34B43A08 (All Standard (A, C, D, "
                   "H, I, M, R, T, Z) Spot Instance Requests) of 5 vCPUs"),
            Result("ec2-quota", "pool spot", Status.FAIL,
                   "at max size the pools need 40 vCPUs of All G and VT Spot Instance Requests (spot: 10 x g5.xlarge (4 vCPUs)); "
                   "the account's quota L-3819A6DF in us-east-1 is 0 vCPUs",
                   "request an increase (aws service-quotas request-service-quota-increase --service-code ec2 --quota-code "
                   "L-3819A6DF --desired-value 40 --region us-east-1), lower maxSize, or set capacityType onDemand"),
        ]
    stub.assert_no_pending_responses()


# --- AWS out of reach ------------------------------------------------------------------------

@pytest.mark.parametrize("error, message", [
    (NoCredentialsError(), "no AWS credentials found: set AWS_PROFILE to a profile of ~/.aws/config, or AWS_ACCESS_KEY_ID "
                           "and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary credentials), or run `aws sso login`"),
    (ProfileNotFound(profile="ml"), "The config profile (ml) could not be found: set AWS_PROFILE to a profile that "
                                    "~/.aws/config defines, or unset it"),
    (EndpointConnectionError(endpoint_url="https://sts.amazonaws.com"),
     'cannot reach AWS: Could not connect to the endpoint URL: "https://sts.amazonaws.com"'),
    (ClientError({"Error": {"Code": "ExpiredToken", "Message": "The security token included in the request is expired"}}, "GetCallerIdentity"),
     "AWS rejected the credentials (ExpiredToken: The security token included in the request is expired): set AWS_PROFILE "
     "to a profile of ~/.aws/config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary "
     "credentials), or run `aws sso login`"),
    (ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2"), None),
])
def test_what_makes_aws_unavailable(aws_env, error, message):  # noqa: F811
    found = unavailable(error)
    assert (str(found) if found else None) == message


def test_access_denied_skips_the_check_instead_of_passing_it(aws_env):  # noqa: F811
    s3, stub = _stubbed("s3")
    stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
    stub.add_client_error("get_bucket_versioning", "AccessDenied", "Access Denied", 403)
    with stub:
        assert check_models([_model("s3://models/iris/latest/")], AwsClients(REGION, overrides={"s3": s3})) == [
            Result("s3-artifact", "endpoint iris (stable)", Status.SKIP,
                   "cannot tell whether s3://models/iris/latest/ exists: access denied to s3:ListBucket: grant it to the "
                   "credentials preflight runs with"),
            Result("s3-pinned", "endpoint iris (stable)", Status.SKIP,
                   "cannot tell whether bucket models is versioned: access denied to s3:GetBucketVersioning: grant it to the "
                   "credentials preflight runs with"),
        ]


def test_no_credentials_at_all_is_unavailable(aws_env):  # noqa: F811
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    aws_env.delenv("AWS_SESSION_TOKEN")
    with pytest.raises(AwsUnavailable, match="^no AWS credentials found: "):
        AwsClients(REGION).account()


def test_without_aws_region_in_the_plan_the_standard_region_resolution_applies(aws_env):  # noqa: F811
    from servestack.preflight import run_preflight

    aws_env.setenv("AWS_REGION", "eu-west-1")
    with mock_aws():
        report = run_preflight(plan_from_document({"config": {}, "steps": []}))
    assert (report.region, report.account, report.results) == ("eu-west-1", "123456789012", [Result(
        "eks-kubernetes-version", "cluster", Status.SKIP,
        "the plan creates no EKS cluster and servestack:cluster.kubernetesVersion is not set: nothing to check")])

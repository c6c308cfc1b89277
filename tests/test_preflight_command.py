"""``servestack preflight``: exit codes, text and JSON output; once end to end against moto_server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
from click.testing import CliRunner
from harness import REPO
from moto import mock_aws
from moto.server import ThreadedMotoServer
from preflight_fixtures import FAKE_AWS_ENV, aws_env, document, publish_eks_ami, subnet, write_plan  # noqa: F401 - fixture

from components.core import versions
from servestack.cli import cli
from servestack.preflight.amis import ssm_parameter

SERVESTACK = Path(sys.executable).with_name("servestack")


def _plan(candidate: str = "s3://models/iris/v2/", pool_type: str = "m7i.large") -> dict:
    return document(
        {"servestack:endpoints": {"iris": {"model": {"storageUri": "s3://models/iris/v1/"},
                                           "rollout": {"candidate": {"storageUri": candidate}}}},
         "servestack:nodePools": {"system": {"instanceTypes": [pool_type], "maxSize": 2}}},
        subnet("net-private-a", "us-east-1a"), subnet("net-private-b", "us-east-1b"),
    )


def _seed_models() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="models")
    s3.put_bucket_versioning(Bucket="models", VersioningConfiguration={"Status": "Enabled"})
    for version in ("v1", "v2"):
        s3.put_object(Bucket="models", Key=f"iris/{version}/model.joblib", Body=b"model")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _words(text: str) -> str:
    return " ".join(text.split())


def test_all_checks_pass_exit_0_with_json(aws_env, tmp_path):  # noqa: F811
    plan = write_plan(tmp_path, _plan())
    with mock_aws():
        _seed_models()
        result = CliRunner().invoke(cli, ["preflight", "--plan", str(plan), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "stack": "test", "region": "us-east-1", "account": "123456789012", "ok": True,
        "summary": {"pass": 6, "fail": 0, "warn": 0, "skip": 2},
        "results": [
            {"check": "s3-artifact", "subject": "endpoint iris (stable)", "status": "pass", "fix": "",
             "message": "s3://models/iris/v1/ has non-empty objects under the prefix, e.g. iris/v1/model.joblib (5 bytes)"},
            {"check": "s3-pinned", "subject": "endpoint iris (stable)", "status": "pass", "fix": "",
             "message": "s3://models/iris/v1/ names the version segment 'v1'"},
            {"check": "s3-artifact", "subject": "endpoint iris (candidate)", "status": "pass", "fix": "",
             "message": "s3://models/iris/v2/ has non-empty objects under the prefix, e.g. iris/v2/model.joblib (5 bytes)"},
            {"check": "s3-pinned", "subject": "endpoint iris (candidate)", "status": "pass", "fix": "",
             "message": "s3://models/iris/v2/ names the version segment 'v2'"},
            {"check": "ec2-region-offering", "subject": "pool system", "status": "pass", "fix": "",
             "message": "m7i.large is offered in region us-east-1"},
            {"check": "ec2-zone-offering", "subject": "pool system", "status": "pass", "fix": "",
             "message": "m7i.large is offered in every zone of the pool: us-east-1a, us-east-1b"},
            {"check": "eks-kubernetes-version", "subject": "cluster", "status": "skip", "fix": "",
             "message": "the plan creates no EKS cluster and servestack:cluster.kubernetesVersion is not set: nothing to check"},
            {"check": "ec2-quota", "subject": "pool system", "status": "skip", "fix": "",
             "message": "cannot tell the quota Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (L-1216C47A) "
                        "for 4 vCPUs: the AWS endpoint does not implement servicequotas:GetAWSDefaultServiceQuota"},
        ],
    }


def test_a_failure_exits_1_and_the_text_names_what_is_wrong_and_the_fix(aws_env, tmp_path):  # noqa: F811
    write_plan(tmp_path, _plan(candidate="s3://models/iris/v3/"))
    with mock_aws():
        _seed_models()
        result = CliRunner().invoke(cli, ["preflight", "--plan", str(tmp_path), "--stack", "test"])
    assert result.exit_code == 1, result.output
    text = _words(result.stdout)
    assert text.startswith("Preflight of stack test against AWS account 123456789012 in us-east-1")
    assert ("FAIL endpoint iris (candidate) s3-artifact nothing at s3://models/iris/v3/: no object with that key and none "
            "under that prefix fix: upload the model (aws s3 cp --recursive <model dir> s3://models/iris/v3/), or correct the "
            "storageUri (config servestack:endpoints.iris.rollout.candidate.storageUri) ") in text
    assert text.endswith("preflight failed: 5 passed, 1 failed, 0 warnings, 2 skipped (a skipped check is not a pass: "
                         "the API could not tell)")


def test_stack_is_planned_first_when_no_plan_is_given(aws_env):  # noqa: F811
    with mock_aws():
        # The dev stack's endpoints read their models from this bucket.
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="acme-ml-models-dev")
        s3.put_bucket_versioning(Bucket="acme-ml-models-dev", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="acme-ml-models-dev", Key="models/iris/1.3.0/model.joblib", Body=b"model")
        s3.put_object(Bucket="acme-ml-models-dev", Key="models/chat/2.5-1.5b-instruct/config.json", Body=b"{}")
        s3.put_object(Bucket="acme-ml-models-dev", Key="models/qwen-chat/2.5-1.5b-instruct/config.json", Body=b"{}")
        # The EKS AL2023 release of the GPU pool's EC2NodeClass alias, as AWS publishes it.
        publish_eks_ami(ssm_parameter("1.35", "x86_64", "nvidia", versions.EKS_AL2023_AMI.version), "ami-0a1b2c3d4e5f60718")
        result = CliRunner().invoke(cli, ["preflight", "--stack", "dev", "--project", str(REPO), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"] == {"pass": 13, "fail": 0, "warn": 0, "skip": 8}
    assert [(r["check"], r["subject"], r["status"]) for r in report["results"]] == [
        ("s3-artifact", "endpoint chat (stable)", "pass"), ("s3-pinned", "endpoint chat (stable)", "pass"),
        ("s3-artifact", "endpoint iris (stable)", "pass"), ("s3-pinned", "endpoint iris (stable)", "pass"),
        ("s3-artifact", "endpoint qwen-chat (stable)", "pass"), ("s3-pinned", "endpoint qwen-chat (stable)", "pass"),
        ("ec2-region-offering", "pool gpu", "pass"), ("ec2-zone-offering", "pool gpu", "pass"),
        ("ec2-region-offering", "pool gpu", "pass"), ("ec2-zone-offering", "pool gpu", "pass"),
        ("ec2-region-offering", "pool system", "pass"), ("ec2-zone-offering", "pool system", "pass"),
        ("eks-kubernetes-version", "cluster", "skip"),
        ("eks-addon-version", "add-on aws-ebs-csi-driver", "skip"), ("eks-addon-version", "add-on coredns", "skip"),
        ("eks-addon-version", "add-on eks-pod-identity-agent", "skip"), ("eks-addon-version", "add-on kube-proxy", "skip"),
        ("eks-addon-version", "add-on vpc-cni", "skip"),
        ("ec2-quota", "pool system", "skip"), ("ec2-quota", "pool gpu", "skip"),
        ("ami-release", "pool gpu", "pass"),
    ]
    # moto answers no quota; the spot GPU pool is checked against the spot quota all the same.
    assert [r["message"] for r in report["results"] if r["subject"] == "pool gpu" and r["check"] == "ec2-quota"] == [
        "cannot tell the quota All G and VT Spot Instance Requests (L-3819A6DF) for 12 vCPUs: the AWS endpoint does not "
        "implement servicequotas:GetAWSDefaultServiceQuota"]


def _plan_of_stack(stack: str) -> dict:
    """The plan of ``_plan()`` as planned for another stack: its URNs carry that stack's name."""
    return json.loads(json.dumps(_plan()).replace("urn:pulumi:test::", f"urn:pulumi:{stack}::"))


def test_with_plan_the_report_names_the_plans_own_stack_not_the_default(aws_env, tmp_path):  # noqa: F811
    plan = write_plan(tmp_path, _plan_of_stack("prod"))
    with mock_aws():
        _seed_models()
        text = CliRunner().invoke(cli, ["preflight", "--plan", str(tmp_path)])
        as_json = CliRunner().invoke(cli, ["preflight", "--plan", str(plan), "--format", "json"])
    assert _words(text.stdout).startswith("Preflight of stack prod against AWS account 123456789012 in us-east-1")
    assert json.loads(as_json.stdout)["stack"] == "prod"


def test_with_plan_and_no_aws_the_json_error_names_the_plans_own_stack(aws_env, tmp_path):  # noqa: F811
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        aws_env.delenv(key)
    result = CliRunner().invoke(cli, ["preflight", "--plan", str(write_plan(tmp_path, _plan_of_stack("prod"))), "--format", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["stack"] == "prod"


def test_a_stack_that_contradicts_the_plan_exits_2_before_asking_aws(aws_env, tmp_path):  # noqa: F811
    plan = write_plan(tmp_path, _plan_of_stack("prod"))
    result = CliRunner().invoke(cli, ["preflight", "--plan", str(plan), "--stack", "dev"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"error: {plan} is a plan of stack prod, not of --stack dev; drop --stack or pass a plan "
                             "of that stack\n")


def test_no_credentials_exit_2_naming_what_is_missing(aws_env, tmp_path):  # noqa: F811
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        aws_env.delenv(key)
    result = CliRunner().invoke(cli, ["preflight", "--plan", str(write_plan(tmp_path, _plan()))])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("error: preflight needs AWS: no AWS credentials found: set AWS_PROFILE to a profile of "
                             "~/.aws/config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for "
                             "temporary credentials), or run `aws sso login`\n")


def test_an_unknown_profile_exits_2(aws_env, tmp_path):  # noqa: F811
    aws_env.setenv("AWS_PROFILE", "ml-platform")
    result = CliRunner().invoke(cli, ["preflight", "--plan", str(write_plan(tmp_path, _plan()))])
    assert result.exit_code == 2
    assert result.stderr == ("error: preflight needs AWS: The config profile (ml-platform) could not be found: set AWS_PROFILE "
                             "to a profile that ~/.aws/config defines, or unset it\n")


def test_aws_out_of_reach_exits_2_with_json_error(aws_env, tmp_path):  # noqa: F811
    endpoint = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    aws_env.setenv("AWS_ENDPOINT_URL", endpoint)
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")
    result = CliRunner().invoke(cli, ["preflight", "--plan", str(write_plan(tmp_path, _plan())), "--format", "json"])
    message = f'cannot reach AWS: Could not connect to the endpoint URL: "{endpoint}/" (AWS_ENDPOINT_URL is {endpoint})'
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"stack": "test", "ok": False, "error": message}
    assert result.stderr == f"error: preflight needs AWS: {message}\n"


def test_a_missing_plan_file_exits_2(aws_env, tmp_path):  # noqa: F811
    result = CliRunner().invoke(cli, ["preflight", "--plan", str(tmp_path / "nope.json")])
    assert (result.exit_code, result.stderr) == (
        2, f"error: no plan at {tmp_path / 'nope.json'} (run `servestack plan` or `pulumi preview --json > {tmp_path / 'nope.json'}`)\n")


def test_end_to_end_against_moto_server_through_aws_endpoint_url(aws_env, tmp_path):  # noqa: F811
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        aws_env.setenv("AWS_ENDPOINT_URL", endpoint)
        _seed_models()  # through AWS_ENDPOINT_URL too
        plan = _plan(candidate="s3://models/iris/v3/", pool_type="trn1.2xlarge")
        plan["config"]["servestack:cluster"] = {"kubernetesVersion": "1.34"}
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **FAKE_AWS_ENV,
               "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": os.environ["AWS_CONFIG_FILE"],
               "AWS_SHARED_CREDENTIALS_FILE": os.environ["AWS_SHARED_CREDENTIALS_FILE"]}
        run = subprocess.run([str(SERVESTACK), "preflight", "--plan", str(write_plan(tmp_path, plan)), "--format", "json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    finally:
        server.stop()
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert (report["stack"], report["account"], report["summary"]) == (
        "test", "123456789012", {"pass": 4, "fail": 2, "warn": 0, "skip": 2})
    failures = [r for r in report["results"] if r["status"] == "fail"]
    assert failures == [
        {"check": "s3-artifact", "subject": "endpoint iris (candidate)", "status": "fail",
         "message": "nothing at s3://models/iris/v3/: no object with that key and none under that prefix",
         "fix": "upload the model (aws s3 cp --recursive <model dir> s3://models/iris/v3/), or correct the storageUri "
                "(config servestack:endpoints.iris.rollout.candidate.storageUri)"},
        {"check": "ec2-zone-offering", "subject": "pool system", "status": "fail",
         "message": "trn1.2xlarge is not offered in us-east-1a, us-east-1b (zones from the availabilityZone of the plan's "
                    "private subnets: us-east-1a, us-east-1b)",
         "fix": "choose an instance type offered in every zone of the pool, or place the pool's subnets in zones that offer "
                "trn1.2xlarge (aws ec2 describe-instance-type-offerings --location-type availability-zone --filters "
                "Name=instance-type,Values=trn1.2xlarge --region us-east-1)"},
    ]
    assert [r["message"] for r in report["results"] if r["status"] == "skip"] == [
        "cannot tell whether EKS offers Kubernetes 1.34: the AWS endpoint does not implement eks:DescribeClusterVersions",
        "cannot tell the quota Running On-Demand Trn instances (L-2C3B7624) for 16 vCPUs: the AWS endpoint does not implement "
        "servicequotas:GetAWSDefaultServiceQuota",
    ]

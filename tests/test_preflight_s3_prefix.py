"""Preflight's S3 artifact check lists a model URI as a folder (``key/``): a sibling prefix that merely
starts with the same characters (``…-old/``) is another model and never satisfies it (moto)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from preflight_fixtures import aws_env  # noqa: F401
from plandoc.models import ModelUri
from servestack.preflight.aws import AwsClients
from servestack.preflight.report import Result, Status
from servestack.preflight.s3 import check_models

REGION = "us-east-1"
URI = "s3://models/chat/2.5-1.5b-instruct"


@pytest.fixture
def clients(aws_env):  # noqa: F811
    with mock_aws():
        yield AwsClients(REGION)


def _bucket(objects: dict[str, bytes]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="models")
    s3.put_bucket_versioning(Bucket="models", VersioningConfiguration={"Status": "Enabled"})
    for key, body in objects.items():
        s3.put_object(Bucket="models", Key=key, Body=body)


def _artifact(clients, uri: str = URI) -> Result:
    return check_models([ModelUri("chat", uri, ("stable",), ("config servestack:endpoints.chat.model.storageUri",))], clients)[0]


def test_a_sibling_prefix_with_a_longer_name_does_not_satisfy_the_model(clients):
    _bucket({"chat/2.5-1.5b-instruct-old/config.json": b"{}" * 10, "chat/2.5-1.5b-instruct-old/model.safetensors": b"x" * 64})
    assert _artifact(clients) == Result(
        "s3-artifact", "endpoint chat (stable)", Status.FAIL,
        f"nothing at {URI}: no object with that key and none under {URI}/",
        f"upload the model (aws s3 cp --recursive <model dir> {URI}), or correct the storageUri "
        "(config servestack:endpoints.chat.model.storageUri)")


def test_objects_under_the_folder_pass_beside_a_sibling(clients):
    _bucket({"chat/2.5-1.5b-instruct-old/model.safetensors": b"x" * 64, "chat/2.5-1.5b-instruct/model.safetensors": b"y" * 32})
    assert _artifact(clients) == Result(
        "s3-artifact", "endpoint chat (stable)", Status.PASS,
        f"{URI} has non-empty objects under the prefix, e.g. chat/2.5-1.5b-instruct/model.safetensors (32 bytes)")


def test_an_object_of_exactly_that_key_passes_beside_a_sibling(clients):
    _bucket({"chat/2.5-1.5b-instruct": b"z" * 5, "chat/2.5-1.5b-instruct-old/model.safetensors": b"x" * 64})
    assert _artifact(clients) == Result("s3-artifact", "endpoint chat (stable)", Status.PASS,
                                        f"{URI} has non-empty object (5 bytes)")


def test_an_empty_object_of_that_key_and_a_sibling_is_only_an_empty_object(clients):
    _bucket({"chat/2.5-1.5b-instruct": b"", "chat/2.5-1.5b-instruct-old/model.safetensors": b"x" * 64})
    result = _artifact(clients)
    assert (result.status, result.message.split(";")[0]) == (
        Status.FAIL, f"{URI} holds only empty objects or folder markers (1)")

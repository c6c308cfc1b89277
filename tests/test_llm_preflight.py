"""`servestack preflight` checks LLM endpoints' models (moto): an ``s3://`` model exists under its
prefix listed as a folder (``key/``), and is pinned; an ``hf://`` model is pinned to a commit."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from llm_plans import document, llm
from plandoc.document import plan_from_document
from plandoc.models import ModelUri
from preflight_fixtures import aws_env  # noqa: F401
from servestack.preflight.aws import AwsClients
from servestack.preflight.inputs import collect
from servestack.preflight.report import Result, Status
from servestack.preflight.s3 import check_models

URI = "s3://acme-ml-models-dev/models/qwen-chat/2.5-1.5b-instruct"
SOURCE = "resource servestack-llm-qwen-chat-llmisvc spec.model.uri"
COMMIT = "989aa7980e4cf806f80c7fef2b1adb7bc71aa306"


@pytest.fixture
def clients(aws_env):  # noqa: F811
    with mock_aws():
        yield AwsClients("us-east-1")


def _llm_models(doc) -> list[ModelUri]:
    return [m for m in collect(plan_from_document(doc)).models if m.sources == (SOURCE,)]


def _bucket(objects: dict[str, bytes], versioned: bool = False) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="acme-ml-models-dev")
    if versioned:
        s3.put_bucket_versioning(Bucket="acme-ml-models-dev", VersioningConfiguration={"Status": "Enabled"})
    for key, body in objects.items():
        s3.put_object(Bucket="acme-ml-models-dev", Key=key, Body=body)


def test_preflight_reads_the_llm_endpoints_model_from_the_plan():
    assert _llm_models(document("dev")) == [ModelUri("qwen-chat", URI, ("stable",), (SOURCE,))]


def test_an_llm_model_under_its_prefix_passes_and_an_unversioned_bucket_without_a_version_segment_fails(clients):
    _bucket({"models/qwen-chat/2.5-1.5b-instruct/model.safetensors": b"w" * 48})
    artifact, pinned = check_models(_llm_models(document("dev")), clients)
    assert artifact == Result("s3-artifact", "endpoint qwen-chat (stable)", Status.PASS,
                              f"{URI} has non-empty objects under the prefix, e.g. "
                              "models/qwen-chat/2.5-1.5b-instruct/model.safetensors (48 bytes)")
    assert (pinned.check, pinned.status) == ("s3-pinned", Status.FAIL)
    assert pinned.message == (f"{URI} names no version and versioning of bucket acme-ml-models-dev is never enabled: the "
                              "model can be overwritten in place, so what serves is not what was reviewed")


def test_a_sibling_prefix_does_not_satisfy_an_llm_model(clients):
    _bucket({"models/qwen-chat/2.5-1.5b-instruct-old/model.safetensors": b"w" * 48}, versioned=True)
    artifact, pinned = check_models(_llm_models(document("dev")), clients)
    assert artifact == Result(
        "s3-artifact", "endpoint qwen-chat (stable)", Status.FAIL,
        f"nothing at {URI}: no object with that key and none under {URI}/",
        f"upload the model (aws s3 cp --recursive <model dir> {URI}), or correct the storageUri ({SOURCE})")
    assert pinned == Result("s3-pinned", "endpoint qwen-chat (stable)", Status.PASS,
                            "bucket acme-ml-models-dev has versioning enabled")


def test_a_hugging_face_llm_model_reports_its_pin(clients):
    doc = document("dev")
    llm(doc, "qwen-chat")["model"]["uri"] = f"hf://Qwen/Qwen2.5-1.5B-Instruct:{COMMIT}"
    assert check_models(_llm_models(doc), clients) == [Result(
        "hf-pinned", "endpoint qwen-chat (stable)", Status.PASS,
        f"hf://Qwen/Qwen2.5-1.5B-Instruct:{COMMIT} is pinned to commit {COMMIT} (that the commit exists on Hugging "
        "Face is not checked: preflight talks to AWS only)")]


@pytest.mark.parametrize("uri, problem", [
    ("hf://Qwen/Qwen2.5-1.5B-Instruct", "must pin a revision, hf://<org>/<model>:<commit hash>: without one KServe "
     "downloads whatever the repository's main branch holds when each pod starts, so replicas of one version can serve "
     "different weights"),
    ("hf://Qwen/Qwen2.5-1.5B-Instruct:main", "must pin the revision by its full 40-character commit hash "
     "(hf://<org>/<model>:<commit hash>); a branch or tag name can move"),
])
def test_an_unpinned_hugging_face_llm_model_in_a_real_preview_fails(clients, uri, problem):
    doc = document("dev")  # the config refuses these; a preview made elsewhere can still carry them
    llm(doc, "qwen-chat")["model"]["uri"] = uri
    assert check_models(_llm_models(doc), clients) == [Result(
        "hf-pinned", "endpoint qwen-chat (stable)", Status.FAIL, f"{uri} {problem}",
        f"pin the commit: hf://<org>/<model>:<40-hex commit> ({SOURCE})")]

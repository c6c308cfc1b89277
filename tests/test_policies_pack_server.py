"""The policy pack as the Pulumi engine starts it: a gRPC analyzer that announces every policy."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from harness import REPO
from policies.rules import ALL_RULES


@pytest.fixture
def analyzer():
    # `pulumi preview --policy-pack policies` runs policies/__main__.py and reads the port it prints.
    process = subprocess.Popen([sys.executable, str(REPO / "policies" / "__main__.py")], cwd=REPO / "policies",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = int(process.stdout.readline().decode().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=20)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_pack_announces_every_rule_with_its_level_and_config_schema(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "servestack"
    policies = {p.name: p for p in info.policies}
    assert list(policies) == [r.name for r in ALL_RULES]
    assert policies["node-group-no-ssh"].enforcementLevel == analyzer_pb2.MANDATORY
    schema = json_format.MessageToDict(policies["hourly-cost-cap"].configSchema.properties)
    assert schema["maxHourlyCost"]["default"] == 100


def test_the_pack_reports_a_violation_of_a_resource(analyzer):
    properties = struct_pb2.Struct()
    properties.update({"metadataOptions": {"httpTokens": "optional"},
                       "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]})
    response = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
        type="aws:ec2/launchTemplate:LaunchTemplate", properties=properties,
        urn="urn:pulumi:prod::servestack::aws:ec2/launchTemplate:LaunchTemplate::gpu", name="gpu"))
    assert [(d.policyName, d.message.splitlines()[0]) for d in response.diagnostics] == [
        ("launch-template-imdsv2", "Node launch templates require IMDSv2 with a hop limit that keeps pods away from node credentials.")]
    assert 'metadataOptions.httpTokens is optional; required: "required" (IMDSv2)' in response.diagnostics[0].message

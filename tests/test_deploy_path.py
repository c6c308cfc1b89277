"""The deploy path (issue 24): the platform's charts no longer wait for Karpenter's NodePools, workloads on
Karpenter pools still do, and `servestack deploy-path` prints the simulated critical path."""

from __future__ import annotations

from click.testing import CliRunner
from harness import plan_config, stack_config

from plandoc.deploy_path import deploy_path, waits_for
from servestack.cli import cli
from servestack.plan.document import write_plan

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"


def _urn(document, name):
    return next(s["urn"] for s in document["steps"] if s["urn"].endswith(f"::{name}"))


def test_prod_platform_charts_do_not_pass_through_karpenter():
    """Every Helm release of the platform waits for the managed node group and add-ons, none for a NodePool;
    the endpoints on Karpenter pools (chat: gpu, summarize: neuron) wait for their own pool's NodePool and
    device plugin, fraud (system pool) for neither.

    Critical path (components/core/create_times.py), before (main at 784bc7f) -> after: 1347 s (22m 27s: ...
    system node group 859 s, Karpenter release +90 s, neuron EC2NodeClass and NodePool +2 s +2 s, then the
    platform's charts, an endpoint and its smoke Job) -> 1313 s (21m 53s: the system node group at 859 s,
    CoreDNS +60 s, then the charts)."""
    document = plan_config(stack_config("prod"), stack="prod").document
    releases = [s["urn"] for s in document["steps"]
                if s["newState"]["type"] == "kubernetes:helm.sh/v3:Release" and "-platform-" in s["urn"]]
    assert len(releases) == 9
    assert [r.rsplit("::", 1)[1] for r in releases if waits_for(document, r, NODE_POOL)] == []
    assert all(waits_for(document, r, "aws:eks/nodeGroup:NodeGroup") for r in releases)
    chat, fraud = _urn(document, "servestack-endpoint-chat-isvc"), _urn(document, "servestack-endpoint-fraud-isvc")
    gpu_pool = _urn(document, "servestack-karpenter-gpu-nodepool")
    chat_deps = set(next(s for s in document["steps"] if s["urn"] == chat)["newState"]["dependencies"])
    assert gpu_pool in chat_deps and _urn(document, "servestack-karpenter-neuron-nodepool") not in chat_deps
    assert waits_for(document, chat, NODE_POOL) and not waits_for(document, fraud, NODE_POOL)
    path = deploy_path(document)
    assert path.total_seconds == 1313
    assert [s.name for s in path.steps if s.seconds >= 60] == [
        "servestack-cluster-eks", "servestack-cluster-vpc-cni", "servestack-pools-system", "servestack-addons-coredns",
        "servestack-platform-envoy-gateway", "servestack-platform-ai-gateway-crds", "servestack-platform-ai-gateway",
        "servestack-platform-kserve-resources", "servestack-platform-kserve-llmisvc-resources",
        "servestack-platform-kserve-runtime-configs"]


def test_deploy_path_command(tmp_path):
    write_plan(plan_config(stack_config("dev"), stack="dev").document, tmp_path)
    result = CliRunner().invoke(cli, ["deploy-path", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Critical path of {tmp_path / 'preview.json'}: ")
    assert "  aws:eks/cluster:Cluster: 600s x 1" in lines
    assert lines[-1].startswith("  every other resource: 2s x ")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = CliRunner().invoke(cli, ["deploy-path", str(bad)])
    assert (result.exit_code, result.output) == (2, f"error: {bad} is not a servestack plan or the JSON of "
                                                    "`pulumi preview --json`: it has neither steps nor changeSummary\n")

"""Device plugins: installed only where a pool needs them, tolerating exactly those pools' taints."""

from __future__ import annotations

import json

import pulumi_kubernetes as k8s
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.core import catalog, versions
from components.core.catalog import AcceleratorKind
from components.core.plugin_values import neuron_values, tolerations
from components.device_plugins import DeclaredPlugin, DevicePlugins, DevicePluginsArgs
from components.render.device_plugins import declared_daemon_set, declared_network_policy
from components.core.placement import placement_for
from harness import plan_program, resource, resources

FPGA_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fpga-device-plugin:1.0.0"
AFFINITY = {
    kind: {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "servestack.io/accelerator", "operator": "In", "values": [kind]}]},
    ]}}}
    for kind in ("nvidia",)
}


def placements(with_fpga_resource: str = "example.com/fpga"):
    return {
        "system": placement_for("system", ["m7i.large"], 3),
        "gpu": placement_for("gpu", ["g6.xlarge"], 2),
        "big-gpu": placement_for("big-gpu", ["p5.48xlarge"], 1),
        "inf": placement_for("inf", ["inf2.xlarge"], 2),
        "fpga": placement_for("fpga", ["f2.6xlarge"], 1, resource_name=with_fpga_resource),
    }


def plugins_program(pools, fpga: DeclaredPlugin | None = None):
    def program():
        provider = k8s.Provider("k8s", kubeconfig="{}")
        declared = {AcceleratorKind.FPGA: fpga} if fpga else {}
        DevicePlugins("plugins", DevicePluginsArgs(placements=pools, provider=provider, declared=declared))
    return program


@pytest.fixture(scope="module")
def plan():
    # Read-only: planned once, inspected by many tests.
    return plan_program(plugins_program(placements(), DeclaredPlugin(image=FPGA_IMAGE, resource_name="example.com/fpga")))


def test_nvidia_release(plan):
    release = resource(plan, "kubernetes:helm.sh/v3:Release", "plugins-nvidia")
    inputs = release["inputs"]
    assert {k: inputs[k] for k in ("name", "chart", "version", "namespace", "repositoryOpts", "values", "cleanupOnFail")} == {
        "name": "nvidia-device-plugin",
        "chart": "nvidia-device-plugin",
        "version": versions.NVIDIA_DEVICE_PLUGIN_CHART.version,
        "namespace": "kube-system",
        "repositoryOpts": {"repo": "https://nvidia.github.io/k8s-device-plugin"},
        "cleanupOnFail": True,
        "values": {
            "affinity": AFFINITY["nvidia"],
            "nodeSelector": {"servestack.io/accelerator": "nvidia"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
            "priorityClassName": "system-node-critical",
            "gfd": {"enabled": False},
        },
    }
    assert release["provider"].startswith("urn:pulumi:test::servestack::pulumi:providers:kubernetes::k8s::")


def test_neuron_release(plan):
    inputs = resource(plan, "kubernetes:helm.sh/v3:Release", "plugins-neuron")["inputs"]
    assert {k: inputs[k] for k in ("name", "chart", "version", "namespace", "values", "cleanupOnFail")} == {
        "name": "neuron-device-plugin",
        "chart": "oci://public.ecr.aws/neuron/neuron-helm-chart",
        "version": versions.NEURON_HELM_CHART.version,
        "namespace": "kube-system",
        "cleanupOnFail": True,
        "values": {
            # The chart has no devicePlugin.affinity (it builds the affinity from neuronInstances):
            # the instance types of the Neuron pools, so the plugin runs on exactly their nodes.
            "neuronInstances": ["inf2.xlarge"],
            "devicePlugin": {
                "nodeSelector": {"servestack.io/accelerator": "neuron"},
                "tolerations": [{"key": "aws.amazon.com/neuron", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
                "priorityClassName": "system-node-critical",
            },
            "npd": {"enabled": False},
            "scheduler": {"enabled": False},
        },
    }
    assert "repositoryOpts" not in inputs


def test_neuron_plugin_runs_on_exactly_the_instance_types_of_the_neuron_pools():
    """The chart's own neuronInstances list lacks trn2: a trn2 pool would get no device plugin."""
    pools = [placement_for("train", ["trn2.48xlarge", "trn1.32xlarge"], 1), placement_for("inf", ["inf2.xlarge"], 2),
             placement_for("inf-big", ["inf2.xlarge", "inf2.8xlarge"], 2)]
    values = neuron_values(AcceleratorKind.NEURON, pools)
    assert values["neuronInstances"] == ["inf2.8xlarge", "inf2.xlarge", "trn1.32xlarge", "trn2.48xlarge"]
    assert "affinity" not in values["devicePlugin"]


def test_fpga_daemon_set_manifest(plan):
    (manifest,) = [m for _, m in plan.manifests() if m["kind"] == "DaemonSet"]
    assert manifest == declared_daemon_set(AcceleratorKind.FPGA, [placements()["fpga"]], FPGA_IMAGE, "example.com/fpga")
    spec = manifest["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"servestack.io/accelerator": "fpga"}
    assert spec["tolerations"] == [{"key": "example.com/fpga", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    container = spec["containers"][0]
    assert (container["image"], container["env"]) == (FPGA_IMAGE, [{"name": "RESOURCE_NAME", "value": "example.com/fpga"}])
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                             "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    # Issue 16: what Checkov asks of a DaemonSet and a device plugin can give: seccomp, a pod securityContext, a CPU limit.
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert container["resources"] == {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
    assert manifest["metadata"]["namespace"] == "kube-system"
    # What it cannot pass is documented in the manifest, as Checkov's skip annotations.
    annotations = {k: v for k, v in manifest["metadata"]["annotations"].items() if k.startswith("checkov.io/")}
    assert [a.split("=")[0] for a in annotations.values()] == (
        ["CKV_K8S_15", "CKV_K8S_23", "CKV_K8S_40", "CKV_K8S_43", "CKV_K8S_8", "CKV_K8S_9"])
    # ... and, for the policy pack's pod-security-standards, the restricted profile's checks it waives, with why.
    assert json.loads(manifest["metadata"]["annotations"]["servestack.io/pod-security-exceptions"]) == {
        "hostPath": "mounts the kubelet's /var/lib/kubelet/device-plugins (where it registers over a unix socket) and "
                    "/dev (the FPGA devices) from the node: a device plugin's job",
        "runAsNonRoot": "runs as root: it creates its socket in the kubelet's root-owned directory and opens the "
                        "root-owned device files under /dev"}
    assert annotations["checkov.io/skip2"] == (
        "CKV_K8S_23=runs as root: it creates its socket in the kubelet's root-owned /var/lib/kubelet/device-plugins and "
        "opens the FPGA devices under /dev (privileged access to the device, through hostPath)")
    assert annotations["checkov.io/skip4"].startswith("CKV_K8S_43=the stack gives the image by tag, not digest")


def test_fpga_plugin_by_digest_claims_no_digest_exception():
    digest = FPGA_IMAGE + "@sha256:" + "0" * 64
    manifest = declared_daemon_set(AcceleratorKind.FPGA, [placements()["fpga"]], digest, "example.com/fpga")
    assert [a.split("=")[0] for k, a in manifest["metadata"]["annotations"].items() if k.startswith("checkov.io/")] == (
        ["CKV_K8S_15", "CKV_K8S_23", "CKV_K8S_40", "CKV_K8S_8", "CKV_K8S_9"])


@pytest.mark.parametrize("kind", [AcceleratorKind.NVIDIA, AcceleratorKind.NEURON, AcceleratorKind.FPGA])
def test_tolerations_equal_the_taints_of_the_pools_served(kind):
    pools = [p for p in placements().values() if p.kind is kind]
    expected = {(t.key, t.value, t.effect) for p in pools for t in p.taints}
    assert {(t["key"], t["value"], t["effect"]) for t in tolerations(pools)} == expected
    assert all(t["operator"] == "Equal" for t in tolerations(pools))


def test_only_plugins_that_pools_need_are_installed():
    plan = plan_program(plugins_program({"system": placements()["system"], "gpu": placements()["gpu"]}))
    assert sorted(resources(plan, "kubernetes:helm.sh/v3:Release")) == ["plugins-nvidia"]
    assert plan.manifests() == []


def test_an_fpga_pool_without_a_declared_plugin_is_refused():
    with pytest.raises(Exception, match=r"FPGA pools fpga need an FPGA device plugin \(image and resource name\)"):
        plan_program(plugins_program({"fpga": placements()["fpga"]}))


def test_cpu_only_cluster_gets_no_plugin():
    plan = plan_program(plugins_program({"system": placements()["system"]}))
    assert resources(plan, "kubernetes:helm.sh/v3:Release") == {}
    assert [s["newState"]["type"] for s in plan.steps if s["newState"]["custom"]] == ["pulumi:providers:kubernetes"]


# ----------------------------------------------------------------------------- properties

_BY_KIND = {
    kind: [t for t in catalog.known_instance_types() if catalog.lookup(t).kind is kind and catalog.lookup(t).architecture == "x86_64"]
    for kind in (AcceleratorKind.NVIDIA, AcceleratorKind.NEURON, AcceleratorKind.FPGA)
}


@st.composite
def pools_of_one_kind(draw):
    kind = draw(st.sampled_from(sorted(_BY_KIND, key=lambda k: k.value)))
    count = draw(st.integers(min_value=1, max_value=4))
    pools = []
    for i in range(count):
        types = draw(st.lists(st.sampled_from(_BY_KIND[kind]), min_size=1, max_size=3, unique=True))
        resource = draw(st.sampled_from(["example.com/fpga", "servestack.io/fpga"])) if kind == AcceleratorKind.FPGA else None
        pools.append(placement_for(f"pool-{i}", types, 2, resource_name=resource))
    return kind, pools


@settings(max_examples=60, deadline=None)
@given(pools_of_one_kind())
def test_plugin_tolerations_are_exactly_the_union_of_pool_taints(case):
    kind, pools = case
    result = tolerations(pools)
    assert {(t["key"], t["value"], t["effect"]) for t in result} == {(t.key, t.value, t.effect) for p in pools for t in p.taints}
    assert len(result) == len({(t["key"], t["value"], t["effect"]) for t in result})
    assert result == sorted(result, key=lambda t: (t["key"], t["value"], t["effect"]))
    assert all(p.labels[catalog.ACCELERATOR_LABEL] == kind.value for p in pools)


def test_the_declared_plugins_pods_get_a_network_policy_that_admits_nothing(plan):
    # A device plugin talks to the kubelet over a unix socket; Checkov's CKV2_K8S_6 asks for a policy.
    (manifest,) = [m for _, m in plan.manifests() if m["kind"] == "NetworkPolicy"]
    assert manifest == declared_network_policy(AcceleratorKind.FPGA)
    assert manifest["spec"] == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "fpga-device-plugin"}},
                                "policyTypes": ["Ingress", "Egress"]}

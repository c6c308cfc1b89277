"""Issue 22, class 1: the restricted Pod Security Standard over every pod template, whatever carries it.

Faults go into REAL plans (prod's, or a stack planned from a changed config), several members of the
class at once, on every kind that carries pods: servestack's own (InferenceService components,
LLMInferenceService templates, ClusterServingRuntimes, the FPGA plugin's DaemonSet, Helm values) and
kinds a hand-edited program or another tool would add (Deployments, CronJobs, LeaderWorkerSets, Pods).
"""

from __future__ import annotations

import copy
import json

from harness import plan_config, repository_plan, stack_config
from test_policies_faults import ISVC, findings, prod_document, step

from components.core.pod_security import EXCEPTIONS_ANNOTATION
from plandoc.document import plan_from_document
from plandoc.pods import pod_specs
from policies.rules import evaluate
from policies.rules.pod_security import findings as pod_findings

LLM = "kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
RULE = "pod-security-standards"
PREFIX = "urn:pulumi:prod::servestack::"


def pss(document, policy=None):
    return [(f[2], f[3]) for f in findings(document, policy) if f[0] == RULE]


def add(document, type_, name, inputs):
    urn = f"{PREFIX}{type_}::{name}"
    document["steps"].append({"op": "create", "urn": urn, "newState": {"type": type_, "urn": urn, "inputs": inputs}})


def runtime_config():
    """Prod's config with a ClusterServingRuntime of its own (stacks/ declare none)."""
    config = stack_config("prod")
    config["servestack:servingRuntimes"] = {"acme-triton": {
        "formats": [{"name": "acme-onnx"}],
        "container": {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/triton:24.08"},
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}}}
    return config


def test_every_pod_servestack_renders_meets_the_restricted_profile():
    """Each kind servestack renders pods for, in the repository's stacks and a runtime of its own: no finding
    but the documented exceptions of the FPGA plugin (hostPath, root) and neuron-monitor (privileged, to read
    the Neuron devices), and the rule reports nothing."""
    kinds, found = set(), []
    plans = [repository_plan(s).document for s in ("dev", "staging", "prod")]
    plans.append(plan_config(runtime_config(), "prod").document)
    for document in plans:
        plan = plan_from_document(document)
        for resource in plan.resource_list():
            for spec in pod_specs(resource):
                kinds.add((resource["type"].rsplit(":", 1)[-1], spec.where))
                found += [(resource["urn"].rsplit("::", 1)[-1], check) for check, _ in pod_findings(spec)]
        assert [v for v in evaluate(plan.resource_list(), {}, plan.config, plan.stack) if v.rule == RULE] == []
    assert kinds == {
        ("ClusterServingRuntime", "spec"), ("DaemonSet", "spec.template.spec"), ("Job", "spec.template.spec"), ("InferenceService", "spec.predictor"),
        ("InferenceService", "spec.canary[0].predictor"), ("InferenceService", "spec.transformer"),
        ("InferenceService", "spec.explainer"), ("LLMInferenceService", "spec.template"), ("Release", "values")}
    assert sorted(set(found)) == [("servestack-device-plugins-fpga", "hostPath"),
                                  ("servestack-device-plugins-fpga", "runAsNonRoot"),
                                  ("servestack-metrics-neuron-monitor", "allowPrivilegeEscalation"),
                                  ("servestack-metrics-neuron-monitor", "capabilities"),
                                  ("servestack-metrics-neuron-monitor", "privileged"),
                                  ("servestack-metrics-neuron-monitor", "runAsNonRoot")]
    [plugin] = [s for s in pod_specs(step(prod_document(), DAEMON_SET, "servestack-device-plugins-fpga"))]
    assert sorted(json.loads(plugin.annotations[EXCEPTIONS_ANNOTATION])) == ["hostPath", "runAsNonRoot"]


def test_servestacks_own_kinds_with_unsafe_pods_fail():
    document = prod_document()
    llm = step(document, LLM, "servestack-llm-assistant-llmisvc")["inputs"]["spec"]["template"]
    llm["hostNetwork"] = True
    llm["volumes"] = [{"name": "root", "hostPath": {"path": "/"}}]
    llm["containers"][0]["securityContext"]["privileged"] = True
    fraud = step(document, ISVC, "servestack-endpoint-fraud-isvc")["inputs"]["spec"]
    fraud["transformer"]["containers"][0]["securityContext"].update(runAsUser=0, capabilities={"add": ["SYS_PTRACE"]})
    fraud["explainer"]["art"]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    fraud["canary"][0]["predictor"]["hostIPC"] = True
    chat = step(document, ISVC, "servestack-endpoint-chat-isvc")["inputs"]["spec"]["predictor"]
    del chat["model"]["securityContext"]
    assert pss(document) == [
        ("servestack-llm-assistant-llmisvc", "spec.template.containers[0].securityContext.privileged is true; pod "
         "security privileged: a privileged container is root on the node, with every device"),
        ("servestack-llm-assistant-llmisvc", "spec.template.hostNetwork is true; pod security hostNamespaces: the node's "
         "network, process or IPC namespace exposes every other pod on the node"),
        ("servestack-llm-assistant-llmisvc", "spec.template.volumes[0] (root) mounts the node's /; pod security hostPath: "
         "a host path reaches the node's files (the kubelet's credentials, other pods' volumes)"),
        ("servestack-endpoint-chat-isvc", "spec.predictor.model.securityContext.allowPrivilegeEscalation is unset (true); "
         "pod security allowPrivilegeEscalation: required: false, so that no process (setuid binaries) gains more "
         "privileges than it starts with"),
        ("servestack-endpoint-chat-isvc", "spec.predictor.model.securityContext.capabilities.drop does not drop ALL; pod "
         "security capabilities: allowed: drop ALL and add at most NET_BIND_SERVICE; capabilities are root's powers"),
        ("servestack-endpoint-chat-isvc", "spec.predictor.model.securityContext.runAsNonRoot is unset (nor true for the "
         "pod); pod security runAsNonRoot: required: true (on the pod or every container), so that the kubelet refuses "
         "an image that runs as root"),
        ("servestack-endpoint-chat-isvc", "spec.predictor.model.securityContext.seccompProfile is unset (nor set for the "
         "pod: Unconfined); pod security seccomp: required: RuntimeDefault or Localhost (on the pod or every container), "
         "so that the system calls container escapes use are blocked"),
        ("servestack-endpoint-fraud-isvc", "spec.canary[0].predictor.hostIPC is true; pod security hostNamespaces: the "
         "node's network, process or IPC namespace exposes every other pod on the node"),
        ("servestack-endpoint-fraud-isvc", "spec.explainer.art.securityContext.seccompProfile.type is Unconfined; pod "
         "security seccomp: required: RuntimeDefault or Localhost (on the pod or every container), so that the system "
         "calls container escapes use are blocked"),
        ("servestack-endpoint-fraud-isvc", "spec.transformer.containers[0].securityContext.capabilities.add has "
         "SYS_PTRACE; pod security capabilities: allowed: drop ALL and add at most NET_BIND_SERVICE; capabilities are "
         "root's powers"),
        ("servestack-endpoint-fraud-isvc", "spec.transformer.containers[0].securityContext.capabilities.drop does not "
         "drop ALL; pod security capabilities: allowed: drop ALL and add at most NET_BIND_SERVICE; capabilities are "
         "root's powers"),
        ("servestack-endpoint-fraud-isvc", "spec.transformer.containers[0].securityContext.runAsUser is 0; pod security "
         "runAsUser: UID 0 is root, whatever runAsNonRoot says"),
    ]


def test_workload_kinds_servestack_does_not_render_are_judged_alike():
    document = prod_document()
    add(document, "kubernetes:apps/v1:Deployment", "sidecar", {
        "metadata": {"name": "sidecar", "namespace": "models"},
        "spec": {"template": {"spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                                "sysctls": [{"name": "kernel.msgmax", "value": "65536"}]},
            "volumes": [{"name": "share", "nfs": {"server": "10.0.0.9", "path": "/"}}],
            "containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80, "hostPort": 80}],
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                                "procMount": "Unmasked"}}]}}}})
    add(document, "kubernetes:batch/v1:CronJob", "cleanup", {"spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [{"name": "i", "securityContext": {"allowPrivilegeEscalation": True,
                                                             "capabilities": {"drop": ["ALL"]}}}],
        "containers": []}}}}}})
    add(document, "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "vllm", {"spec": {"leaderWorkerTemplate": {
        "workerTemplate": {"spec": {"hostPID": True, "securityContext": {"runAsNonRoot": True,
                                                                         "seccompProfile": {"type": "RuntimeDefault"}},
                                    "containers": [{"name": "w", "securityContext": {
                                        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                        "seLinuxOptions": {"type": "spc_t"}}}]}}}}})
    assert [(name, message.split(";")[0]) for name, message in pss(document)] == [
        ("sidecar", "spec.template.spec.containers[0].ports[0].hostPort is 80"),
        ("sidecar", "spec.template.spec.containers[0].securityContext.procMount is Unmasked"),
        ("sidecar", "spec.template.spec.securityContext.sysctls sets kernel.msgmax"),
        ("sidecar", "spec.template.spec.volumes[0] (share) is of type nfs"),
        ("cleanup", "spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.allowPrivilegeEscalation is true"),
        ("vllm", "spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].securityContext.seLinuxOptions sets type spc_t"),
        ("vllm", "spec.leaderWorkerTemplate.workerTemplate.spec.hostPID is true"),
    ]


def test_helm_values_and_a_serving_runtime_are_judged_by_what_they_set():
    document = plan_config(runtime_config(), "prod").document
    runtime = step(document, "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime",
                   "servestack-platform-runtime-acme-triton")
    runtime["inputs"]["spec"]["hostIPC"] = True
    runtime["inputs"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0
    release = step(document, "kubernetes:helm.sh/v3:Release", "servestack-device-plugins-neuron")
    release["inputs"]["values"]["controller"] = {"hostNetwork": True, "podSecurityContext": {"runAsUser": 0},
                                                 "containerSecurityContext": {"privileged": True}}
    name = release["urn"].rsplit("::", 1)[-1]
    assert [(n, m.split(";")[0]) for n, m in pss(document)] == [
        (name, "values.controller.containerSecurityContext.privileged is true"),
        (name, "values.controller.hostNetwork is true"),
        (name, "values.controller.podSecurityContext.runAsUser is 0"),
        ("servestack-platform-runtime-acme-triton", "spec.containers[0].securityContext.runAsUser is 0"),
        ("servestack-platform-runtime-acme-triton", "spec.hostIPC is true"),
    ]


def test_exceptions_need_a_documented_reason_for_a_named_check():
    document = prod_document()
    plugin = step(document, DAEMON_SET, "servestack-device-plugins-fpga")["inputs"]["metadata"]["annotations"]
    assert pss(document) == []
    plugin[EXCEPTIONS_ANNOTATION] = json.dumps({"hostPath": "", "runAsNonRoot": "opens /dev", "hostNetwork": "why not"})
    assert [m.split(";")[0] for _, m in pss(document)] == [
        f"metadata.annotations.{EXCEPTIONS_ANNOTATION} names 'hostNetwork', which is not a check (privileged, "
        "hostNamespaces, hostPath, hostPorts, hostProcess, capabilities, allowPrivilegeEscalation, runAsNonRoot, runAsUser, "
        "seccomp, appArmor, seLinux, procMount, sysctls, volumeTypes)",
        f"metadata.annotations.{EXCEPTIONS_ANNOTATION} waives hostPath without a reason",
        "spec.template.spec.containers[0].securityContext.runAsNonRoot is unset (nor true for the pod)",
        "spec.template.spec.volumes[0] (device-plugins) mounts the node's /var/lib/kubelet/device-plugins",
        "spec.template.spec.volumes[1] (dev) mounts the node's /dev",
    ]
    plugin[EXCEPTIONS_ANNOTATION] = "hostPath"
    assert [m.split(";")[0] for _, m in pss(document)][0] == (
        f"metadata.annotations.{EXCEPTIONS_ANNOTATION} is not a JSON object of check -> reason")


def test_baseline_profile_and_the_old_rule_names():
    document = prod_document()
    chat = step(document, ISVC, "servestack-endpoint-chat-isvc")["inputs"]["spec"]["predictor"]
    chat["model"]["securityContext"] = {"privileged": True}
    restricted = [m.split(";")[0] for _, m in pss(document)]
    assert len(restricted) == 5
    baseline = copy.deepcopy(json.loads(open("policies/config/prod.json").read()))
    baseline[RULE] = {"profile": "baseline"}
    assert [m.split(";")[0] for _, m in pss(document, baseline)] == [
        "spec.predictor.model.securityContext.privileged is true"]
    # A policy config written for the rules this one replaces configures it.
    old = {"model-pod-no-host-access": "advisory"}
    assert {(f[0], f[1]) for f in findings(document, old) if f[0] == RULE} == {(RULE, "advisory")}
    assert [f for f in findings(document, {"model-pod-security-context": {"enforcementLevel": "disabled",
                                                                          "tier": "prod"}}) if f[0] == RULE] == []

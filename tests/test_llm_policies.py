"""The policy pack on LLM endpoints: real plans, each fault injected as `pulumi preview --json`
would show it (the prod plan passes every LLM rule as it is)."""

from __future__ import annotations

import pytest

from llm_plans import document, llm, state
from plandoc.document import plan_from_document
from policies.rules import evaluate

LLM_RULES = ("llm-model-pinned", "llm-own-service-account", "llm-endpoint-on-accelerator-pool",
             "llm-accelerator-capacity-fits", "container-image-pinned")
LLM_URN = ("urn:pulumi:prod::servestack::servestack:index:ServingEnvironment$servestack:endpoint:LlmEndpoint$"
           "kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService::servestack-llm-assistant-llmisvc")


def found(doc, rules=LLM_RULES) -> list[tuple[str, str]]:
    plan = plan_from_document(doc)
    return [(v.rule, v.message) for v in evaluate(plan.resource_list(), None, plan.config, plan.stack) if v.rule in rules]


def test_the_prod_plan_passes_every_llm_rule():
    assert found(document("prod")) == []


@pytest.mark.parametrize("uri, message", [
    ("s3://acme-ml-models-prod/models/assistant/latest",
     "spec.model.uri s3://acme-ml-models-prod/models/assistant/latest names the mutable path latest; required: an "
     "immutable version (s3://bucket/models/<model>/<version>/, an hf:// commit or an OCI digest), so that what serves "
     "is what was reviewed"),
    ("hf://Qwen/Qwen2.5-32B-Instruct",
     "spec.model.uri hf://Qwen/Qwen2.5-32B-Instruct is not pinned to a commit, so it serves whatever that revision "
     "holds at pod start; required: hf://<org>/<model>:<40-hex commit hash>"),
    ("oci://ghcr.io/acme/qwen-32b", "spec.model.uri oci://ghcr.io/acme/qwen-32b has no tag or digest; required: a "
                                    "pinned OCI tag or @sha256 digest"),
])
def test_llm_model_uri_pinned(uri, message):
    doc = document("prod")
    llm(doc, "assistant")["model"]["uri"] = uri
    assert found(doc, ("llm-model-pinned",)) == [("llm-model-pinned", message)]


def test_no_latest_image_in_any_container_the_llm_endpoint_declares():
    doc = document("prod")
    llm(doc, "assistant")["template"]["containers"][0]["image"] = "ghcr.io/llm-d/llm-d-cuda:latest"
    assert found(doc, ("container-image-pinned",)) == [(
        "container-image-pinned", "spec.template.containers[0].image ghcr.io/llm-d/llm-d-cuda:latest uses the tag "
        "latest, which floats; required: a version tag or an @sha256 digest, so that a deploy is reproducible")]


@pytest.mark.parametrize("account", [None, "default"])
def test_no_default_service_account(account):
    doc = document("prod")
    template = llm(doc, "assistant")["template"]
    template.pop("serviceAccountName")
    if account:
        template["serviceAccountName"] = account
    assert found(doc, ("llm-own-service-account",)) == [(
        "llm-own-service-account", f"spec.template.serviceAccountName is {account or 'not set'} (the namespace's "
        "default service account); required: the endpoint's own service account, so that its model access (IRSA) is "
        "its own and no other pod of the namespace shares it")]


def test_llm_endpoint_tolerates_its_pools_taints_in_every_pod():
    doc = document("prod")
    spec = llm(doc, "assistant")
    spec["worker"] = {**spec["template"], "tolerations": []}
    assert found(doc, ("llm-endpoint-on-accelerator-pool",)) == [(
        "llm-endpoint-on-accelerator-pool", "LLM endpoint models/assistant requests nvidia.com/gpu on pool llm but "
        "spec.worker does not tolerate nvidia.com/gpu=true:NoSchedule; required: a toleration of every taint of the "
        "pool, or the pods stay Pending")]


def test_llm_endpoint_on_a_pool_that_is_not_an_accelerator_pool():
    doc = document("prod")
    llm(doc, "assistant")["template"]["nodeSelector"]["servestack.io/pool"] = "system"
    [(rule, message)] = found(doc, ("llm-endpoint-on-accelerator-pool",))
    assert message.startswith("LLM endpoint models/assistant requests nvidia.com/gpu but is placed on pool system, "
                              "whose nodes offer no accelerator (")


def test_llm_accelerator_capacity_counts_pods_per_replica_and_workers():
    doc = document("prod")
    spec = llm(doc, "assistant")
    spec["parallelism"] = {"tensor": 4, "data": 2, "dataLocal": 1}  # 2 pods per replica, 4 GPUs each
    spec["worker"] = dict(spec["template"])
    assert found(doc, ("llm-accelerator-capacity-fits",)) == [(
        "llm-accelerator-capacity-fits", "endpoints on pool llm need 16 nvidia.com/gpu at min replicas, with every "
        "rollout's candidate (LLM assistant 16; an LLM endpoint holds accelerators per pod x replicas x (1 + workers)) but the pool offers 8 at its NodePool limits "
        "cpu=96, memory=786432Mi, nvidia.com/gpu=8; required: demand <= capacity, or pods beyond it stay Pending")]
    # The llm pool is a Karpenter pool: its NodePool's limits are its capacity. Four nodes' worth suffices.
    state(doc, "kubernetes:karpenter.sh/v1:NodePool", "servestack-karpenter-llm-nodepool")["inputs"]["spec"]["limits"] = {
        "cpu": "192", "memory": "1572864Mi", "nvidia.com/gpu": "16"}
    assert found(doc, ("llm-accelerator-capacity-fits",)) == []


def test_llm_capacity_of_a_nodepool_without_limits_is_left_to_the_limits_rule():
    doc = document("prod")
    spec = llm(doc, "assistant")
    spec["parallelism"] = {"tensor": 4, "data": 2, "dataLocal": 1}
    spec["worker"] = dict(spec["template"])
    del state(doc, "kubernetes:karpenter.sh/v1:NodePool", "servestack-karpenter-llm-nodepool")["inputs"]["spec"]["limits"]
    assert found(doc, ("llm-accelerator-capacity-fits",)) == []  # no ceiling to compare with: no crash, no guess
    assert [rule for rule, _ in found(doc, ("karpenter-nodepool-limits",))] == ["karpenter-nodepool-limits"]


def test_an_llm_route_without_envoy_ai_gateway_fails_kind_has_controller():
    """The defect of issue 25 as the policy pack sees it: the InferencePool backend KServe creates from the
    LLMInferenceService has no gateway that routes it once Envoy AI Gateway is gone from the plan."""
    doc = document("prod")
    assert found(doc, ("kind-has-controller",)) == []
    doc["steps"] = [s for s in doc["steps"] if not s["urn"].endswith("::servestack-platform-ai-gateway")]
    assert found(doc, ("kind-has-controller",)) == [(
        "kind-has-controller",
        "the InferencePool KServe creates from this LLMInferenceService: no controller the stack installs acts on it "
        "(Envoy Gateway with Envoy AI Gateway (inference-pool addon): not installed: ai-gateway-helm v1.0.0); "
        "required: install it at its pinned version, or the object is accepted and ignored")]


def test_an_object_of_a_kind_no_controller_is_known_for_fails_kind_has_controller():
    doc = document("dev")
    monitor = {**state(doc, "kubernetes:core/v1:ServiceAccount", "servestack-llm-qwen-chat-sa"),
               "type": "kubernetes:monitoring.coreos.com/v1:Probe",
               "urn": "urn:pulumi:dev::servestack::kubernetes:monitoring.coreos.com/v1:Probe::vllm"}
    doc["steps"].append({"op": "create", "urn": monitor["urn"], "newState": monitor})
    assert found(doc, ("kind-has-controller",)) == [(
        "kind-has-controller",
        "Probe: no controller the stack installs acts on it (monitoring.coreos.com/v1 Probe has no "
        "controller servestack knows (components.core.controllers)); required: install it at its pinned version, or "
        "the object is accepted and ignored")]

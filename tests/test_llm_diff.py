"""`servestack diff` on LLM endpoints, planned for real: a new model, more replicas and more
tensor parallelism are shown, and never cut."""

from __future__ import annotations

from harness import plan_config, stack_config

from plandoc.document import plan_from_document
from servestack.review.diff import diff_plans, render_markdown
from servestack.review.fields import rollout_relevant

LLM = "kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService"
NEW_URI = "s3://acme-ml-models-prod/models/assistant/2.5-32b-instruct-awq-with-a-long-suffix-to-pass-the-cut/v2"


def test_an_llm_endpoints_model_replicas_and_parallelism_changes_are_whole_lines():
    base = stack_config("prod")
    head = stack_config("prod")
    assistant = head["servestack:llmEndpoints"]["assistant"]
    assistant["model"]["uri"] = NEW_URI
    assistant["replicas"] = 1
    assistant["parallelism"] = {"tensor": 8}
    head["servestack:nodePools"]["llm"]["instanceTypes"] = ["p4d.24xlarge"]
    markdown = render_markdown(diff_plans(plan_from_document(plan_config(base, stack="prod").document),
                                          plan_from_document(plan_config(head, stack="prod").document)))
    section = markdown.split("**servestack-llm-assistant-llmisvc**\n", 1)[1].split("\n\n", 1)[0]
    assert f'  - `spec.model.uri`: `"s3://acme-ml-models-prod/models/assistant/2.5-32b-instruct"` → `"{NEW_URI}"`' in section
    assert "  - `spec.parallelism.tensor`: `4` → `8`" in section
    assert "  - `spec.replicas`: `2` → `1`" in section
    assert '  - `spec.template.containers[name=main].resources.limits["nvidia.com/gpu"]`: `"4"` → `"8"`' in section


def test_which_llm_fields_are_rollout_relevant():
    assert [p for p in ("spec.model.uri", "spec.model", "spec.replicas", "spec.parallelism.data", "spec.worker",
                        "spec.prefill.replicas", "spec.prefill.template.containers[0].args", "spec.labels",
                        "spec.template.containers[0].args", "spec.template.tolerations", "spec.router.route",
                        "metadata.labels", "spec.baseRefs") if rollout_relevant(LLM, p, False)] == [
        "spec.model.uri", "spec.model", "spec.replicas", "spec.parallelism.data", "spec.worker", "spec.prefill.replicas",
        "spec.prefill.template.containers[0].args", "spec.labels", "spec.template.containers[0].args"]

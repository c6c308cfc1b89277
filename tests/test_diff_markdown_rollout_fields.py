"""The markdown diff never cuts what a rollout turns on: prod's fraud blue/green start, planned for real."""

from __future__ import annotations

import copy

import pytest

from harness import plan_config, stack_config
from review_stack import document, good_stack, isvc, knative_record, replace

from plandoc.document import plan_from_document
from servestack.review.diff import diff_plans, render_markdown

PROD = {"aws:region": "us-east-1", "servestack:tier": "prod"}


@pytest.fixture(scope="module")
def fraud_blue_green() -> str:
    """prod as committed (fraud 2.4.0 beside 2.3.1 at 0%) against prod before the rollout started."""
    head = stack_config("prod")
    base = copy.deepcopy(head)
    del base["servestack:endpoints"]["fraud"]["rollout"]
    return render_markdown(diff_plans(plan_from_document(plan_config(base, stack="prod").document),
                                      plan_from_document(plan_config(head, stack="prod").document)))


def test_the_candidates_storage_uri_and_predictor_are_whole_lines(fraud_blue_green):
    isvc_section = fraud_blue_green.split("**servestack-endpoint-fraud-isvc**\n", 1)[1]
    assert isvc_section == (
        '  - `spec.canary[0].predictor.labels["servestack.io/model-version"]`: `(none)` → `"2.4.0"`\n'
        "  - `spec.canary[0].predictor.minReplicas`: `(none)` → `1`\n"
        '  - `spec.canary[0].predictor.model.modelFormat.name`: `(none)` → `"xgboost"`\n'
        '  - `spec.canary[0].predictor.model.name`: `(none)` → `"kserve-container"`\n'
        '  - `spec.canary[0].predictor.model.protocolVersion`: `(none)` → `"v2"`\n'
        '  - `spec.canary[0].predictor.model.resources.limits.cpu`: `(none)` → `"2"`\n'
        '  - `spec.canary[0].predictor.model.resources.limits.memory`: `(none)` → `"4Gi"`\n'
        '  - `spec.canary[0].predictor.model.resources.requests.cpu`: `(none)` → `"1"`\n'
        '  - `spec.canary[0].predictor.model.resources.requests.memory`: `(none)` → `"2Gi"`\n'
        '  - `spec.canary[0].predictor.model.securityContext.allowPrivilegeEscalation`: `(none)` → `false`\n'
        '  - `spec.canary[0].predictor.model.securityContext.capabilities.drop`: `(none)` → `["ALL"]`\n'
        '  - `spec.canary[0].predictor.model.securityContext.privileged`: `(none)` → `false`\n'
        '  - `spec.canary[0].predictor.model.securityContext.runAsNonRoot`: `(none)` → `true`\n'
        '  - `spec.canary[0].predictor.model.securityContext.seccompProfile.type`: `(none)` → `"RuntimeDefault"`\n'
        '  - `spec.canary[0].predictor.model.storageUri`: `(none)` → `"s3://acme-ml-models-prod/models/fraud/2.4.0"`\n'
        '  - `spec.canary[0].predictor.name`: `(none)` → `"v2-4-0"`\n'
        '  - `spec.canary[0].predictor.nodeSelector["servestack.io/pool"]`: `(none)` → `"system"`\n'
        '  - `spec.canary[0].predictor.serviceAccountName`: `(none)` → `"fraud-model"`\n'
        "  - `spec.canary[0].trafficPercent`: `(none)` → `0`\n"
        "  - `spec.predictor.minReplicas`: `4` → `5`\n")
    assert "..." not in isvc_section


def test_the_rollout_record_data_is_shown_whole(fraud_blue_green):
    record = fraud_blue_green.split("**servestack-endpoint-fraud-rollout**\n", 1)[1].split("\n- ", 1)[0]
    assert record == (
        '  - `data.candidateReplicas`: `(none)` → `"1"`\n'
        '  - `data.candidateService`: `(none)` → `"fraud-v2-4-0-predictor.models"`\n'
        '  - `data.candidateVersion`: `(none)` → `"2.4.0"`\n'
        '  - `data.phase`: `"steady"` → `"inProgress"`\n'
        '  - `data.stableMinReplicasDuringCanary`: `(none)` → `"4"`\n'
        '  - `data.stage`: `(none)` → `"1"`\n'
        '  - `data.stages`: `(none)` → `"0"`')


LONG_URI = "s3://acme-ml-models-prod/models/fraud/" + "feature-set-2026-with-a-very-long-descriptive-name/" * 2 + "2.4.0"


def test_long_rollout_values_are_never_cut_but_other_long_values_are():
    base = document(replace(good_stack(), isvc(canary=10, candidate="1.1.0")) + [knative_record("fraud", "1.0.0", "1.1.0", "10,50,100", 1)], PROD)
    head_isvc = isvc(canary=50, candidate="1.1.0")
    head_isvc["inputs"]["spec"]["predictor"]["model"]["storageUri"] = LONG_URI
    head_isvc["inputs"]["metadata"]["annotations"] = {"note": "x" * 150}
    record = knative_record("fraud", "1.0.0", "1.1.0", "10,50,100", 2)
    record["inputs"]["data"]["candidateVersion"] = "1.1.0-" + "r" * 120
    head = document(replace(good_stack(), head_isvc) + [record], PROD)
    markdown = render_markdown(diff_plans(plan_from_document(base), plan_from_document(head)))
    assert f'  - `spec.predictor.model.storageUri`: `"{base_uri(base)}"` → `"{LONG_URI}"`\n' in markdown
    assert "  - `spec.predictor.canaryTrafficPercent`: `10` → `50`\n" in markdown
    assert f'  - `data.candidateVersion`: `"1.1.0"` → `"1.1.0-{"r" * 120}"`\n' in markdown
    assert '  - `metadata.annotations.note`: `(none)` → `"' + "x" * 96 + '...`\n' in markdown


def base_uri(doc: dict) -> str:
    isvc_state = next(s["newState"] for s in doc["steps"] if s["newState"]["type"].endswith(":InferenceService"))
    return isvc_state["inputs"]["spec"]["predictor"]["model"]["storageUri"]

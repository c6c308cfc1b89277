"""The endpoints of the repository's stacks, planned through the real program: what each stack
serves, schema-valid manifests, and `servestack rollout` moves whose plan diff is one resource."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
import yaml

from harness import PROJECT, REPO, REPOSITORY_STACKS, by_urn, plan_config, repository_plan, resources, stack_config
from conformance.schema import validate
from servestack.commands.rollout import apply_move

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"

planned = repository_plan


def isvcs(stack: str) -> dict[str, dict]:
    return {name.removesuffix("-isvc").removeprefix("servestack-endpoint-"): state["inputs"]
            for name, state in resources(planned(stack), ISVC).items()}


def kinds(stack: str) -> dict[str, str]:
    """Endpoint -> the accelerator kind of the pool it runs on."""
    config = stack_config(stack)
    pools = planned(stack).document["outputs"]["nodePools"]
    return {name: pools[e["pool"]]["kind"] for name, e in sorted(config["servestack:endpoints"].items())}


def test_dev_serves_a_cpu_sklearn_model_and_a_gpu_hugging_face_model():
    assert kinds("dev") == {"chat": "nvidia", "iris": "none"}
    services = isvcs("dev")
    assert services["iris"]["spec"]["predictor"]["model"]["modelFormat"] == {"name": "sklearn"}
    assert services["chat"]["spec"]["predictor"]["model"]["modelFormat"] == {"name": "huggingface"}
    assert services["chat"]["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"


@pytest.mark.parametrize("stack, mode", [("staging", "Knative"), ("prod", "Standard")])
def test_staging_and_prod_serve_on_every_accelerator_kind(stack, mode):
    assert kinds(stack) == {"anomaly": "fpga", "chat": "nvidia", "fraud": "none", "summarize": "neuron"}
    services = isvcs(stack)
    assert {n: s["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] for n, s in services.items()} == dict.fromkeys(services, mode)
    # Neuron and FPGA run custom predictors with the pool's extended resource.
    assert services["summarize"]["spec"]["predictor"]["containers"][0]["resources"]["limits"]["aws.amazon.com/neuron"] == "1"
    assert services["anomaly"]["spec"]["predictor"]["containers"][0]["resources"]["limits"]["servestack.io/fpga"] == "1"
    # fraud: mid-rollout, with transformer, explainer and payload logging
    fraud = services["fraud"]
    assert set(fraud["spec"]) >= {"predictor", "transformer", "explainer"}
    assert fraud["spec"]["predictor"]["logger"]["mode"] == "all"
    assert records(stack)["fraud"]["candidateVersion"] == "2.4.0"


def records(stack: str) -> dict[str, dict]:
    return {name.removesuffix("-rollout").removeprefix("servestack-endpoint-"): state["inputs"]["data"]
            for name, state in resources(planned(stack), "kubernetes:core/v1:ConfigMap").items() if name.endswith("-rollout")}


def test_the_mid_rollouts_in_each_mode():
    staging = isvcs("staging")["fraud"]["spec"]
    assert staging["predictor"]["canaryTrafficPercent"] == 50 and "canary" not in staging
    assert records("staging")["fraud"]["traffic"] == "stable 50% / candidate 50%"
    # prod: a blue/green candidate, which is all KServe v0.20.0 does with spec.canary[]
    prod = isvcs("prod")["fraud"]["spec"]
    assert [(c["trafficPercent"], c["predictor"]["name"], c["predictor"]["minReplicas"]) for c in prod["canary"]] == [(0, "v2-4-0", 1)]
    assert "canaryTrafficPercent" not in json.dumps(prod)
    assert {k: records("prod")["fraud"][k] for k in ("traffic", "stableMinReplicas", "stableMinReplicasDuringCanary",
                                                      "candidateService")} == {
        "traffic": "stable 100% / candidate 0%", "stableMinReplicas": "4", "stableMinReplicasDuringCanary": "4",
        "candidateService": "fraud-v2-4-0-predictor.models"}


def test_no_inference_service_of_any_stack_carries_rollout_state():
    for stack in REPOSITORY_STACKS:
        for name, isvc in isvcs(stack).items():
            assert set(isvc["metadata"]["labels"]) == {"servestack.io/endpoint", "servestack.io/model"}, (stack, name)
            assert set(isvc["metadata"]["annotations"]) == {"serving.kserve.io/deploymentMode"}, (stack, name)


@pytest.mark.parametrize("stack", REPOSITORY_STACKS)
def test_every_manifest_is_valid(stack):
    manifests = planned(stack).manifests()
    checked = 0
    for name, obj in manifests:
        if obj["kind"] == "InferenceService":
            # judged by the CRD of the KServe that serves the stack (Kubeflow's v0.16.0 in staging)
            assert validate(obj, f"kserve-{planned(stack).document['outputs']['platform']['kserveVersion']}") == [], name
            checked += 1
        elif obj["apiVersion"] in ("v1", "apps/v1"):
            kubernetes_validate.validate(obj, stack_config(stack)["servestack:cluster"]["kubernetesVersion"], strict=True)
    assert checked == len(stack_config(stack)["servestack:endpoints"])


NEW_NEURON_IMAGE = {"version": "0.9.3", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/summarizer-neuronx:0.9.3"}


# prod's fraud rollout declares an analysis with smoke requests (issue 21): ending the rollout (promote,
# rollback) also removes its smoke Job, and nothing else.
@pytest.mark.parametrize("stack, endpoint, moves, removed", [
    ("staging", "fraud", ["advance"], []),
    ("staging", "fraud", ["rollback"], []),
    ("prod", "fraud", ["promote"], ["servestack-endpoint-fraud-smoke"]),
    ("prod", "fraud", ["rollback"], ["servestack-endpoint-fraud-smoke"]),
    ("prod", "summarize", [("start", NEW_NEURON_IMAGE)], []),
    ("prod", "summarize", [("start", NEW_NEURON_IMAGE), "promote"], []),
])
def test_a_rollout_command_changes_the_endpoints_inference_service_and_record_in_the_stack_plan(stack, endpoint, moves,
                                                                                                 removed):
    text = (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    for move in moves:
        move, options = move if isinstance(move, tuple) else (move, {})
        text = apply_move(PROJECT, stack, text, endpoint, move, **options).after
    before, after = by_urn(planned(stack)), by_urn(plan_config(yaml.safe_load(text)["config"], stack))
    assert set(after) <= set(before)
    assert sorted(urn.rsplit("::", 1)[1] for urn in set(before) - set(after)) == removed
    assert sorted(urn.rsplit("::", 1)[1] for urn in after if before[urn] != after[urn]) == [
        f"servestack-endpoint-{endpoint}-isvc", f"servestack-endpoint-{endpoint}-rollout"]


def test_prods_fraud_cannot_advance_past_its_only_stage():
    from servestack.commands.rollout import MoveRefused

    with pytest.raises(MoveRefused, match=r"^fraud: 2\.4\.0 is at the last stage \(0%\); promote it or roll it back$"):
        apply_move(PROJECT, "prod", (REPO / "stacks" / "Pulumi.prod.yaml").read_text(), "fraud", "advance")


def test_status_of_every_stack():
    from click.testing import CliRunner

    from servestack.cli import cli

    result = CliRunner().invoke(cli, ["rollout", "status", "--project", str(REPO)])
    assert result.exit_code == 0, result.output
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in result.stdout.splitlines() if line.startswith("│")]
    with_endpoints = {stack for stack in REPOSITORY_STACKS if stack_config(stack).get("servestack:endpoints")}
    assert {r[0] for r in rows} == with_endpoints  # every stack's endpoints, a new stack's too
    assert [(r[0], r[1], r[2], r[5], r[6], r[7], r[8]) for r in rows if r[0] in ("dev", "prod", "staging")] == [
        ("dev", "chat", "Knative", "-", "-", "stable 100% / candidate 0%", "-"),
        ("dev", "iris", "Knative", "-", "-", "stable 100% / candidate 0%", "-"),
        ("prod", "anomaly", "Standard", "-", "-", "stable 100% / candidate 0%", "-"),
        ("prod", "chat", "Standard", "-", "-", "stable 100% / candidate 0%", "-"),
        ("prod", "fraud", "Standard", "2.4.0", "1/1 (0)", "stable 100% / candidate 0%", "stable min 4 kept, candidate 1"),
        ("prod", "summarize", "Standard", "-", "-", "stable 100% / candidate 0%", "-"),
        ("staging", "anomaly", "Knative", "-", "-", "stable 100% / candidate 0%", "-"),
        ("staging", "chat", "Knative", "-", "-", "stable 100% / candidate 0%", "-"),
        ("staging", "fraud", "Knative", "2.4.0", "2/3 (10,50,100)", "stable 50% / candidate 50%", "-"),
        ("staging", "summarize", "Knative", "-", "-", "stable 100% / candidate 0%", "-"),
    ]


@pytest.mark.parametrize("stack", REPOSITORY_STACKS)
def test_the_endpoints_pass_the_policy_pack(stack):
    from plandoc.document import plan_from_document
    from servestack.review.check import run_check

    report = run_check(plan_from_document(planned(stack).document))
    assert [(v.rule, v.urn.rsplit("::", 1)[1]) for v in report.violations if v.enforcement == "mandatory"] == []
    # An offline plan says nothing of what is deployed: staging's fraud, mid-rollout in Knative mode, is an existing
    # endpoint's rollout, not an endpoint created mid-rollout (issue 23: the rule fired on every rollout).
    assert [(v.rule, v.urn.rsplit("::", 1)[1]) for v in report.violations if v.enforcement == "advisory"] == []


# ----------------------------------------------------------------------------- a serving stack

SERVING = {"aws:region": "us-east-1", "servestack:tier": "dev", "servestack:cluster": {"existing": "organization/servestack/dev"}}
SENTIMENT = {"pool": "gpu", "accelerators": 1,
             "model": {"format": "huggingface", "storageUri": "s3://acme-ml-models-dev/models/sentiment/4", "version": "4"},
             "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "12Gi"}}}


def test_a_serving_stack_places_endpoints_on_the_referenced_cluster_and_platform():
    plan = plan_config({**SERVING, "servestack:endpoints": {"sentiment": SENTIMENT}}, "serving")
    dev = planned("dev").document["outputs"]
    isvc = resources(plan, ISVC)["servestack-endpoint-sentiment-isvc"]["inputs"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"  # the dev platform's
    assert isvc["spec"]["predictor"]["tolerations"] == [
        {**taint, "operator": "Equal"} for taint in dev["nodePools"]["gpu"]["taints"]]
    assert isvc["spec"]["predictor"]["nodeSelector"] == {"servestack.io/pool": "gpu"}
    trust = json.loads(resources(plan, "aws:iam/role:Role")["servestack-endpoint-sentiment-model-reader"]["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Federated": dev["oidcProviderArn"]}


@pytest.mark.parametrize("change, message", [
    ({"accelerators": 2}, "endpoint sentiment does not fit pool gpu in Knative mode: accelerators exceeds the 1 nvidia "
                          "accelerator(s) (nvidia.com/gpu) of one node of pool gpu (g6.xlarge, g5.xlarge); one replica must fit on one node"),
    # the mode comes from the platform stack (Knative), so a Standard-only setting is caught when placing
    ({"rollout": {"candidate": {"version": "5", "storageUri": "s3://acme-ml-models-dev/models/sentiment/5"},
                  "stages": [50, 100], "candidateReplicas": 1}},
     "endpoint sentiment does not fit pool gpu in Knative mode: rollout.candidateReplicas belongs to Standard mode "
     "(spec.canary[].predictor.minReplicas); in Knative mode the candidate revision scales with the predictor's "
     "autoscaling and canaryTrafficPercent has no replica count"),
    # ... and so are the stages that mode really routes
    ({"rollout": {"candidate": {"version": "5", "storageUri": "s3://acme-ml-models-dev/models/sentiment/5"}, "stages": [0]}},
     "endpoint sentiment does not fit pool gpu in Knative mode: rollout.stages must be percents from 1 to 100 in Knative "
     "mode: a candidate revision at 0% receives no requests and has no address of its own (KServe tags it only with tag "
     "routing, which servestack does not enable); 0 is Standard mode's blue/green stage"),
])
def test_a_serving_stack_checks_endpoints_against_what_the_platform_stack_exports(change, message):
    from servestack.plan import PlanError

    with pytest.raises(PlanError) as error:
        plan_config({**SERVING, "servestack:endpoints": {"sentiment": {**SENTIMENT, **change}}}, "serving")
    assert str(error.value) == f"the program failed: ValueError: {message}"


def test_a_serving_stack_on_a_standard_platform_refuses_a_knative_mode_endpoint():
    from servestack.plan import PlanError

    # prod's platform runs KServe in Standard mode and installs no Knative.
    serving = {**SERVING, "servestack:cluster": {"existing": "organization/servestack/prod"}}
    with pytest.raises(PlanError) as error:
        plan_config({**serving, "servestack:endpoints": {"sentiment": {**SENTIMENT, "deploymentMode": "Knative"}}}, "serving")
    assert str(error.value) == (
        "the program failed: ValueError: endpoint sentiment does not fit pool gpu in Knative mode: deploymentMode Knative "
        "mode needs Knative Serving, which this platform does not install (it runs KServe in Standard mode without "
        "Knative); use deploymentMode Standard, or run the platform in Knative mode")


def test_a_serving_stack_resolves_runtimes_against_the_referenced_platforms_kserve():
    from servestack.plan import PlanError

    # staging's platform is Kubeflow 26.03, whose KServe v0.16.0 has no vLLM runtime.
    serving = {**SERVING, "servestack:cluster": {"existing": "organization/servestack/staging"}}
    llm = {**SENTIMENT, "model": {**SENTIMENT["model"], "format": "vllm"}}
    with pytest.raises(PlanError) as error:
        plan_config({**serving, "servestack:endpoints": {"sentiment": llm}}, "serving")
    assert str(error.value) == (
        "the program failed: ValueError: endpoint sentiment does not fit pool gpu in Knative mode: model.format no built-in "
        "runtime of KServe v0.16.0 declares model format 'vllm' (formats with a built-in runtime: huggingface, lightgbm, "
        "mlflow, onnx, paddle, pmml, pytorch, sklearn, tensorflow, tensorrt, triton, xgboost); a format of your own needs "
        "runtime: the name of the ClusterServingRuntime that serves it")
    # dev's standalone KServe v0.20.0 has it, spelt vLLM.
    plan = plan_config({**SERVING, "servestack:endpoints": {"sentiment": llm}}, "serving")
    isvc = resources(plan, ISVC)["servestack-endpoint-sentiment-isvc"]["inputs"]
    assert isvc["spec"]["predictor"]["model"]["modelFormat"] == {"name": "vLLM"}

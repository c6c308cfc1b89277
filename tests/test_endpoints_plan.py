"""ModelEndpoint under the offline plan: exact resources, least-privilege IRSA, and the guarantee
that a rollout move changes that endpoint's InferenceService and nothing else."""

from __future__ import annotations

import copy
import json
import re

import kubernetes_validate
import pytest

from endpoint_fixtures import IRIS, LLM, endpoints_program
from harness import by_urn, plan_program, resource, resources

from components.core.pod_security import container_security_context

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
SA = "kubernetes:core/v1:ServiceAccount"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC123"
COMPONENT = "urn:pulumi:test::servestack::servestack:endpoint:ModelEndpoint"

CANDIDATE = {"version": "1.1.0", "storageUri": "s3://acme-models/models/iris/1.1.0"}
CM = "kubernetes:core/v1:ConfigMap"
STATES = {
    "steady": None,
    "stage-1": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 1},
    "stage-2": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 2},
    "stage-3": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 3},
    "rolled-back": {"candidate": CANDIDATE, "stages": [10, 50, 100], "stage": 2, "rolledBack": True},
    # Standard mode's only stage (KServe v0.20.0 routes no traffic to spec.canary[]), and its rollback
    "blue-green": {"candidate": CANDIDATE, "stages": [0], "stage": 1, "candidateReplicas": 1},
    "blue-green-rolled-back": {"candidate": CANDIDATE, "stages": [0], "stage": 1, "candidateReplicas": 1, "rolledBack": True},
    "promoted": "promoted",
}


def endpoints_at(state: str) -> dict:
    iris = copy.deepcopy(IRIS)
    iris["autoscaling"] = {"minReplicas": 2, "maxReplicas": 4}
    if STATES[state] == "promoted":
        iris["model"].update(CANDIDATE)
    elif STATES[state] is not None:
        iris["rollout"] = copy.deepcopy(STATES[state])
    return {"iris": iris, "llm": copy.deepcopy(LLM)}


_PLANS: dict[tuple[str, str], dict] = {}


def planned(mode: str, state: str) -> dict:
    """Steps by URN of the plan of both endpoints with iris at ``state`` (planned once, only read)."""
    if (mode, state) not in _PLANS:
        endpoints = endpoints_at(state)
        if mode == "Standard":
            # A Standard platform installs no Knative: the LLM keeps a warm replica instead of scaling to zero.
            llm = {k: v for k, v in endpoints["llm"].items() if k != "startupTimeoutMinutes"}
            endpoints["llm"] = {**llm, "autoscaling": {"minReplicas": 1, "maxReplicas": 2}}
        _PLANS[mode, state] = by_urn(plan_program(endpoints_program(endpoints, mode)))
    return _PLANS[mode, state]


def changed(before: dict, after: dict) -> list[str]:
    assert sorted(before) == sorted(after), "a rollout move neither creates nor deletes resources"
    return sorted(urn.rsplit("::", 1)[1] for urn in before if before[urn] != after[urn])


@pytest.mark.parametrize("mode, move, before, after", [
    ("Knative", "start", "steady", "stage-1"),
    ("Knative", "advance", "stage-1", "stage-2"),
    ("Knative", "advance", "stage-2", "stage-3"),
    ("Knative", "rollback", "stage-2", "rolled-back"),
    ("Knative", "promote", "stage-3", "promoted"),
    ("Standard", "start", "steady", "blue-green"),
    ("Standard", "rollback", "blue-green", "blue-green-rolled-back"),
    ("Standard", "promote", "blue-green", "promoted"),
])
def test_a_rollout_move_changes_only_that_endpoints_inference_service_and_rollout_record(mode, move, before, after):
    assert changed(planned(mode, before), planned(mode, after)) == ["iris-isvc", "iris-rollout"]


def isvc_of(mode: str, state: str) -> dict:
    return planned(mode, state)[f"{COMPONENT}$kubernetes:serving.kserve.io/v1beta1:InferenceService::iris-isvc"]["inputs"]


def stable_pod_template_inputs(mode: str, state: str) -> str:
    """What the stable model's pods are made from, as KServe v0.20.0 builds them: the InferenceService's
    labels and annotations (copied into every pod: Standard mode filters none, and the disallow lists of
    the inferenceservice-config servestack deploys are the chart's, which name no servestack key) and
    the stable predictor's spec; in Knative mode minus canaryTrafficPercent (it only moves the
    route's traffic split between revisions, never a revision's template)."""
    isvc = isvc_of(mode, state)
    predictor = {k: v for k, v in isvc["spec"]["predictor"].items() if not (mode == "Knative" and k == "canaryTrafficPercent")
                 and k not in ("minReplicas", "maxReplicas")}  # the Deployment's scale, not its pod template
    return json.dumps({"labels": isvc["metadata"].get("labels"), "annotations": isvc["metadata"].get("annotations"),
                       "predictor": predictor}, sort_keys=True)


@pytest.mark.parametrize("mode, states", [
    # Knative: the predictor carries the candidate from the start on; stages and rollback only move traffic
    ("Knative", ("stage-1", "stage-2", "stage-3", "rolled-back")),
    # Standard: the candidate comes and goes in spec.canary[]; the stable predictor never moves
    ("Standard", ("steady", "blue-green", "blue-green-rolled-back")),
])
def test_no_stage_change_restarts_the_stable_pods(mode, states):
    templates = {state: stable_pod_template_inputs(mode, state) for state in states}
    assert len(set(templates.values())) == 1, templates
    # ... while the rollout record does move with every one of these states
    records = {json.dumps(planned(mode, s)[f"{COMPONENT}${CM}::iris-rollout"]["inputs"]["data"], sort_keys=True) for s in states}
    assert len(records) == len(states)


def test_the_rollout_record_is_a_config_map_beside_the_inference_service():
    record = planned("Standard", "blue-green")[f"{COMPONENT}${CM}::iris-rollout"]
    assert record["inputs"] == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "iris-rollout", "namespace": "models",
                     "labels": {"app.kubernetes.io/component": "rollout-record", "app.kubernetes.io/managed-by": "servestack",
                                "servestack.io/endpoint": "iris"}},
        "data": {"candidateReplicas": "1", "candidateService": "iris-v1-1-0-predictor.models", "candidateTrafficPercent": "0",
                 "candidateVersion": "1.1.0", "mode": "Standard", "phase": "inProgress", "stableMinReplicas": "2",
                 "stableMinReplicasDuringCanary": "2", "stableVersion": "1.0.0", "stage": "1", "stages": "0",
                 "traffic": "stable 100% / candidate 0%"},
    }
    assert record["parent"] == f"{COMPONENT}::iris"
    assert record["dependencies"] == ["urn:pulumi:test::servestack::kubernetes:core/v1:Namespace::models"]
    assert record["provider"].split("::")[-2] == "cluster-k8s"


@pytest.fixture(scope="module")
def plan():
    return plan_program(endpoints_program(endpoints_at("stage-2")))


def test_irsa_role_trusts_exactly_the_endpoints_service_account(plan):
    role = resource(plan, ROLE, "iris-model-reader")
    assert json.loads(role["inputs"]["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com",
                                           f"{ISSUER}:sub": "system:serviceaccount:models:iris-model"}},
        }],
    }
    assert role["inputs"]["tags"] == {"servestack:endpoint": "iris", "team": "ml"}
    assert role["parent"] == f"{COMPONENT}::iris"


def test_role_may_read_only_the_models_prefix(plan):
    policy = resource(plan, POLICY, "iris-model-read")
    assert json.loads(policy["inputs"]["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadModelAcmeModels", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": ["arn:aws:s3:::acme-models/models/iris/*"]},
            {"Sid": "ListModelAcmeModels", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": "arn:aws:s3:::acme-models", "Condition": {"StringLike": {"s3:prefix": ["models/iris/*"]}}},
        ],
    }
    assert re.fullmatch(r"iris-model-reader-[0-9a-f]{7}", policy["inputs"]["role"])  # the role's generated name


def test_candidate_in_another_prefix_is_granted_too():
    from components.config.endpoints import ModelConfig
    from components.endpoint import model_prefixes
    from components.core.iam import S3Prefix, read_policy

    stable = ModelConfig(version="1", format="sklearn", storage_uri="s3://b-one/models/iris/1")
    candidate = ModelConfig(version="2", format="sklearn", storage_uri="s3://b-two/retrained/iris/2/")
    hf = ModelConfig(version="3", format="huggingface", storage_uri="hf://org/model:0e9e39f249a16976918f6564b8830bc894c89659")
    assert model_prefixes(candidate, stable, hf, None) == [S3Prefix("b-one", "models/iris/"), S3Prefix("b-two", "retrained/iris/")]
    assert [s["Resource"] for s in read_policy("aws-cn", model_prefixes(stable, candidate))["Statement"]] == [
        ["arn:aws-cn:s3:::b-one/models/iris/*"], "arn:aws-cn:s3:::b-one", ["arn:aws-cn:s3:::b-two/retrained/iris/*"], "arn:aws-cn:s3:::b-two"]


def test_service_accounts(plan):
    iris = resource(plan, SA, "iris-sa")
    role_name = resource(plan, POLICY, "iris-model-read")["inputs"]["role"]
    assert iris["inputs"] == {
        "apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
        "metadata": {"name": "iris-model", "namespace": "models",
                     "labels": {"servestack.io/endpoint": "iris", "app.kubernetes.io/managed-by": "servestack"},
                     "annotations": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{role_name}"}},
    }
    # A Hugging Face model needs no AWS role: no role, no annotation.
    assert "annotations" not in resource(plan, SA, "llm-sa")["inputs"]["metadata"]
    assert sorted(resources(plan, ROLE)) == ["iris-model-reader"]
    for name, obj in plan.manifests():
        if obj["kind"] == "ServiceAccount":
            kubernetes_validate.validate(obj, "1.34", strict=True)


def test_inference_service_goes_through_the_cluster_provider_after_its_identity_and_the_platform(plan):
    isvc = resource(plan, ISVC, "iris-isvc")
    assert isvc["provider"].split("::")[-2] == "cluster-k8s"
    # The platform's last install waits for the cluster's, so the endpoint names only the platform's.
    assert isvc["dependencies"] == sorted([
        f"{COMPONENT}$aws:iam/rolePolicy:RolePolicy::iris-model-read",
        f"{COMPONENT}$kubernetes:core/v1:ServiceAccount::iris-sa",
        "urn:pulumi:test::servestack::kubernetes:core/v1:ConfigMap::kserve-ready",
    ])
    assert isvc["inputs"]["spec"]["predictor"]["serviceAccountName"] == "iris-model"
    assert isvc["inputs"]["metadata"]["labels"] == {"servestack.io/endpoint": "iris", "servestack.io/model": "iris"}


def test_the_read_policy_names_the_clusters_partition_which_is_looked_up_once_per_stack_not_per_endpoint():
    plan = plan_program(endpoints_program({"iris": IRIS}, partition="aws-us-gov"))
    policy = json.loads(resource(plan, POLICY, "iris-model-read")["inputs"]["policy"])
    assert {s["Resource"] if isinstance(s["Resource"], str) else s["Resource"][0] for s in policy["Statement"]} == {
        "arn:aws-us-gov:s3:::acme-models/models/iris/*", "arn:aws-us-gov:s3:::acme-models"}


def test_with_a_platform_another_stack_installed_the_inference_service_waits_for_the_cluster():
    plan = plan_program(endpoints_program({"iris": IRIS}, referenced_platform=True))
    assert resource(plan, ISVC, "iris-isvc")["dependencies"] == sorted([
        f"{COMPONENT}$aws:iam/rolePolicy:RolePolicy::iris-model-read",
        f"{COMPONENT}$kubernetes:core/v1:ServiceAccount::iris-sa",
        "urn:pulumi:test::servestack::kubernetes:core/v1:ConfigMap::node-pools-ready",
    ])


def test_a_referenced_clusters_pools_are_checked_when_the_endpoint_is_placed():
    from components.core.placement import placement_for
    from servestack.plan import PlanError

    # This stack's config says gpu4 has 4 GPUs a node; the cluster it references has 1.
    referenced = {"gpu4": placement_for("gpu4", ["g6.xlarge"], 2), "system": placement_for("system", ["m7i.large"], 2)}
    llm = {**LLM, "pool": "gpu4", "accelerators": 2}
    assert plan_program(endpoints_program({"llm": llm})).steps  # fits the declared pool
    with pytest.raises(PlanError) as error:
        plan_program(endpoints_program({"llm": llm}, cluster_placements=referenced))
    assert str(error.value) == ("the program failed: ValueError: endpoint llm does not fit pool gpu4 in Knative mode: accelerators exceeds "
                                "the 1 nvidia accelerator(s) (nvidia.com/gpu) of one node of pool gpu4 (g6.xlarge); "
                                "one replica must fit on one node")


def test_a_namespace_the_platform_does_not_provide_is_refused():
    from servestack.plan import PlanError

    # This stack's config allows "serving"; the (referenced) platform provides only "models".
    with pytest.raises(PlanError) as error:
        plan_program(endpoints_program({"iris": {**IRIS, "namespace": "serving"}}, config_namespaces=("models", "serving")))
    assert str(error.value) == ("the program failed: ValueError: endpoint iris: namespace 'serving' is not one the "
                                "platform provides (models)")


KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_sse_kms_model_may_decrypt_with_exactly_its_key_through_s3():
    iris = copy.deepcopy(IRIS)
    iris["model"]["kmsKeyArn"] = KMS_KEY
    iris["rollout"] = copy.deepcopy(STATES["stage-1"])
    policy = resource(plan_program(endpoints_program({"iris": iris})), POLICY, "iris-model-read")
    assert json.loads(policy["inputs"]["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadModelAcmeModels", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": ["arn:aws:s3:::acme-models/models/iris/*"]},
            {"Sid": "ListModelAcmeModels", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": "arn:aws:s3:::acme-models", "Condition": {"StringLike": {"s3:prefix": ["models/iris/*"]}}},
            # Only Decrypt (reading never needs GenerateDataKey), only this key, only when S3 of the key's
            # region calls KMS for the endpoint: the role cannot decrypt anything with the key directly.
            {"Sid": "DecryptModel", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": KMS_KEY,
             "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}},
        ],
    }


def test_multi_region_key_and_no_key():
    from components.core.iam import S3Prefix, read_policy

    mrk = "arn:aws:kms:us-east-2:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    prefixes = [S3Prefix("b", "models/iris/")]
    assert read_policy("aws", prefixes, mrk)["Statement"][-1] == {
        "Sid": "DecryptModel", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": mrk,
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-2.amazonaws.com"}}}
    assert [s["Sid"] for s in read_policy("aws", prefixes)["Statement"]] == ["ReadModelB", "ListModelB"]


# ----------------------------------------------------------------------------- a transformer's S3 artifacts


def test_a_transformer_with_s3_artifacts_runs_as_the_endpoints_service_account_which_may_read_them():
    transformer = {"container": {"image": "ghcr.io/acme/iris-features:1.0.0"}, "storageUri": "s3://acme-features/encoders/iris/4"}
    plan = plan_program(endpoints_program({"iris": {**IRIS, "transformer": transformer},
                                           "llm": {**LLM, "transformer": transformer}}))
    for name in ("iris", "llm"):
        spec = resource(plan, ISVC, f"{name}-isvc")["inputs"]["spec"]
        assert spec["transformer"]["serviceAccountName"] == spec["predictor"]["serviceAccountName"] == f"{name}-model"
        assert spec["transformer"]["containers"][0]["env"] == [{"name": "STORAGE_URI", "value": "s3://acme-features/encoders/iris/4"}]
    iris_policy = json.loads(resource(plan, POLICY, "iris-model-read")["inputs"]["policy"])
    assert [s["Resource"] for s in iris_policy["Statement"]] == [
        ["arn:aws:s3:::acme-features/encoders/iris/*"], "arn:aws:s3:::acme-features",
        ["arn:aws:s3:::acme-models/models/iris/*"], "arn:aws:s3:::acme-models"]
    # The LLM's model is on Hugging Face: its role exists for the transformer's artifacts alone.
    llm_policy = json.loads(resource(plan, POLICY, "llm-model-read")["inputs"]["policy"])
    assert [s["Resource"] for s in llm_policy["Statement"]] == [["arn:aws:s3:::acme-features/encoders/iris/*"], "arn:aws:s3:::acme-features"]
    assert "eks.amazonaws.com/role-arn" in resource(plan, SA, "llm-sa")["inputs"]["metadata"]["annotations"]


def test_a_transformer_without_s3_artifacts_keeps_no_aws_identity():
    hf = "hf://acme/tokenizer:0e9e39f249a16976918f6564b8830bc894c89659"
    plan = plan_program(endpoints_program({
        "iris": {**IRIS, "transformer": {"container": {"image": "ghcr.io/acme/iris-features:1.0.0", "env": {"A": "1"}}, "storageUri": hf}},
        "llm": {**LLM, "transformer": {"container": {"image": "ghcr.io/acme/llm-features:1.0.0"}}},
    }))
    iris = resource(plan, ISVC, "iris-isvc")["inputs"]["spec"]["transformer"]
    assert iris == {"containers": [{"name": "kserve-container", "image": "ghcr.io/acme/iris-features:1.0.0",
                                    "env": [{"name": "A", "value": "1"}, {"name": "STORAGE_URI", "value": hf}],
                                    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
                                    "securityContext": container_security_context()}]}
    assert "serviceAccountName" not in resource(plan, ISVC, "llm-isvc")["inputs"]["spec"]["transformer"]
    assert sorted(resources(plan, ROLE)) == ["iris-model-reader"]

"""Every policy rule with a passing and a failing stack, on hand-built resources (exact messages)."""

from __future__ import annotations

import copy
from pathlib import Path
import re

import pytest

from components.core.pod_security import container_security_context
from policies.rules import ALL_RULES, RULES_BY_NAME, PolicyConfigError, evaluate
from review_stack import (
    cluster,
    good_stack,
    irsa_role,
    isvc,
    knative_record,
    launch_template,
    node_group,
    nvidia_plugin,
    replace,
    res,
    standard_isvc,
)

PROD = {"aws:region": "us-east-1", "servestack:tier": "prod"}
DEV = {"aws:region": "us-east-1", "servestack:tier": "dev"}


def violations(resources, rule, config=None, stack_config=PROD, stack="prod"):
    return [(v.urn.rsplit("::", 1)[-1], v.message)
            for v in evaluate(resources, config or {}, stack_config, stack) if v.rule == rule]


def without(resources, name):
    return [r for r in resources if not r["urn"].endswith(f"::{name}")]


def test_the_good_prod_stack_passes_every_rule():
    assert evaluate(good_stack(), {}, PROD, "prod") == []


def test_rules_have_kebab_case_names_descriptions_levels_and_defaults_for_every_setting():
    assert len(ALL_RULES) == 58
    for rule in ALL_RULES:
        assert rule.name == rule.name.lower() and " " not in rule.name and "_" not in rule.name
        assert rule.description.endswith(".")
        assert rule.enforcement in ("mandatory", "advisory")
        assert all("default" in s and "description" in s for s in rule.schema().values()), rule.name
    assert {r.domain for r in ALL_RULES} == {"security", "accelerators", "karpenter", "serving", "cost"}


# --------------------------------------------------------------------------- security


def test_eks_endpoint_public_in_prod_and_open_to_the_internet():
    stack = replace(good_stack(), cluster(vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}))
    assert violations(stack, "eks-endpoint-private") == [
        ("servestack-cluster", "vpcConfig.endpointPublicAccess is true (or unset, which EKS treats as true) on a prod "
                               "cluster; allowed: false with endpointPrivateAccess true, because a prod API server must "
                               "not be reachable from the internet"),
        ("servestack-cluster", "vpcConfig.publicAccessCidrs contains 0.0.0.0/0; allowed: specific ranges, never the whole "
                               "internet, because the API server would accept connections from anyone"),
    ]


def test_eks_endpoint_public_is_fine_in_dev_with_restricted_ranges_but_never_with_unset_ranges():
    restricted = replace(good_stack(), cluster(vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}))
    assert violations(restricted, "eks-endpoint-private", stack_config=DEV, stack="dev") == []
    unset = replace(good_stack(), cluster(vpcConfig={}))
    assert violations(unset, "eks-endpoint-private", stack_config=DEV, stack="dev") == [
        ("servestack-cluster", "vpcConfig.publicAccessCidrs is unset while the public endpoint is on, so EKS opens it to "
                               "0.0.0.0/0; allowed: the office/VPN ranges that need the API, never 0.0.0.0/0")]


def test_tier_comes_from_the_policy_setting_before_the_stack_config():
    restricted = replace(good_stack(), cluster(vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}))
    assert len(violations(restricted, "eks-endpoint-private", {"eks-endpoint-private": {"tier": "prod"}}, DEV, "dev")) == 1
    assert violations(restricted, "eks-endpoint-private", {"eks-endpoint-private": {"tier": "dev"}}) == []
    # Without servestack:tier the stack name decides.
    assert len(violations(restricted, "eks-endpoint-private", stack_config={}, stack="ml-prod")) == 1


def test_eks_secrets_encryption():
    assert violations(good_stack(), "eks-secrets-encryption") == []
    stack = replace(good_stack(), cluster(encryptionConfig=None))
    assert violations(stack, "eks-secrets-encryption") == [
        ("servestack-cluster", 'encryptionConfig does not encrypt secrets (found resources none); required: resources '
                               '["secrets"] with a KMS key, so that Kubernetes Secrets are envelope-encrypted in etcd')]


def test_eks_control_plane_logging_and_its_setting():
    stack = replace(good_stack(), cluster(enabledClusterLogTypes=["api", "audit"]))
    assert violations(stack, "eks-control-plane-logging") == [
        ("servestack-cluster", "enabledClusterLogTypes lacks authenticator, controllerManager, scheduler (enabled: api, "
                               "audit); required: api, audit, authenticator, controllerManager, scheduler, so that API "
                               "calls and authentication are auditable")]
    relaxed = {"eks-control-plane-logging": {"requiredLogTypes": ["api", "audit"]}}
    assert violations(stack, "eks-control-plane-logging", relaxed) == []


def test_launch_template_requires_imdsv2_and_a_low_hop_limit():
    stack = replace(good_stack(), launch_template(metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 3}))
    assert violations(stack, "launch-template-imdsv2") == [
        ("servestack-gpu", "metadataOptions.httpPutResponseHopLimit is 3; allowed: at most 1, so that pods (one hop "
                           "further than the node) cannot reach the node role's credentials"),
        ("servestack-gpu", 'metadataOptions.httpTokens is optional; required: "required" (IMDSv2), because IMDSv1 lets '
                           "any SSRF in a pod read the node role's credentials"),
    ]
    assert violations(good_stack(), "launch-template-imdsv2") == []


def test_launch_template_volumes_encrypted():
    stack = replace(good_stack(), launch_template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]))
    assert violations(stack, "launch-template-encrypted-volumes") == [
        ("servestack-gpu", "blockDeviceMappings[0] (/dev/xvda) has ebs.encrypted false; required: true, because node "
                           "volumes hold model weights and container layers")]
    no_mapping = replace(good_stack(), launch_template(blockDeviceMappings=[]))
    assert [m for _, m in violations(no_mapping, "launch-template-encrypted-volumes")] == [
        "blockDeviceMappings is empty, so the root volume's encryption depends on the AMI and the account default; "
        "required: a mapping of the root device with ebs.encrypted true"]
    boolean = replace(good_stack(), launch_template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}]))
    assert violations(boolean, "launch-template-encrypted-volumes") == []


def test_node_group_without_ssh():
    stack = replace(good_stack(), node_group("system", ["m7i.xlarge"], 3, 6, remoteAccess={"ec2SshKey": "ops"}))
    assert violations(stack, "node-group-no-ssh") == [
        ("servestack-system", "remoteAccess is set (ec2SshKey ops); allowed: none, because SSH opens port 22 on every "
                              "node; use SSM Session Manager or kubectl debug instead")]
    assert violations(good_stack(), "node-group-no-ssh") == []


def test_irsa_role_reads_only_its_model_prefix():
    assert violations(good_stack(), "irsa-model-prefix-only") == []
    stack = replace(good_stack(), irsa_role({"Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::models-bucket/*"}]}))
    assert violations(stack, "irsa-model-prefix-only") == [
        ("fraud-model-reader", "inlinePolicies[0] (read-model): statement 0 allows s3:PutObject; allowed S3 actions: "
                               "s3:GetObject, s3:GetObjectVersion, s3:ListBucket, s3:GetBucketLocation (a serving role "
                               "only reads its model)"),
        ("fraud-model-reader", "inlinePolicies[0] (read-model): statement 0 grants s3:GetObject, s3:PutObject on "
                               "arn:aws:s3:::models-bucket/*; allowed: objects under a model prefix at least 2 levels "
                               "deep without wildcards (s3://bucket/models/<model>/...), so one endpoint cannot read "
                               "another's model"),
    ]


def test_irsa_role_policy_resource_listing_the_whole_bucket():
    policy = res("aws:iam/rolePolicy:RolePolicy", "fraud-read", {"role": "fraud-model-reader", "policy": (
        '{"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::models-bucket"}]}')})
    assert violations([*good_stack(), policy], "irsa-model-prefix-only") == [
        ("fraud-read", "policy: statement 0 allows s3:ListBucket on arn:aws:s3:::models-bucket without an s3:prefix "
                       "condition; allowed: listing the model's prefix only")]


def test_container_images_are_pinned():
    daemon_set = res("kubernetes:apps/v1:DaemonSet", "fpga-device-plugin", {"spec": {"template": {"spec": {"containers": [
        {"name": "plugin", "image": "ghcr.io/acme/fpga-plugin:latest"}, {"name": "side", "image": "busybox"},
        {"name": "ok", "image": "registry.k8s.io/pause:3.10"}]}}}})
    assert violations([*good_stack(), daemon_set], "container-image-pinned") == [
        ("fpga-device-plugin", "spec.template.spec.containers[0].image ghcr.io/acme/fpga-plugin:latest uses the tag "
                               "latest, which floats; required: a version tag or an @sha256 digest, so that a deploy is "
                               "reproducible"),
        ("fpga-device-plugin", "spec.template.spec.containers[1].image busybox has no tag, so it floats with whatever is "
                               "pushed as latest; required: a version tag or an @sha256 digest, so that a deploy is "
                               "reproducible"),
    ]
    helm = nvidia_plugin()
    helm["inputs"]["values"]["image"] = {"repository": "nvcr.io/nvidia/k8s-device-plugin", "tag": "latest"}
    assert [m for _, m in violations(replace(good_stack(), helm), "container-image-pinned")] == [
        "values.image nvcr.io/nvidia/k8s-device-plugin:latest uses the tag latest, which floats; required: a version "
        "tag or an @sha256 digest, so that a deploy is reproducible"]
    assert violations(good_stack(), "container-image-pinned") == []
    unversioned = nvidia_plugin()
    del unversioned["inputs"]["version"]
    assert violations(replace(good_stack(), unversioned), "container-image-pinned") == [
        ("nvidia-device-plugin", "chart nvidia-device-plugin has no version, so every deploy installs whatever the "
                                 "repository publishes last (and the images of that release); required: a pinned chart version")]


# --------------------------------------------------------------------------- accelerators


def test_accelerator_pool_tainted():
    stack = replace(good_stack(), node_group("gpu", ["g6.xlarge"], 1, 4, [], "nvidia"))
    assert violations(stack, "accelerator-pool-tainted") == [
        ("servestack-gpu", "nvidia pool gpu has no taints; required: a taint nvidia.com/gpu=true:NoSchedule (EKS "
                           "spelling NO_SCHEDULE), so that pods that do not need the accelerator stay off these "
                           "expensive nodes")]


def test_accelerator_pool_has_device_plugin():
    stack = without(good_stack(), "nvidia-device-plugin")
    assert violations(stack, "accelerator-pool-has-device-plugin") == [
        ("servestack-gpu", "nvidia pool gpu has no nvidia device plugin in the stack; required: one, because without "
                           "it the nodes never advertise nvidia.com/gpu and every endpoint that requests it stays Pending")]
    assert violations(good_stack(), "accelerator-pool-has-device-plugin") == []


def test_device_plugin_tolerates_pool_taints():
    stack = replace(good_stack(), nvidia_plugin([]))
    assert violations(stack, "device-plugin-tolerates-pool-taints") == [
        ("nvidia-device-plugin", "the nvidia device plugin does not tolerate nvidia.com/gpu=true:NoSchedule of pool gpu "
                                 "(its tolerations: none); required: a toleration for each taint of every pool it "
                                 "serves, or it never runs on those nodes")]
    exists = replace(good_stack(), nvidia_plugin([{"key": "nvidia.com/gpu", "operator": "Exists"}]))
    assert violations(exists, "device-plugin-tolerates-pool-taints") == []


def fpga_pool_and_plugin():
    taint = {"key": "servestack.io/fpga", "value": "true", "effect": "NO_SCHEDULE"}
    pool = node_group("fpga", ["f2.6xlarge"], 0, 2, [taint], "fpga")
    plugin = res("kubernetes:apps/v1:DaemonSet", "fpga-device-plugin", {"spec": {"template": {"spec": {
        "nodeSelector": {"servestack.io/accelerator": "fpga"},
        "tolerations": [{"key": "servestack.io/fpga", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [{"name": "plugin", "image": "ghcr.io/acme/fpga-plugin:1.2.0@sha256:" + "a" * 64,
                        "securityContext": container_security_context()}]}}}})
    return pool, plugin


def test_fpga_pool_and_daemon_set_plugin():
    pool, plugin = fpga_pool_and_plugin()
    assert evaluate([*good_stack(), pool, plugin], {}, PROD, "prod") == []
    assert violations([*good_stack(), pool], "accelerator-pool-has-device-plugin") == [
        ("servestack-fpga", "fpga pool fpga has no fpga device plugin in the stack; required: one, because without it "
                            "the nodes never advertise servestack.io/fpga and every endpoint that requests it stays Pending")]


def test_endpoint_on_accelerator_pool_that_has_it():
    on_cpu = replace(good_stack(), isvc(pool="system"))
    assert violations(on_cpu, "endpoint-on-accelerator-pool") == [
        ("fraud", "endpoint models/fraud requests nvidia.com/gpu but is placed on pool system, whose nodes offer no "
                  "accelerator (m7i.xlarge); required: a pool of that accelerator")]
    nowhere = replace(good_stack(), isvc(pool="a100"))
    assert violations(nowhere, "endpoint-on-accelerator-pool") == [
        ("fraud", "endpoint models/fraud requests nvidia.com/gpu but its predictor's nodeSelector names pool a100, which "
                  "is not a node pool of the stack (pools: gpu, system); required: a pool that has it, or the pods stay Pending")]


def test_endpoint_must_tolerate_the_pool_taints_unless_extended_resource_toleration_is_trusted():
    endpoint = isvc()
    endpoint["inputs"]["spec"]["predictor"]["tolerations"] = []
    stack = replace(good_stack(), endpoint)
    assert violations(stack, "endpoint-on-accelerator-pool") == [
        ("fraud", "endpoint models/fraud requests nvidia.com/gpu on pool gpu but does not tolerate "
                  "nvidia.com/gpu=true:NoSchedule; required: a toleration of every taint of the pool (Knative applies "
                  "them only with kubernetes.podspec-tolerations enabled)")]
    trusted = {"endpoint-on-accelerator-pool": {"trustExtendedResourceToleration": True}}
    assert violations(stack, "endpoint-on-accelerator-pool", trusted) == []


def test_accelerator_capacity_fits_counting_both_revisions_of_a_canary():
    assert violations(replace(good_stack(), isvc(max_replicas=4)), "accelerator-capacity-fits") == []
    too_many = replace(good_stack(), isvc(max_replicas=3, canary=10, candidate="1.1.0"))
    assert violations(too_many, "accelerator-capacity-fits") == [
        ("servestack-gpu", "endpoints on pool gpu need up to 6 nvidia.com/gpu at max replicas (fraud 6) but the pool "
                           "offers 4 (maxSize 4 x 1 per node); required: demand <= capacity, or replicas beyond it "
                           "stay Pending under load")]
    assert violations(too_many, "accelerator-capacity-fits", {"accelerator-capacity-fits": {"countCanaryReplicas": False}}) == []


# --------------------------------------------------------------------------- serving


def test_model_version_pinned():
    endpoint = isvc()
    endpoint["inputs"]["spec"]["predictor"]["model"]["storageUri"] = "s3://models-bucket/models/fraud/latest/"
    assert violations(replace(good_stack(), endpoint), "model-version-pinned") == [
        ("fraud", "spec.predictor.model.storageUri s3://models-bucket/models/fraud/latest/ names the mutable path latest; "
                  "required: an immutable version (s3://bucket/models/<model>/<version>/ or an OCI digest), so that a "
                  "rollout is reviewable and a rollback serves the same bytes")]
    assert violations(good_stack(), "model-version-pinned") == []


def test_hugging_face_models_pin_a_revision():
    endpoint = isvc()
    endpoint["inputs"]["spec"]["predictor"]["model"]["storageUri"] = "hf://meta-llama/Llama-3.1-8B-Instruct"
    assert violations(replace(good_stack(), endpoint), "model-version-pinned") == [
        ("fraud", "spec.predictor.model.storageUri hf://meta-llama/Llama-3.1-8B-Instruct names no revision, so it serves "
                  "whatever the repository's main branch holds at pod start; required: hf://<org>/<model>:<commit hash> "
                  "(KServe's revision syntax)")]
    endpoint["inputs"]["spec"]["predictor"]["model"]["storageUri"] = "hf://meta-llama/Llama-3.1-8B-Instruct:0e9e39f2"
    assert violations(replace(good_stack(), endpoint), "model-version-pinned") == []


def test_endpoint_resources_set():
    endpoint = isvc()
    del endpoint["inputs"]["spec"]["predictor"]["model"]["resources"]["limits"]
    endpoint["inputs"]["spec"]["predictor"]["model"]["resources"]["requests"].pop("memory")
    assert violations(replace(good_stack(), endpoint), "endpoint-resources-set") == [
        ("fraud", "spec.predictor.model.resources.limits lacks cpu, memory; required: limits for cpu, memory, so that "
                  "the scheduler packs nodes correctly and one model cannot starve its neighbours"),
        ("fraud", "spec.predictor.model.resources.requests lacks memory; required: requests for cpu, memory, so that "
                  "the scheduler packs nodes correctly and one model cannot starve its neighbours"),
    ]


def test_prod_endpoints_keep_two_replicas_unless_scale_to_zero_is_allowed():
    one = replace(good_stack(), isvc(min_replicas=1))
    assert violations(one, "prod-endpoint-min-replicas") == [
        ("fraud", "spec.predictor.minReplicas is 1 on a prod endpoint; required: at least 2, so that one pod's restart "
                  "or node's loss does not take the model offline (scale to zero needs the endpoint in allowScaleToZero "
                  'or the annotation servestack.io/allow-scale-to-zero: "true")')]
    assert violations(one, "prod-endpoint-min-replicas", stack_config=DEV, stack="dev") == []
    zero = replace(good_stack(), isvc(min_replicas=0))
    assert len(violations(zero, "prod-endpoint-min-replicas")) == 1
    assert violations(zero, "prod-endpoint-min-replicas", {"prod-endpoint-min-replicas": {"allowScaleToZero": ["fraud"]}}) == []


def test_canary_fields_only_in_the_mode_that_honours_them():
    standard = replace(good_stack(), isvc(mode="Standard", canary=10, candidate="1.1.0"))
    assert violations(standard, "canary-fields-match-mode") == [
        ("fraud", "spec.predictor.canaryTrafficPercent is set on a Standard-mode endpoint, which ignores it (the canary "
                  "would silently take no traffic); allowed in Standard mode: spec.canary[] entries, which KServe v0.20.0 "
                  "runs beside the stable predictor without traffic")]
    knative = isvc(mode="Knative")
    knative["inputs"]["spec"]["canary"] = [{"trafficPercent": 10, "predictor": {"name": "v1-1-0"}}]
    assert violations(replace(good_stack(), knative), "canary-fields-match-mode") == [
        ("fraud", "spec.canary is set on a Knative-mode endpoint; KServe honours it only in Standard mode and would "
                  "silently send all traffic to the predictor; allowed in Knative mode: spec.predictor.canaryTrafficPercent")]
    # The old mode names count too, and no annotation means the platform's default mode.
    assert len(violations(replace(good_stack(), isvc(mode="RawDeployment", canary=10)), "canary-fields-match-mode")) == 1
    unannotated = replace(good_stack(), isvc(mode=None, canary=10))
    assert violations(unannotated, "canary-fields-match-mode") == []
    standard_default = {**PROD, "servestack:platform": {"kserve": {"deploymentMode": "Standard"}}}
    assert len(violations(unannotated, "canary-fields-match-mode", stack_config=standard_default)) == 1


def test_a_standard_mode_canary_declares_no_traffic_kserve_would_not_route():
    routed_nowhere = replace(good_stack(), standard_isvc("fraud", "1.0.0", "1.1.0", traffic=5))
    assert violations(routed_nowhere, "canary-fields-match-mode") == [
        ("fraud", "spec.canary[0].trafficPercent is 5, but KServe v0.20.0 routes no traffic to spec.canary[] (every request "
                  "goes to the stable predictor; weighted routing came with kserve/kserve#5912); allowed: 0 (a blue/green "
                  "candidate that promotion cuts over to)")]
    assert violations(replace(good_stack(), standard_isvc("fraud", "1.0.0", "1.1.0", traffic=0)), "canary-fields-match-mode") == []


def test_prod_min_replicas_count_what_kserve_keeps_while_a_standard_mode_canary_runs():
    endpoint = standard_isvc("fraud", "1.0.0", "1.1.0", traffic=0, max_replicas=2)
    endpoint["inputs"]["spec"]["canary"][0]["predictor"]["minReplicas"] = 1
    assert violations(replace(good_stack(), endpoint), "prod-endpoint-min-replicas") == [
        ("fraud", "spec.predictor.minReplicas is 2, but KServe keeps only 1 while spec.canary[] runs (it lowers the stable "
                  "minimum by the canary's replicas, which serve no traffic); required: at least 2: raise minReplicas or "
                  "lower rollout.candidateReplicas")]
    steady = standard_isvc("fraud", "1.0.0", max_replicas=2)
    assert violations(replace(good_stack(), steady), "prod-endpoint-min-replicas") == []
    endpoint["inputs"]["spec"]["predictor"]["minReplicas"] = 3
    assert violations(replace(good_stack(), endpoint), "prod-endpoint-min-replicas") == []


def created(resources):
    """The resources as the steps of a plan that creates them carry them."""
    return [{**r, "op": "create"} for r in resources]


MID_ROLLOUT = ("models/fraud is created with a Knative-mode rollout in place (candidate 1.1.0, stage 1 of 3, "
               "canaryTrafficPercent 10): a new InferenceService has no rolled-out revision for KServe to keep the rest "
               "of the traffic on, so candidate 1.1.0 would take all traffic, not 10%, and the stable model 1.0.0 would "
               "never run; create the endpoint steady (without rollout) first, then start the rollout in a following change")


def test_a_knative_inference_service_is_not_created_mid_rollout():
    stack = [*replace(good_stack(), isvc(canary=10, candidate="1.1.0")), knative_record("fraud", "1.0.0", "1.1.0", "10,50,100", 1)]
    assert violations(created(stack), "no-create-mid-rollout") == [("fraud", MID_ROLLOUT)]
    assert RULES_BY_NAME["no-create-mid-rollout"].enforcement == "advisory"
    # Updated in place (the rollout advances on a deployed InferenceService), or op unknown (CrossGuard): nothing to say.
    assert violations([{**r, "op": "update"} for r in stack], "no-create-mid-rollout") == []
    assert violations(stack, "no-create-mid-rollout") == []
    # Created steady, or in Standard mode (whose stable predictor is part of the spec): fine.
    assert violations(created(good_stack()), "no-create-mid-rollout") == []
    assert violations(created(replace(good_stack(), standard_isvc("fraud", "1.0.0", "1.1.0"))), "no-create-mid-rollout") == []


@pytest.mark.parametrize("endpoint, record, message", [
    (isvc(canary=0, candidate="1.1.0"), knative_record("fraud", "1.0.0", "1.1.0", "10,50,100", 2, rolled_back=True),
     "models/fraud is created with a Knative-mode rollout in place (candidate 1.1.0, rolled back, canaryTrafficPercent 0): "
     "a new InferenceService has no rolled-out revision for KServe to keep the rest of the traffic on, so candidate 1.1.0 "
     "would take all traffic, not 0%, and the stable model 1.0.0 would never run; create the endpoint steady (without "
     "rollout) first, then start the rollout in a following change"),
    (isvc(canary=100, candidate="1.1.0"), knative_record("fraud", "1.0.0", "1.1.0", "10,100", 2),
     "models/fraud is created with a Knative-mode rollout in place (candidate 1.1.0, stage 2 of 2, canaryTrafficPercent "
     "100): a new InferenceService has no rolled-out revision for KServe to keep the rest of the traffic on, so the "
     "stable model 1.0.0 would never run and a rollback would have no revision to return to; create the endpoint steady "
     "(without rollout) first, then start the rollout in a following change"),
    (isvc(canary=50, candidate="1.1.0"), None,
     "models/fraud is created with a Knative-mode rollout in place (the candidate, canaryTrafficPercent 50): a new "
     "InferenceService has no rolled-out revision for KServe to keep the rest of the traffic on, so the candidate would "
     "take all traffic, not 50%, and the stable model would never run; create the endpoint steady (without rollout) "
     "first, then start the rollout in a following change"),
], ids=["rolled-back", "last-stage", "no-record"])
def test_created_mid_rollout_says_what_would_really_happen(endpoint, record, message):
    stack = replace(good_stack(), endpoint) + ([record] if record else [])
    assert violations([{**r, "op": "replace"} for r in stack], "no-create-mid-rollout") == [("fraud", message)]


def test_prod_payload_logging():
    silent = replace(good_stack(), isvc(logger=False))
    assert violations(silent, "prod-payload-logging") == [
        ("fraud", "spec.predictor.logger is not set on a prod endpoint; required: a logger with mode all (or request) "
                  "and a sink url, so that every prediction served in prod can be audited and replayed")]
    assert violations(silent, "prod-payload-logging", stack_config=DEV, stack="dev") == []


# --------------------------------------------------------------------------- cost


def test_accelerator_count_cap():
    assert violations(good_stack(), "accelerator-count-cap") == []
    assert violations(good_stack(), "accelerator-count-cap", {"accelerator-count-cap": {"maxAccelerators": 3}}) == [
        ("", "the stack's accelerator pools reach 4 accelerators at max size (gpu 4 x 1); allowed: at most 3 per stack "
             "(policy setting maxAccelerators), so that an autoscaler cannot run up an unreviewed bill")]


def test_hourly_cost_cap():
    # bound: gpu 4 x g6.xlarge 0.8048 + system 6 x m7i.xlarge 0.2016 + control plane 0.10 = 4.5288
    assert violations(good_stack(), "hourly-cost-cap", {"hourly-cost-cap": {"maxHourlyCost": 4.53}}) == []
    assert violations(good_stack(), "hourly-cost-cap", {"hourly-cost-cap": {"maxHourlyCost": 4.5}}) == [
        ("", "the stack's estimated cost with every pool at its bound is $4.53/h (largest: pool gpu $3.22/h, pool "
             "system $1.21/h); allowed: at most $4.50/h (policy setting maxHourlyCost), so that a change that raises "
             "the ceiling gets an explicit decision")]


@pytest.mark.parametrize("instance_type", ["g6e.48xlarge", "p4d.24xlarge", "trn2.48xlarge"])
def test_hourly_cost_cap_fails_closed_on_a_type_without_a_price(instance_type):
    """1000 nodes of a type the table does not price: the cap cannot bound them, so it is a violation naming it."""
    stack = [*good_stack(), node_group("big", [instance_type], 0, 1000, accelerator="nvidia")]
    assert violations(stack, "hourly-cost-cap") == [
        ("servestack-big", f"pool big may launch {instance_type}, which the us-east-1 prices of 2026-11-01 do not "
                           "price; required: a price for every instance type a pool may launch, so that the cap of "
                           "$100.00/h (policy setting maxHourlyCost) bounds it")]


def test_hourly_cost_cap_fails_closed_in_a_region_without_prices():
    found = evaluate(good_stack(), {}, {"aws:region": "eu-west-1", "servestack:tier": "prod"}, "prod")
    assert [(v.rule, v.message) for v in found if v.rule == "hourly-cost-cap"] == [
        ("hourly-cost-cap", "the stack's cost cannot be checked against the cap of $100.00/h: eu-west-1 prices "
                            "unknown: no price file for eu-west-1; run `servestack prices update --region eu-west-1`")]


@pytest.mark.parametrize("field,value", [("maxReplicas", -5), ("minReplicas", -1), ("maxReplicas", 2.5),
                                         ("minReplicas", "two")])
def test_capacity_demand_readable_refuses_counts_that_would_hide_demand(field, value):
    endpoint = isvc(max_replicas=4)
    endpoint["inputs"]["spec"]["predictor"][field] = value
    default = 1 if field == "minReplicas" else 2
    assert violations(replace(good_stack(), endpoint), "capacity-demand-readable") == [
        ("fraud", f"spec.predictor.{field} is {value!r}; required: a whole number >= 0 (a negative or non-numeric "
                  f"count would hide demand); counted as {default}")]


def test_a_negative_max_replicas_never_lowers_demand_below_capacity():
    """fraud at 6 replicas of 1 GPU on a 4-GPU pool fails; maxReplicas -5 is refused and counted as the minimum
    (6), so the capacity rule still fails: FAILED never becomes PASSED."""
    over = replace(good_stack(), isvc(min_replicas=6, max_replicas=6))
    hidden = replace(good_stack(), isvc(min_replicas=6, max_replicas=-5))
    assert len(violations(over, "accelerator-capacity-fits")) == 1
    assert len(violations(hidden, "accelerator-capacity-fits")) == 1
    assert len(violations(hidden, "capacity-demand-readable")) == 1


# --------------------------------------------------------------------------- unknowns and enforcement


def test_values_unknown_at_preview_are_not_violations():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    stack = replace(good_stack(), launch_template(metadataOptions={"httpTokens": unknown},
                                                  blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": unknown}}]))
    assert violations(stack, "launch-template-imdsv2") == []
    assert violations(stack, "launch-template-encrypted-volumes") == []


def test_enforcement_levels_come_from_the_policy_config():
    stack = replace(good_stack(), isvc(logger=False))
    [advisory] = [v for v in evaluate(stack, {"prod-payload-logging": "advisory"}, PROD, "prod")]
    assert (advisory.rule, advisory.enforcement) == ("prod-payload-logging", "advisory")
    assert evaluate(stack, {"prod-payload-logging": {"enforcementLevel": "disabled"}}, PROD, "prod") == []
    assert {v.enforcement for v in evaluate(stack, {"all": "advisory"}, PROD, "prod")} == {"advisory"}


def test_a_setting_of_the_wrong_item_type_is_a_policy_config_error_not_a_traceback():
    config = {"model-version-pinned": {"mutableNames": ["latest", 1]}}
    message = 'model-version-pinned.mutableNames: item 1 must be of type string (got ["latest", 1])'
    with pytest.raises(PolicyConfigError, match=f"^{re.escape(message)}$"):
        evaluate(good_stack(), config, PROD, "prod")


@pytest.mark.parametrize(("rule", "fault"), [
    ("karpenter-nodepool-limits", {"limits": {"nvidia.com/gpu": "4"}}),
    ("karpenter-nodeclass-imdsv2", {"http_tokens": "optional"}),
    ("karpenter-nodeclass-encrypted-volumes", {"encrypted": False}),
    ("karpenter-ami-pinned", {"alias": "al2023@latest"}),
])
def test_karpenter_rules_fail_on_their_fault(rule, fault):
    """Exact messages: tests/test_karpenter_readers.py."""
    from karpenter_stack import karpenter_stack

    assert [v.rule for v in evaluate(karpenter_stack(**fault), {}, PROD, "prod")] == [rule]


def test_a_nodepool_without_its_node_class_fails_karpenter_nodepool_node_class():
    from karpenter_stack import karpenter_stack

    stack = [r for r in karpenter_stack() if not r["type"].endswith(":EC2NodeClass")]
    assert [v.rule for v in evaluate(stack, {}, PROD, "prod")] == ["karpenter-nodepool-node-class"]


def test_every_rule_has_a_failing_case_in_this_file_or_its_siblings():
    here = Path(__file__).parent
    source = "".join((here / name).read_text() for name in (
        "test_policies_rules.py", "test_policies_faults.py", "test_llm_policies.py", "test_karpenter_readers.py",
        "test_policies_pod_security.py", "test_policies_iam_exposure.py", "test_policies_allow_lists.py"))
    assert [r.name for r in ALL_RULES if f'"{r.name}"' not in source] == []
    assert RULES_BY_NAME["prod-payload-logging"].tiered


def test_no_rule_crashes_or_reports_on_inputs_that_are_wholly_unknown_during_preview():
    """Every input of every resource unknown (a preview before anything exists): no crash, no finding
    that would need the unknown value."""
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    blank = [{**r, "inputs": {k: unknown for k in r["inputs"]}} for r in good_stack()]
    assert evaluate(blank, {}, PROD, "prod") == []


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


def test_no_rule_crashes_on_a_malformed_value_anywhere_in_the_inputs():
    """A real preview's JSON may hold null, a number or a list where a rule expects a string or a
    mapping: each such value, at every place of every input, gives findings or none, never a traceback."""
    policy = res("aws:iam/rolePolicy:RolePolicy", "fraud-read", {"role": "fraud-model-reader", "policy": {"Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::models-bucket",
         "Condition": {"StringLike": {"s3:prefix": ["models/fraud/*"]}}}]}})
    stack = [*good_stack(), *fpga_pool_and_plugin(), policy]
    for at, resource in enumerate(stack):
        for path in [p for p in _paths(resource["inputs"]) if p]:
            for malformed in (None, 5, [], [None], [{}]):
                broken = copy.deepcopy(stack)
                parent = broken[at]["inputs"]
                for part in path[:-1]:
                    parent = parent[part]
                parent[path[-1]] = copy.deepcopy(malformed)
                try:
                    evaluate(broken, {}, PROD, "prod")
                except Exception as error:  # noqa: BLE001 - the assertion names the input
                    raise AssertionError(f"{resource['urn']} inputs{list(path)} = {malformed!r}: {error!r}") from error


def test_irsa_role_reads_its_own_endpoint_model_and_no_other():
    ranker = isvc("ranker", gpus=0, pool="system")
    stack = [*good_stack(), ranker]
    assert violations(stack, "irsa-role-scoped-to-endpoint") == []
    wide = replace(stack, irsa_role({"Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models-bucket/models/*"}]}))
    assert violations(wide, "irsa-role-scoped-to-endpoint") == [
        ("fraud-model-reader", "the role of endpoint fraud can read s3://models-bucket/models/ranker/1.0.0 of endpoint "
                               "ranker through models-bucket/models/*; allowed: only its own endpoint's model prefix, so "
                               "that one endpoint cannot read another's model")]
    elsewhere = replace(stack, irsa_role({"Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models-bucket/models/fraud-old/*"}]}))
    assert violations(elsewhere, "irsa-role-scoped-to-endpoint") == [
        ("fraud-model-reader", "the role of endpoint fraud cannot read its model s3://models-bucket/models/fraud/1.0.0 "
                               "(grants: models-bucket/models/fraud-old/*); required: read access to the endpoint's own "
                               "model prefix, or the storage initializer fails to download it")]


def test_irsa_role_policy_is_linked_to_its_role_by_dependency():
    role = irsa_role()
    role["inputs"]["inlinePolicies"] = []
    policy = res("aws:iam/rolePolicy:RolePolicy", "fraud-read", {"role": "fraud-model-reader-1a2b3c", "policy": (
        '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models-bucket/models/*"}]}')})
    policy["dependencies"] = [role["urn"]]
    stack = [*replace(good_stack(), role), policy, isvc("ranker", gpus=0, pool="system")]
    [(resource, message)] = violations(stack, "irsa-role-scoped-to-endpoint")
    assert resource == "fraud-model-reader"
    assert message.startswith("the role of endpoint fraud can read s3://models-bucket/models/ranker/1.0.0 of endpoint ranker")


def test_cold_start_budget_per_tier():
    """prod's plan: chat's estimate is 287 s (tests/test_coldstart.py), summarize's 201 s. Under prod's default
    budget (5 minutes) both pass; a 4-minute budget catches chat only; dev's budget does not apply to prod."""
    from harness import repository_plan
    from plandoc.document import plan_from_document

    plan = plan_from_document(repository_plan("prod").document)
    resources, config = plan.resource_list(), plan.config
    assert violations(resources, "cold-start-budget", stack_config=config) == []
    found = violations(resources, "cold-start-budget", {"cold-start-budget": {"maxColdStartMinutes": {"prod": 4}}},
                       stack_config=config)
    assert found == [("servestack-endpoint-chat-isvc", (
        "endpoint chat can start a pod on a new node (replicas 3-8 need nodes pool gpu does not keep warm (its minimum "
        "demand holds 2 nvidia.com/gpu)); its cold start is estimated at 4m 47s (node launch 90s + device plugin 30s + "
        "image pull 58s + model download 43s + model load 66s); allowed: at most 4 minutes in tier prod (policy setting "
        "maxColdStartMinutes), so keep replicas warm, use a smaller model or image, or raise the budget in review"))]
    assert violations(resources, "cold-start-budget", {"cold-start-budget": {"maxColdStartMinutes": {"dev": 1}}},
                      stack_config=config) == []

"""The field diff compares lists of named things by name, in any resource's inputs (issue 23: adding one env
var showed ``env[1].name: "STORAGE_URI" -> "NEURON_RT_NUM_CORES"``)."""

from __future__ import annotations

from servestack.review.changes import FieldChange, field_changes
from servestack.review.fields import leaves

GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
NEURON = {"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"}


def test_env_added_removed_and_changed_by_name():
    old = {"env": [{"name": "NEURON_RT_NUM_CORES", "value": "2"}, {"name": "STORAGE_URI", "value": "s3://b/m/1"}]}
    new = {"env": [{"name": "A_FLAG", "value": "1"}, {"name": "NEURON_RT_NUM_CORES", "value": "4"}]}
    assert field_changes(old, new) == [
        FieldChange("env[name=NEURON_RT_NUM_CORES].value", "2", "4"),
        FieldChange("env[name=STORAGE_URI]", {"name": "STORAGE_URI", "value": "s3://b/m/1"}, None),
        FieldChange("env[name=A_FLAG]", None, {"name": "A_FLAG", "value": "1"}),
    ]


def test_a_toleration_added_in_front_is_one_added_item():
    assert field_changes({"tolerations": [GPU]}, {"tolerations": [NEURON, GPU]}) == [
        FieldChange("tolerations[key=aws.amazon.com/neuron]", None, NEURON)]
    # the same key twice (two effects): no key names them; equal items are matched first
    no_execute = {**GPU, "effect": "NoExecute"}
    assert field_changes({"tolerations": [GPU]}, {"tolerations": [no_execute, GPU]}) == [
        FieldChange("tolerations[0]", None, no_execute)]


def test_containers_init_containers_ports_volumes_and_mounts_by_their_names():
    old = {"initContainers": [{"name": "fetch", "image": "busybox:1.36"}],
           "containers": [{"name": "main", "image": "vllm:0.9", "ports": [{"name": "http", "containerPort": 8000}],
                           "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}],
           "volumes": [{"name": "cache", "emptyDir": {}}], "imagePullSecrets": [{"name": "ecr"}]}
    new = {"initContainers": [{"name": "warm", "image": "busybox:1.36"}, {"name": "fetch", "image": "busybox:1.37"}],
           "containers": [{"name": "main", "image": "vllm:0.10", "ports": [{"name": "http", "containerPort": 8080}],
                           "volumeMounts": [{"name": "cache", "mountPath": "/cache"},
                                            {"name": "shm", "mountPath": "/dev/shm"}]}],
           "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "shm", "emptyDir": {"medium": "Memory"}}],
           "imagePullSecrets": [{"name": "ecr"}, {"name": "ghcr"}]}
    assert field_changes(old, new) == [
        FieldChange("containers[name=main].image", "vllm:0.9", "vllm:0.10"),
        FieldChange("containers[name=main].ports[name=http].containerPort", 8000, 8080),
        FieldChange("containers[name=main].volumeMounts[name=shm]", None, {"name": "shm", "mountPath": "/dev/shm"}),
        FieldChange("imagePullSecrets[name=ghcr]", None, {"name": "ghcr"}),
        FieldChange("initContainers[name=fetch].image", "busybox:1.36", "busybox:1.37"),
        FieldChange("initContainers[name=warm]", None, {"name": "warm", "image": "busybox:1.36"}),
        FieldChange("volumes[name=shm]", None, {"name": "shm", "emptyDir": {"medium": "Memory"}}),
    ]


def test_an_order_change_alone_is_one_line():
    a, b = {"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}
    assert field_changes({"initContainers": [a, b]}, {"initContainers": [b, a]}) == [
        FieldChange("initContainers (order)", ["a", "b"], ["b", "a"])]


def test_named_args_by_flag_and_other_args_whole():
    assert field_changes({"args": ["--max-model-len=16384", "--enable-prefix-caching"]},
                         {"args": ["--enable-prefix-caching", "--max-model-len=8192", "--seed=7"]}) == [
        FieldChange("args (order)", ["--max-model-len=16384", "--enable-prefix-caching"],
                    ["--enable-prefix-caching", "--max-model-len=8192", "--seed=7"]),
        FieldChange("args[--max-model-len]", "--max-model-len=16384", "--max-model-len=8192"),
        FieldChange("args[--seed]", None, "--seed=7"),
    ]
    # "--port 8080" is two items, the value unnamed: such a list is compared whole
    assert field_changes({"args": ["--port", "8080"]}, {"args": ["--port", "9090", "--debug"]}) == [
        FieldChange("args", ["--port", "8080"], ["--port", "9090", "--debug"])]


def test_requirements_and_statements_by_their_keys_and_unnamed_structures_by_position():
    old = {"requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}],
           "Statement": [{"Sid": "Read", "Action": ["s3:GetObject"]}], "canary": [{"trafficPercent": 0}]}
    new = {"requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}],
           "Statement": [{"Sid": "Read", "Action": ["s3:GetObject", "s3:PutObject"]}],
           "canary": [{"trafficPercent": 10}]}
    assert field_changes(old, new) == [
        FieldChange("Statement[Sid=Read].Action", ["s3:GetObject"], ["s3:GetObject", "s3:PutObject"]),
        FieldChange("canary[0].trafficPercent", 0, 10),
        FieldChange("requirements[key=karpenter.sh/capacity-type].values", ["on-demand"], ["spot", "on-demand"]),
    ]


def test_an_added_structure_shown_leaf_by_leaf_names_its_items_too():
    assert leaves({"env": [{"name": "A", "value": "1"}], "canary": [{"trafficPercent": 0}]}, "spec") == [
        ("spec.canary[0].trafficPercent", 0), ("spec.env[name=A].name", "A"), ("spec.env[name=A].value", "1")]

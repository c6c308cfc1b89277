"""What rules read out of resources: node pools, device plugins and endpoints.

Everything here is derived from resource inputs alone (plus the accelerator catalog), so a
rule sees the same facts in a CrossGuard run, in servestack's offline plan and in the JSON
of a real ``pulumi preview``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components import catalog, inference_service
from components.catalog import AcceleratorKind
from components.rollout import RECORD_COMPONENT, RolloutRecord, kserve_canary_replicas, routed_percent, stable_min_during_canary

from .model import Resource, decode_json, dig, items, mapping, name_of

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CLUSTER = "aws:eks/cluster:Cluster"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
WORKLOADS = (
    "kubernetes:apps/v1:Deployment", DAEMON_SET, "kubernetes:apps/v1:StatefulSet",
    "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod",
)

DEPLOYMENT_MODE_ANNOTATION = inference_service.DEPLOYMENT_MODE_ANNOTATION
#: KServe's old and new names of its deployment modes (v0.15 renamed them).
MODE_NAMES = {"Knative": "Knative", "Serverless": "Knative", "Standard": "Standard", "RawDeployment": "Standard",
              "ModelMesh": "ModelMesh"}
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
#: Labels (then annotations) an InferenceService may carry its model version under, in order. servestack
#: itself no longer writes one there (it would restart the pods at every promotion; its rollout record
#: has the versions), but other tools and older servestack releases did.
MODEL_VERSION_KEYS = (inference_service.LABEL_MODEL_VERSION, "app.kubernetes.io/version", "serving.kserve.io/model-version")
#: What servestack releases before the rollout record wrote on the InferenceService (and KServe then
#: copied into every pod): read only to describe stacks deployed by them.
LEGACY_CANDIDATE_VERSION_KEYS = ("servestack.io/candidate-version",)
LEGACY_ROLLOUT_STAGES_ANNOTATION = "servestack.io/rollout-stages"
"""Percent per stage, comma-separated: ``10,50,100``."""
LEGACY_ROLLOUT_STAGE_LABEL = "servestack.io/rollout-stage"
"""``2-of-3`` while a rollout ran, else ``steady`` or ``rolled-back``."""
#: Ops of a step that brings a new object into being (a replacement starts it over too).
CREATE_OPS = ("create", "create-replacement", "replace")
#: Every extended resource that means "an accelerator" (the FPGA one a stack may rename).
ACCELERATOR_RESOURCES = {
    "nvidia.com/gpu": AcceleratorKind.NVIDIA,
    "aws.amazon.com/neuron": AcceleratorKind.NEURON,
    "aws.amazon.com/neuroncore": AcceleratorKind.NEURON,
    "aws.amazon.com/neurondevice": AcceleratorKind.NEURON,
    catalog.DEFAULT_FPGA_RESOURCE: AcceleratorKind.FPGA,
}


def of_type(resources: Iterable[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r["type"] in types]


# --------------------------------------------------------------------------- node pools


@dataclass(frozen=True)
class Pool:
    urn: str
    name: str
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    kind: AcceleratorKind
    resource_name: str | None
    accelerators_per_node: int
    """Fewest accelerators of any instance type of the pool (what every node is sure to have)."""
    taints: tuple[Mapping[str, Any], ...]
    labels: Mapping[str, str]
    capacity_type: str = "ON_DEMAND"
    """``ON_DEMAND``, ``SPOT`` or ``CAPACITY_BLOCK`` (EKS's capacityType)."""

    @property
    def has_accelerator(self) -> bool:
        return self.kind is not AcceleratorKind.NONE

    @property
    def capacity(self) -> int:
        return self.max_size * self.accelerators_per_node


def pool_of(resource: Resource) -> Pool:
    inputs = resource.get("inputs") or {}
    labels = {k: str(v) for k, v in mapping(inputs.get("labels")).items()}
    instance_types = tuple(t for t in items(inputs.get("instanceTypes")) if isinstance(t, str))
    specs = []
    for t in instance_types:
        try:
            specs.append(catalog.lookup(t))
        except catalog.CatalogError:
            pass
    if specs:
        kind = specs[0].kind
    else:  # instance types unknown or outside the catalog: trust the node label servestack sets
        label = labels.get(catalog.ACCELERATOR_LABEL)
        kind = AcceleratorKind(label) if label in {k.value for k in AcceleratorKind} else AcceleratorKind.NONE
    taints = tuple(t for t in items(inputs.get("taints")) if isinstance(t, Mapping))
    resource_name = catalog.ACCELERATORS[kind].resource_name
    if kind is AcceleratorKind.FPGA:  # the stack may rename the FPGA resource; its taint key says which
        keys = [t["key"] for t in taints if isinstance(t.get("key"), str)]
        resource_name = next((k for k in keys if ACCELERATOR_RESOURCES.get(k, AcceleratorKind.FPGA) is AcceleratorKind.FPGA),
                             resource_name)
    scaling = mapping(inputs.get("scalingConfig"))
    return Pool(
        urn=resource["urn"],
        name=labels.get(catalog.POOL_LABEL) or str(inputs.get("nodeGroupName") or name_of(resource["urn"])),
        instance_types=instance_types,
        min_size=_int(scaling.get("minSize")),
        max_size=_int(scaling.get("maxSize")),
        kind=kind,
        resource_name=resource_name,
        accelerators_per_node=min((s.accelerators for s in specs), default=0),
        taints=taints,
        labels=labels,
        capacity_type=str(inputs.get("capacityType") or "ON_DEMAND"),
    )


def pools(resources: Iterable[Resource]) -> list[Pool]:
    return sorted((pool_of(r) for r in of_type(resources, NODE_GROUP)), key=lambda p: p.name)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------- device plugins

_CHART_KINDS = {"nvidia-device-plugin": AcceleratorKind.NVIDIA, "neuron-helm-chart": AcceleratorKind.NEURON,
                "neuron-device-plugin": AcceleratorKind.NEURON}


@dataclass(frozen=True)
class DevicePlugin:
    urn: str
    kind: AcceleratorKind
    tolerations: tuple[Mapping[str, Any], ...]


def collect_tolerations(value: Any) -> list[Mapping[str, Any]]:
    """Every toleration under any ``tolerations`` key (chart values nest them differently)."""
    found: list[Mapping[str, Any]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "tolerations" and isinstance(item, list):
                found += [t for t in item if isinstance(t, Mapping)]
            else:
                found += collect_tolerations(item)
    elif isinstance(value, list):
        for item in value:
            found += collect_tolerations(item)
    return found


def device_plugin_of(resource: Resource) -> DevicePlugin | None:
    inputs = resource.get("inputs") or {}
    if resource["type"] in (HELM_RELEASE, HELM_CHART):
        chart = str(inputs.get("chart") or "").rstrip("/").rsplit("/", 1)[-1]
        kind = _CHART_KINDS.get(chart)
        if kind is None:
            return None
        return DevicePlugin(resource["urn"], kind, tuple(collect_tolerations(inputs.get("values") or {})))
    if resource["type"] == DAEMON_SET:
        pod = mapping(dig(inputs, "spec", "template", "spec"))
        selector = mapping(pod.get("nodeSelector"))
        kind_label = selector.get(catalog.ACCELERATOR_LABEL)
        name = str(dig(inputs, "metadata", "name") or name_of(resource["urn"]))
        if isinstance(kind_label, str) and kind_label in {k.value for k in AcceleratorKind} and kind_label != "none":
            kind = AcceleratorKind(kind_label)
        elif "fpga" in name and "plugin" in name:
            kind = AcceleratorKind.FPGA
        elif "nvidia-device-plugin" in name:
            kind = AcceleratorKind.NVIDIA
        elif "neuron-device-plugin" in name:
            kind = AcceleratorKind.NEURON
        else:
            return None
        return DevicePlugin(resource["urn"], kind, tuple(t for t in items(pod.get("tolerations")) if isinstance(t, Mapping)))
    return None


def device_plugins(resources: Iterable[Resource]) -> list[DevicePlugin]:
    found = (device_plugin_of(r) for r in of_type(resources, HELM_RELEASE, HELM_CHART, DAEMON_SET))
    return [p for p in found if p is not None]


# --------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Predictor:
    """One predictor of an InferenceService: the main one, or a Standard-mode canary entry."""

    where: str
    """Where it sits in the spec: ``spec.predictor`` or ``spec.canary[0].predictor``."""
    spec: Mapping[str, Any]

    @property
    def min_replicas(self) -> int | None:
        value = self.spec.get("minReplicas")
        return value if isinstance(value, int) else None

    @property
    def max_replicas(self) -> int | None:
        value = self.spec.get("maxReplicas")
        return value if isinstance(value, int) else None

    def containers(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(path, container) for the model and every custom container."""
        found = []
        if isinstance(self.spec.get("model"), Mapping):
            found.append((f"{self.where}.model", self.spec["model"]))
        for i, c in enumerate(items(self.spec.get("containers"))):
            if isinstance(c, Mapping):
                found.append((f"{self.where}.containers[{i}]", c))
        return found

    def accelerator_request(self) -> tuple[str, int] | None:
        """(resource name, count per replica) of the accelerator the predictor asks for."""
        for _, container in self.containers():
            for section in ("limits", "requests"):
                for resource, amount in mapping(dig(container, "resources", section)).items():
                    if _is_accelerator(resource):
                        return resource, _int(amount)
        return None

    def storage_uris(self) -> list[tuple[str, str]]:
        found = []
        for path, container in self.containers():
            uri = container.get("storageUri")
            if isinstance(uri, str):
                found.append((f"{path}.storageUri", uri))
        if isinstance(self.spec.get("storageUri"), str):
            found.append((f"{self.where}.storageUri", self.spec["storageUri"]))
        return found


def _is_accelerator(resource_name: str) -> bool:
    return resource_name in ACCELERATOR_RESOURCES or resource_name.endswith("/fpga")


@dataclass(frozen=True)
class Endpoint:
    urn: str
    name: str
    namespace: str
    mode: str
    """``Knative``, ``Standard`` or ``ModelMesh``."""
    spec: Mapping[str, Any]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    @property
    def predictor(self) -> Predictor:
        return Predictor("spec.predictor", mapping(self.spec.get("predictor")))

    @property
    def canaries(self) -> list[tuple[Predictor, Any]]:
        """Standard-mode ``spec.canary[]`` entries: (predictor, trafficPercent)."""
        found = []
        for i, entry in enumerate(items(self.spec.get("canary"))):
            if isinstance(entry, Mapping):
                found.append((Predictor(f"spec.canary[{i}].predictor", mapping(entry.get("predictor"))), entry.get("trafficPercent")))
        return found

    def predictors(self) -> list[Predictor]:
        return [self.predictor, *(p for p, _ in self.canaries)]

    @property
    def pool(self) -> str | None:
        value = mapping(self.predictor.spec.get("nodeSelector")).get(catalog.POOL_LABEL)
        return None if value is None else str(value)  # Kubernetes label values are strings

    @property
    def canary_traffic_percent(self) -> Any:
        return self.predictor.spec.get("canaryTrafficPercent")

    @property
    def routed_candidate_percent(self) -> int:
        """Percent of requests the platform really sends to candidates (Standard mode: none, KServe v0.20.0)."""
        if self.mode == "Knative":
            traffic = self.canary_traffic_percent
            return traffic if isinstance(traffic, int) and not isinstance(traffic, bool) else 0
        if self.mode != "Standard":
            return 0
        return sum(routed_percent(self.mode, t) for _, t in self.canaries if isinstance(t, int))

    @property
    def stable_min_during_canary(self) -> int | None:
        """Standard mode with ``spec.canary[]``: the stable minimum KServe really keeps (None otherwise)."""
        if self.mode != "Standard" or not self.canaries:
            return None
        stable = self.predictor.min_replicas
        canaries = sum(kserve_canary_replicas(stable, p.min_replicas, t if isinstance(t, int) else 0) for p, t in self.canaries)
        return stable_min_during_canary(1 if stable is None else stable, canaries)

    def label(self, keys: Iterable[str]) -> str | None:
        for key in keys:
            for source in (self.labels, self.annotations):
                if source.get(key):
                    return str(source[key])
        return None

    def components(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(path, spec) of the predictors, transformer and explainer."""
        found: list[tuple[str, Mapping[str, Any]]] = [(p.where, p.spec) for p in self.predictors()]
        for part in ("transformer", "explainer"):
            if isinstance(self.spec.get(part), Mapping):
                found.append((f"spec.{part}", self.spec[part]))
        return found

    def all_containers(self) -> list[tuple[str, Mapping[str, Any]]]:
        found = []
        for predictor in self.predictors():
            found += predictor.containers()
        for part in ("transformer", "explainer"):
            spec = self.spec.get(part)
            if isinstance(spec, Mapping):
                found += Predictor(f"spec.{part}", spec).containers()
                if isinstance(spec.get("art"), Mapping):
                    found.append((f"spec.{part}.art", spec["art"]))
        return found


def endpoint_of(resource: Resource, default_mode: str = "Knative") -> Endpoint:
    inputs = resource.get("inputs") or {}
    metadata = mapping(inputs.get("metadata"))
    annotations = {k: str(v) for k, v in mapping(metadata.get("annotations")).items()}
    labels = {k: str(v) for k, v in mapping(metadata.get("labels")).items()}
    mode = MODE_NAMES.get(annotations.get(DEPLOYMENT_MODE_ANNOTATION, ""), MODE_NAMES.get(default_mode, "Knative"))
    return Endpoint(
        urn=resource["urn"],
        name=str(metadata.get("name") or name_of(resource["urn"])),
        namespace=str(metadata.get("namespace") or "default"),
        mode=mode,
        spec=mapping(inputs.get("spec")),
        labels=labels,
        annotations=annotations,
    )


def default_mode(stack_config: Mapping[str, Any]) -> str:
    """The platform's default deployment mode from ``servestack:platform`` (KServe's own is Knative)."""
    platform = decode_json(stack_config.get("servestack:platform")) or {}
    return str(dig(platform, "kserve", "deploymentMode") or "Knative")


def endpoints(resources: Iterable[Resource], stack_config: Mapping[str, Any] | None = None) -> list[Endpoint]:
    mode = default_mode(stack_config or {})
    return sorted((endpoint_of(r, mode) for r in of_type(resources, INFERENCE_SERVICE)), key=lambda e: (e.namespace, e.name))


# --------------------------------------------------------------------------- rollout records


def rollout_records(resources: Iterable[Resource]) -> dict[tuple[str, str], RolloutRecord]:
    """(namespace, endpoint) -> the rollout record servestack's ModelEndpoint keeps in a ConfigMap."""
    found = {}
    for resource in of_type(resources, CONFIG_MAP):
        inputs = resource.get("inputs") or {}
        metadata = mapping(inputs.get("metadata"))
        labels = mapping(metadata.get("labels"))
        endpoint = labels.get(inference_service.LABEL_ENDPOINT)
        if labels.get(inference_service.LABEL_COMPONENT) != RECORD_COMPONENT or not isinstance(endpoint, str):
            continue
        record = RolloutRecord.from_data(endpoint, inputs.get("data"))
        if record is not None:
            found[str(metadata.get("namespace") or "default"), endpoint] = record
    return found


def created(resource: Resource) -> bool:
    """Whether the step that holds ``resource`` creates it (False when the caller does not say: CrossGuard)."""
    return resource.get("op") in CREATE_OPS

"""What a plan places on its node pools: every workload's pods at min and at max, and what each pod requests.

One reading for every consumer of capacity (:mod:`.capacity`): the cost, the plan summary, the capacity rules,
diff's cost delta, preflight's quotas and ``check --with-serving-plan``.

Counted, per pool (the pool its pods' ``servestack.io/pool`` nodeSelector names; a pod without one goes to the
first pool, by name, whose taints it tolerates, as the scheduler would):

- an InferenceService's predictor: ``minReplicas`` (KServe's default 1) to ``maxReplicas`` (default: its minimum,
  at least 1); while a Standard-mode ``spec.canary[]`` runs, the stable's minimum is what KServe keeps
  (:func:`components.core.canary_replicas.stable_min_during_canary`);
- its canaries: a Standard-mode ``spec.canary[]`` entry runs its own ``minReplicas`` (else KServe's share of the
  stable minimum) to its ``maxReplicas`` (else its minimum: it takes no traffic in KServe v0.20.0 and never scales);
  a Knative-mode traffic split keeps the previous revision too, at the predictor's own min and max;
- its transformer and explainer: their own replicas (KServe's default 1);
- an LLMInferenceService: ``replicas`` x (1 + workers) pods, leader and worker pods each with their own requests,
  and its prefill workload likewise (no autoscaling: min = max);
- Deployments and StatefulSets of the plan: ``spec.replicas`` (default 1);
- DaemonSets of the plan: one pod on every node of each pool whose taints they tolerate and whose labels their
  nodeSelector matches (:func:`daemon_overhead`).

A pod requests the sum of its containers' ``requests`` (else ``limits``, which Kubernetes then uses as requests)
of cpu, memory and the accelerator; init containers run before and are not counted. Pods that Helm charts and
EKS add-ons create are not in a plan and are not counted; neither are sidecars KServe injects.

Counts that are not whole numbers >= 0 (``maxReplicas: -5``) are refused, never read as a smaller demand: each is
a :class:`Problem` (the ``capacity-demand-readable`` rule reports it) and counts as KServe's default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components.core import catalog
from components.core.canary_replicas import kserve_canary_replicas, stable_min_during_canary

from .document import Resource, of_type
from .endpoints import Endpoint, Predictor, endpoints
from .karpenter import quantity
from .llm import LlmWorkload, llm_endpoints
from .pools import Pool
from .tokens import DAEMON_SET
from .values import dig, items, mapping, name_of

DEPLOYMENTS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
_K8S_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


@dataclass(frozen=True, order=True)
class PodShape:
    """What one pod requests: millicores, bytes of memory, accelerator devices (of ``resource``)."""

    accelerators: int = 0
    cpu_m: int = 0
    memory: int = 0
    resource: str = ""

    def plus(self, other: PodShape) -> PodShape:
        return PodShape(self.accelerators + other.accelerators, self.cpu_m + other.cpu_m, self.memory + other.memory,
                        self.resource or other.resource)


@dataclass(frozen=True)
class Workload:
    """Pods of one kind placed on one pool."""

    owner: str
    """``models/chat predictor``, ``models/chat canary v2-0-0``, ``LLM models/assistant``, ``Deployment kube-system/x``."""
    endpoint: str
    """The endpoint (``namespace/name``) or object the pods belong to."""
    pool: str | None
    """The pool they run on; None when no pool takes them."""
    pod: PodShape
    pods_min: int
    pods_max: int
    candidate: bool = False
    """A rollout's candidate (a canary, or the previous revision kept beside it): temporary."""
    routed: bool = True
    """False for a candidate that takes no traffic (it stays at its minimum under load)."""
    stack: str = ""
    """The serving stack the workload comes from, when it is another stack's (``check --with-serving-plan``)."""

    @property
    def accelerators_min(self) -> int:
        return self.pod.accelerators * self.pods_min

    @property
    def accelerators_max(self) -> int:
        return self.pod.accelerators * self.pods_max

    @property
    def name(self) -> str:
        """The endpoint's name for messages, with its stack when it is another stack's (``serve:chat``)."""
        short = self.endpoint.rsplit("/", 1)[-1]
        return f"{self.stack}:{short}" if self.stack else short


@dataclass(frozen=True)
class Problem:
    """A count the plan declares that cannot be a count (negative, fractional, not a number)."""

    urn: str
    path: str
    value: Any
    counted_as: int

    @property
    def message(self) -> str:
        return (f"{self.path} is {self.value!r}; required: a whole number >= 0 (a negative or non-numeric count "
                f"would hide demand); counted as {self.counted_as}")


class _Reader:
    """Collects problems while counts are read."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def count(self, urn: str, path: str, value: Any, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        self.problems.append(Problem(urn, path, value, default))
        return default

    def pod(self, urn: str, path: str, containers: Iterable[tuple[str, Mapping[str, Any]]],
            accelerator_resources: Iterable[str]) -> PodShape:
        accelerators = frozenset(accelerator_resources)
        shape = PodShape()
        for where, container in containers:
            if where.split(".")[-1].startswith("initContainers"):
                continue
            amounts = {**mapping(dig(container, "resources", "limits")), **mapping(dig(container, "resources", "requests"))}
            cpu = _amount(amounts.get("cpu"), 1000)
            memory = _amount(amounts.get("memory"), 1)
            resource, devices = "", 0
            for name, value in sorted(amounts.items()):
                if name in accelerators:
                    resource, devices = name, _amount(value, 1)
            for key, found in (("cpu", cpu), ("memory", memory), (resource, devices)):
                if key and found < 0:
                    self.problems.append(Problem(urn, f"{where}.resources.requests.{key}", amounts.get(key), 0))
            shape = shape.plus(PodShape(max(devices, 0), max(cpu, 0), max(memory, 0), resource))
        return shape


def _amount(value: Any, scale: int) -> int:
    """A Kubernetes quantity in units of 1/scale (cpu in millicores: scale 1000), rounded up; 0 when absent."""
    parsed = quantity(value)
    if parsed is None or not parsed.is_finite():
        return 0
    scaled = parsed * scale
    return int(scaled.to_integral_value(rounding="ROUND_CEILING"))


def _tolerated(tolerations: Iterable[Any], taint: Mapping[str, Any]) -> bool:
    effect = _K8S_EFFECT.get(str(taint.get("effect")), taint.get("effect"))
    if effect == "PreferNoSchedule":
        return True
    for toleration in (t for t in tolerations if isinstance(t, Mapping)):
        if toleration.get("effect") and toleration.get("effect") != effect:
            continue
        key, operator = toleration.get("key") or "", toleration.get("operator") or "Equal"
        if not key and operator == "Exists":
            return True
        if key == taint.get("key") and (operator == "Exists" or str(toleration.get("value") or "") == str(taint.get("value") or "")):
            return True
    return False


def runs_on(pod: Mapping[str, Any], pool: Pool) -> bool:
    """A pod spec may land on the pool's nodes: its nodeSelector matches their labels, it tolerates their taints."""
    selector = mapping(pod.get("nodeSelector"))
    if any(pool.labels.get(k) != str(v) for k, v in selector.items()):
        return False
    return all(_tolerated(items(pod.get("tolerations")), t) for t in pool.taints)


def pool_for(pod: Mapping[str, Any], pools: Mapping[str, Pool], resource: str = "") -> str | None:
    """The pool a pod spec runs on: the one its ``servestack.io/pool`` nodeSelector names, else the first that takes it
    (and offers ``resource``, the accelerator it requests: no other node can run it)."""
    named = mapping(pod.get("nodeSelector")).get(catalog.POOL_LABEL)
    if named is not None:
        return str(named)
    return next((name for name, pool in sorted(pools.items())
                 if runs_on(pod, pool) and (not resource or pool.resource_name == resource)), None)


# --------------------------------------------------------------------------- InferenceServices


def _predictor_max(reader: _Reader, endpoint: Endpoint, predictor: Predictor, minimum: int) -> int:
    return reader.count(endpoint.urn, f"{predictor.where}.maxReplicas", predictor.spec.get("maxReplicas"), max(minimum, 1))


def _endpoint_workloads(reader: _Reader, endpoint: Endpoint, pools: Mapping[str, Pool]) -> list[Workload]:
    ref = f"{endpoint.namespace}/{endpoint.name}"
    predictor = endpoint.predictor
    resources = endpoint.accelerator_resources
    stable_pod = reader.pod(endpoint.urn, predictor.where, predictor.containers(), resources)
    stable_pool = pool_for(predictor.spec, pools)
    declared_min = reader.count(endpoint.urn, f"{predictor.where}.minReplicas", predictor.spec.get("minReplicas"), 1)
    declared_max = _predictor_max(reader, endpoint, predictor, declared_min)
    stable_min = declared_min
    found = []
    canary_counts = []
    for i, (canary, traffic) in enumerate(endpoint.canaries):
        canary_min_declared = canary.spec.get("minReplicas")
        canary_min = kserve_canary_replicas(
            declared_min, reader.count(endpoint.urn, f"{canary.where}.minReplicas", canary_min_declared, 1)
            if canary_min_declared is not None else None, traffic if isinstance(traffic, int) and traffic >= 0 else 0)
        canary_max = max(reader.count(endpoint.urn, f"{canary.where}.maxReplicas", canary.spec.get("maxReplicas"),
                                      canary_min), canary_min)
        pod = reader.pod(endpoint.urn, canary.where, canary.containers(), resources)
        if not canary.containers():
            pod = stable_pod
        routed = endpoint.routed_candidate_percent > 0
        canary_counts.append(canary_min)
        name = canary.spec.get("name") or f"[{i}]"
        found.append(Workload(f"{ref} canary {name}", ref, pool_for(canary.spec, pools, pod.resource), pod,
                              canary_min, canary_max if routed else canary_min, candidate=True, routed=routed))
    if canary_counts and endpoint.mode == "Standard":
        stable_min = stable_min_during_canary(declared_min, sum(canary_counts)) if declared_min else 0
    traffic = endpoint.canary_traffic_percent
    if endpoint.mode == "Knative" and isinstance(traffic, int) and not isinstance(traffic, bool) and 0 < traffic < 100:
        # the previous revision keeps serving the rest, at the predictor's own scale
        found.append(Workload(f"{ref} previous revision", ref, stable_pool, stable_pod, declared_min, declared_max,
                              candidate=True))
    found.insert(0, Workload(f"{ref} predictor", ref, stable_pool, stable_pod, stable_min, max(declared_max, stable_min)))
    for part in ("transformer", "explainer"):
        spec = endpoint.spec.get(part)
        if not isinstance(spec, Mapping):
            continue
        component = Predictor(f"spec.{part}", spec, resources)
        containers = component.containers() + ([(f"spec.{part}.art", spec["art"])] if isinstance(spec.get("art"), Mapping) else [])
        low = reader.count(endpoint.urn, f"spec.{part}.minReplicas", spec.get("minReplicas"), 1)
        high = max(_predictor_max(reader, endpoint, component, low), low)
        found.append(Workload(f"{ref} {part}", ref, pool_for(spec, pools),
                              reader.pod(endpoint.urn, f"spec.{part}", containers, resources), low, high))
    return found


# --------------------------------------------------------------------------- LLMInferenceServices


def _llm_workloads(reader: _Reader, resources: list[Resource], pools: Mapping[str, Pool]) -> list[Workload]:
    found = []
    for endpoint in llm_endpoints(resources):
        ref = f"{endpoint.namespace}/{endpoint.name}"
        for workload in endpoint.workloads():
            replicas = reader.count(endpoint.urn, f"{workload.where}.replicas", workload.spec.get("replicas"), 1)
            workers = _workers(reader, endpoint.urn, workload)
            leader_spec = mapping(workload.spec.get("template"))
            leader_pool = pool_for(leader_spec, pools)
            label = "LLM" if workload.where == "spec" else "LLM prefill"
            pods = [(f"{label} {ref}", leader_spec, "template", replicas)]
            if workers:
                pods.append((f"{label} {ref} workers", mapping(workload.spec.get("worker")), "worker", replicas * workers))
            for owner, spec, part, count in pods:
                containers = [(f"{workload.where}.{part}.containers[{i}]", c)
                              for i, c in enumerate(items(spec.get("containers"))) if isinstance(c, Mapping)]
                pod = reader.pod(endpoint.urn, f"{workload.where}.{part}", containers, endpoint.accelerator_resources)
                found.append(Workload(owner, ref, pool_for(spec, pools) if part == "template" else
                                      (pool_for(spec, pools) if mapping(spec.get("nodeSelector")) else leader_pool),
                                      pod, count, count))
    return found


def _workers(reader: _Reader, urn: str, workload: LlmWorkload) -> int:
    """Worker pods per replica besides the leader: data / dataLocal - 1 when ``worker`` is set."""
    if not isinstance(workload.spec.get("worker"), Mapping):
        return 0
    parallelism = mapping(workload.spec.get("parallelism"))
    data = reader.count(urn, f"{workload.where}.parallelism.data", parallelism.get("data"), 1)
    local = reader.count(urn, f"{workload.where}.parallelism.dataLocal", parallelism.get("dataLocal"), 1)
    return max(data // max(local, 1) - 1, 0)


# --------------------------------------------------------------------------- Deployments, DaemonSets


def _pod_template(resource: Resource) -> Mapping[str, Any]:
    return mapping(dig(resource.get("inputs") or {}, "spec", "template", "spec"))


def _containers(pod: Mapping[str, Any], where: str) -> list[tuple[str, Mapping[str, Any]]]:
    return [(f"{where}.containers[{i}]", c) for i, c in enumerate(items(pod.get("containers"))) if isinstance(c, Mapping)]


def _deployment_workloads(reader: _Reader, resources: list[Resource], pools: Mapping[str, Pool],
                          accelerators: frozenset[str]) -> list[Workload]:
    found = []
    for resource in of_type(resources, *DEPLOYMENTS):
        pod = _pod_template(resource)
        replicas = reader.count(resource["urn"], "spec.replicas", dig(resource.get("inputs") or {}, "spec", "replicas"), 1)
        name = f"{dig(resource.get('inputs') or {}, 'metadata', 'namespace') or 'default'}/{name_of(resource['urn'])}"
        kind = resource["type"].rsplit(":", 1)[-1]
        found.append(Workload(f"{kind} {name}", name, pool_for(pod, pools),
                              reader.pod(resource["urn"], "spec.template.spec", _containers(pod, "spec.template.spec"),
                                         accelerators), replicas, replicas))
    return found


def daemon_overhead(resources: list[Resource], pool: Pool) -> tuple[PodShape, tuple[str, ...]]:
    """What the plan's DaemonSets request on every node of ``pool`` (those that run there), and their names."""
    total, names = PodShape(), []
    reader = _Reader()
    for resource in of_type(resources, DAEMON_SET):
        pod = _pod_template(resource)
        if runs_on(pod, pool):
            total = total.plus(reader.pod(resource["urn"], "spec.template.spec", _containers(pod, "spec.template.spec"), ()))
            names.append(name_of(resource["urn"]))
    return total, tuple(sorted(names))


def workloads(resources: list[Resource], stack_config: Mapping[str, Any] | None, pools: Mapping[str, Pool],
              accelerators: frozenset[str]) -> tuple[list[Workload], list[Problem]]:
    """Every workload of the plan with the pool it runs on, and the counts that could not be read."""
    reader = _Reader()
    found: list[Workload] = []
    for endpoint in endpoints(resources, stack_config):
        found += _endpoint_workloads(reader, endpoint, pools)
    found += _llm_workloads(reader, resources, pools)
    found += _deployment_workloads(reader, resources, pools, accelerators)
    return found, reader.problems


__all__ = ["PodShape", "Problem", "Workload", "daemon_overhead", "pool_for", "runs_on", "workloads"]

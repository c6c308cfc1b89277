"""Endpoint checks that need more than the endpoint: its pool, its platform, its KServe.

- :func:`model_runtime`: the built-in runtime the platform's KServe resolves for a format model
  (or why it would find none), the same way KServe does (:mod:`components.core.kserve_runtimes`).
- :func:`endpoint_problems`: each endpoint against the stack's node pools and platform, run by
  :meth:`StackConfig.problems` before anything is created.
- :func:`placement_findings`, :func:`mode_findings`, :func:`knative_finding`: what does not fit the
  pool or the deployment mode; also run by ModelEndpoint against a cluster another stack owns.
"""

from __future__ import annotations

from typing import Any

from ..core import catalog, coldstart, karpenter_limits
from ..core.kserve_runtimes import Runtime
from ..core.model_runtime import (  # noqa: F401  (re-exported for the config's readers)
    ModelRuntime, builtin_runtime_names, model_runtime, rendered_model_runtime,
)
from ..core.placement import PoolPlacement, placement_for
from ..core.rollout import Stages, predictor_name, stages_problem
from .analysis import family_problems
from .base import MISSING, Finding
from .endpoints import EndpointConfig, ModelConfig
from .node_pools import NodePoolConfig
from .platform import PlatformConfig, feature_finding, kubeflow_kserve_version, platform_kserve_version
from .values import cpu_millis, memory_bytes

#: Shortest start-up timeout allowed with scale-to-zero on an accelerator pool: a node has to be
#: launched, join, run its device plugin and pull a multi-GB image before the first request.
MIN_ACCELERATOR_STARTUP_MINUTES = 10


def endpoint_problems(endpoints: dict[str, EndpointConfig], pools: dict[str, NodePoolConfig] | None,
                      platform: PlatformConfig | None, runtimes: tuple[Runtime, ...] = ()) -> list[Finding]:
    """Checks of endpoints against the node pools and the platform (StackConfig.problems).

    ``pools``/``platform`` are None when another stack owns them (``cluster.existing``): ModelEndpoint
    then runs the same placement and mode checks against what that stack exports. ``runtimes``: the
    platform's own serving runtimes (``servestack:servingRuntimes``).
    """
    found: list[Finding] = []
    for name, endpoint in sorted(endpoints.items()):
        at = ("endpoints", name)
        mode = endpoint.deployment_mode or (platform.deployment_mode if platform is not None else None)
        if mode is not None:
            found += [Finding(at + f.loc, f.message, f.value) for f in mode_findings(endpoint, mode)]
        if platform is not None:
            no_knative = knative_finding(endpoint, mode, platform.knative_installed,
                                         f"servestack:platform.kserve.deploymentMode is {platform.kserve.deployment_mode}: "
                                         "the platform installs Envoy Gateway and the Gateway API, not Knative")
            found += [Finding(at + no_knative.loc, no_knative.message, no_knative.value)] if no_knative else []
            if platform.kubeflow.enabled and endpoint.deployment_mode == "Standard":
                found.append(Finding(at + ("deploymentMode",), f"Standard mode needs the standalone KServe: Kubeflow's KServe "
                                                               f"{kubeflow_kserve_version()} runs endpoints in Knative mode", "Standard"))
            elif mode == "Standard" and endpoint.rollout is not None:
                too_old = feature_finding(platform, "standardCanary", at + ("rollout",))
                found += [too_old] if too_old is not None else []
            _, no_runtime = model_runtime(endpoint.model, platform_kserve_version(platform), runtimes)
            if no_runtime is not None:
                found.append(Finding(at + ("model",) + no_runtime.loc, no_runtime.message, no_runtime.value))
            if endpoint.namespace not in platform.endpoint_namespaces:
                found.append(Finding(at + ("namespace",), "is not one of the platform's endpoint namespaces "
                                                          f"({', '.join(platform.endpoint_namespaces)}); add it to "
                                                          "servestack:platform.endpointNamespaces", endpoint.namespace))
        if pools is None:
            continue
        pool = pools.get(endpoint.pool)
        if pool is None:
            found.append(Finding(at + ("pool",), f"names no node pool; pools: {', '.join(sorted(pools))}", endpoint.pool))
            continue
        # The FPGA device plugin's resource name is the stack's (pool config), not the catalog's.
        placement = placement_for(endpoint.pool, pool.instance_types, pool.max_size, resource_name=pool.resource_name)
        found += [Finding(at + f.loc, f.message, f.value) for f in placement_findings(endpoint, placement)]
        if pool.uses_karpenter and endpoint.accelerators <= placement.accelerators_per_node:
            found += [Finding(at + f.loc, f.message, f.value) for f in karpenter_limit_findings(endpoint, placement)]
        if platform is not None:
            late = startup_timeout_finding(name, endpoint, placement, pool.uses_karpenter,
                                           platform_kserve_version(platform), runtimes)
            found += [Finding(at + late.loc, late.message, late.value)] if late else []
    return found


def startup_timeout_finding(name: str, endpoint: EndpointConfig, placement: PoolPlacement, karpenter: bool,
                            kserve_version: str, runtimes: tuple[Runtime, ...] = ()) -> Finding | None:
    """``startupTimeoutMinutes`` shorter than the endpoint's cold-start estimate (:mod:`..core.coldstart`):
    Knative would give up on a revision whose first pod is still on its way."""
    timeout = endpoint.startup_timeout_minutes
    if timeout is None:
        return None
    resolved, _ = model_runtime(endpoint.model, kserve_version, runtimes)
    estimate = coldstart.estimate(name, pool=placement.name, kind=placement.kind.value,
                                  instance_types=placement.instance_types, new_node=karpenter,
                                  runtime=resolved.runtime or "custom" if resolved else "custom",
                                  model_gib=endpoint.model.size_gib)
    if timeout * 60 >= estimate.total_seconds:
        return None
    return Finding(("startupTimeoutMinutes",), f"is shorter than the endpoint's cold-start estimate "
                                               f"{coldstart.duration(estimate.total_seconds)} ({estimate.text()}); "
                                               f"allow at least {-(-estimate.total_seconds // 60)} minutes", timeout)


def karpenter_limit_findings(endpoint: EndpointConfig, placement: PoolPlacement) -> list[Finding]:
    """What the endpoint needs at ``maxReplicas`` beyond its Karpenter pool's NodePool limits: Karpenter
    would launch no node past them, and the last replicas would stay Pending."""
    limits = karpenter_limits.limits(placement.instance_types, placement.max_size, placement.resource_name)
    replicas = endpoint.autoscaling.max_replicas
    requests = endpoint.resources.requests
    needs = {"cpu": cpu_millis(requests.cpu) * replicas / 1000 if requests.cpu else 0,
             "memory": memory_bytes(requests.memory) * replicas / 2**20 if requests.memory else 0}
    if placement.resource_name in limits:
        needs[placement.resource_name] = endpoint.accelerators * replicas
    units = {"cpu": " vCPUs", "memory": "Mi"}
    found = []
    for resource, needed in needs.items():
        if needed > limits[resource]:
            unit = units.get(resource, f" {resource}")
            found.append(Finding(("autoscaling", "maxReplicas"),
                                 f"needs {needed:g}{unit} at {replicas} replicas, more than the {limits[resource]}{unit} "
                                 f"Karpenter pool {placement.name} may launch (maxSize {placement.max_size} nodes of its "
                                 "largest type); raise the pool's maxSize or lower maxReplicas", replicas))
    return found


def knative_finding(endpoint: EndpointConfig, mode: str, knative_installed: bool, why: str) -> Finding | None:
    """A Knative-mode endpoint on a platform without Knative Serving: KServe would create a Knative
    Service whose CRD does not exist, and the InferenceService would never become ready. ``why``
    says what the platform installs instead."""
    if mode != "Knative" or knative_installed:
        return None
    source = "" if endpoint.deployment_mode is not None else " (the platform's default deployment mode)"
    return Finding(("deploymentMode",), f"Knative mode{source} needs Knative Serving, which this platform does not install "
                                        f"({why}); use deploymentMode Standard, or run the platform in Knative mode",
                   endpoint.deployment_mode or MISSING)


def placement_findings(endpoint: EndpointConfig, placement: PoolPlacement) -> list[Finding]:
    """What does not fit the endpoint's pool: accelerators, node size, start-up time from zero.

    Used by the config checks (pools declared in this stack) and by ModelEndpoint (pools of a
    cluster that another stack owns), so both give the same answer.
    """
    found: list[Finding] = []
    pool, kind, types = placement.name, placement.kind.value, ", ".join(placement.instance_types)
    if endpoint.accelerators and not placement.has_accelerator:
        found.append(Finding(("accelerators",), f"pool {pool} has no accelerators (CPU-only instance types {types}); "
                                                f"place the endpoint on an {catalog.kinds_text()} pool", endpoint.accelerators))
    elif placement.has_accelerator and endpoint.accelerators == 0:
        found.append(Finding(("accelerators",), f"pool {pool} is a {kind} pool; request at least 1 "
                                                f"({placement.resource_name}) or place the endpoint on a CPU pool", endpoint.accelerators))
    elif endpoint.accelerators > placement.accelerators_per_node:
        found.append(Finding(("accelerators",), f"exceeds the {placement.accelerators_per_node} {kind} accelerator(s) "
                                                f"({placement.resource_name}) of one node of pool {pool} ({types}); "
                                                "one replica must fit on one node", endpoint.accelerators))
    specs = [catalog.lookup(t) for t in placement.instance_types]
    node_millis = min(s.vcpus for s in specs) * 1000
    node_bytes = min(s.memory_mib for s in specs) * 2**20
    requests = endpoint.resources.requests
    if requests.cpu and cpu_millis(requests.cpu) > node_millis:
        found.append(Finding(("resources", "requests", "cpu"), f"exceeds the {node_millis // 1000} vCPUs of the smallest "
                                                              f"node of pool {pool}", requests.cpu))
    if requests.memory and memory_bytes(requests.memory) > node_bytes:
        found.append(Finding(("resources", "requests", "memory"), f"exceeds the {node_bytes // 2**20}Mi memory of the "
                                                                 f"smallest node of pool {pool}", requests.memory))
    if placement.has_accelerator and endpoint.autoscaling.min_replicas == 0:
        timeout = endpoint.startup_timeout_minutes
        if timeout is None or timeout < MIN_ACCELERATOR_STARTUP_MINUTES:
            found.append(Finding(("startupTimeoutMinutes",), f"must be set to at least {MIN_ACCELERATOR_STARTUP_MINUTES} "
                                                             f"when an endpoint on {kind} pool {pool} scales to zero "
                                                             "(autoscaling.minReplicas 0): a node must launch, join and pull "
                                                             "the image before the first request is answered", _or_missing(timeout)))
    return found


def _or_missing(value: Any) -> Any:
    return MISSING if value is None else value


def mode_findings(endpoint: EndpointConfig, mode: str) -> list[Finding]:
    """Settings that only one deployment mode honours; KServe would silently ignore them in the other."""
    found = _surface_mode_findings(endpoint, mode)
    if mode == "Knative":
        found += _rollout_mode_findings(endpoint, mode)
        if endpoint.rollout is not None and endpoint.rollout.candidate_replicas is not None:
            found.append(Finding(("rollout", "candidateReplicas"),
                                 "belongs to Standard mode (spec.canary[].predictor.minReplicas); in Knative mode the "
                                 "candidate revision scales with the predictor's autoscaling and canaryTrafficPercent "
                                 "has no replica count", endpoint.rollout.candidate_replicas))
        return found
    found += _rollout_mode_findings(endpoint, mode)
    if endpoint.autoscaling.min_replicas == 0:
        found.append(Finding(("autoscaling", "minReplicas"), "0 (scale to zero) belongs to Knative mode; Standard mode "
                                                                 "keeps at least one replica per Deployment", 0))
    if endpoint.autoscaling.scale_metric in ("concurrency", "rps"):
        found.append(Finding(("autoscaling", "scaleMetric"), f"{endpoint.autoscaling.scale_metric} belongs to Knative mode "
                                                                 "(Knative Pod Autoscaler); Standard mode scales on cpu or memory",
                             endpoint.autoscaling.scale_metric))
    if endpoint.container_concurrency is not None:
        found.append(Finding(("containerConcurrency",), "belongs to Knative mode (the revision's hard concurrency limit); "
                                                            "Standard mode ignores it", endpoint.container_concurrency))
    if endpoint.startup_timeout_minutes is not None:
        found.append(Finding(("startupTimeoutMinutes",), "belongs to Knative mode (serving.knative.dev/progress-deadline "
                                                             "of the revision); Standard mode ignores it",
                             endpoint.startup_timeout_minutes))
    return found


def _surface_mode_findings(endpoint: EndpointConfig, mode: str) -> list[Finding]:
    """Endpoint settings that one mode's KServe (or Knative) ignores or refuses."""
    found = []
    if mode == "Knative" and endpoint.deployment_strategy is not None:
        found.append(Finding(("deploymentStrategy",), "belongs to Standard mode (the predictor's Deployment); Knative "
                                                      "rolls revisions itself", endpoint.deployment_strategy.type))
    if mode == "Standard" and endpoint.tag_routing:
        found.append(Finding(("tagRouting",), "belongs to Knative mode (tags of Knative revisions); Standard mode has none",
                             True))
    if mode != "Knative":
        return found
    containers = [(("model",), endpoint.model), (("model", "container"), endpoint.model.container)]
    containers += [(("transformer", "container"), endpoint.transformer.container)] if endpoint.transformer else []
    containers += [(("explainer", "container"), endpoint.explainer.container)] if endpoint.explainer else []
    for loc, server in containers:
        if server is not None and server.port is not None and server.grpc_port is not None:
            found.append(Finding(loc + ("grpcPort",), "cannot be set together with port in Knative mode: a Knative "
                                                      "revision's container serves one port", server.grpc_port))
    transformer = endpoint.transformer
    if transformer is not None and transformer.collocated:
        model = endpoint.model.container or endpoint.model
        if model.port is not None or model.grpc_port is not None:
            where = ("model", "container") if endpoint.model.container is not None else ("model",)
            found.append(Finding(where + ("port" if model.port is not None else "grpcPort",),
                                 "cannot be declared beside a collocated transformer in Knative mode: Knative lets only "
                                 "the container that takes requests (the transformer) declare a port; pass the model's "
                                 "port in its args", model.port or model.grpc_port))
    return found


def _rollout_mode_findings(endpoint: EndpointConfig, mode: str) -> list[Finding]:
    """A rollout that the mode's KServe would refuse, or run differently from what it says."""
    rollout = endpoint.rollout
    if rollout is None:
        return []
    found = [] if rollout.analysis is None else family_problems(rollout.analysis, mode.lower(), ("rollout", "analysis"))
    problem = stages_problem(mode, Stages.of(*rollout.stages))
    if problem:
        found.append(Finding(("rollout", "stages"), problem, list(rollout.stages)))
    if mode != "Standard":
        return found
    stable, candidate = endpoint.model.version, rollout.candidate.version
    if candidate != stable and predictor_name(candidate) == predictor_name(stable):
        found.append(Finding(("rollout", "candidate", "version"),
                             f"must differ from the stable version {stable} in more than punctuation or case in "
                             f"Standard mode (both name the predictor {predictor_name(candidate)})", candidate))
    minimum = endpoint.autoscaling.min_replicas
    if rollout.candidate_replicas is not None and minimum >= 1 and rollout.candidate_replicas > minimum:
        found.append(Finding(("rollout", "candidateReplicas"),
                             f"must not exceed autoscaling.minReplicas ({minimum}): KServe's webhook refuses a canary "
                             "whose minReplicas exceeds the stable predictor's", rollout.candidate_replicas))
    if endpoint.model.container is not None and endpoint.model.storage_uri is None:
        found.append(Finding(("rollout",), "needs model.storageUri in Standard mode: KServe's webhook refuses a "
                                           "spec.canary[] unless the stable predictor has a model or a storage URI "
                                           "(a custom container without one has neither)"))
    return found

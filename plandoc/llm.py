"""LLM endpoints as a plan declares them: KServe ``LLMInferenceService`` (v1alpha2), their
pods and the accelerators they hold, and their model (their pods' demand and cost: :mod:`.demand`, :mod:`.capacity`).

An LLMInferenceService runs ``spec.replicas`` copies of its workload; a multi-node workload
(``spec.worker`` set) is a LeaderWorkerSet of ``parallelism.data / parallelism.dataLocal`` pods per
replica: the leader (``spec.template``) and that many minus one workers (``spec.worker``).
``spec.prefill`` is a second workload of the same shape (disaggregated prefill/decode). Each
pod holds the accelerators its ``main`` container requests. There is no autoscaling and no
canary (servestack installs neither), so the declared size is both the least and the most.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components.core import catalog
from components.render.inference_service import LABEL_ENDPOINT

from .document import Resource, of_type
from .endpoints import CATALOG_ACCELERATOR_RESOURCES, accelerator_request
from .models import ModelUri
from .pools import accelerator_resources
from .tokens import LLM_INFERENCE_SERVICE
from .values import dig, is_known, items, mapping, name_of


def _count(value: Any, default: int = 1) -> int:
    """A count the plan declares (``replicas``, a parallelism size); ``default`` when absent or unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


@dataclass(frozen=True)
class LlmWorkload:
    """The decode (``spec``) or prefill (``spec.prefill``) workload of an LLMInferenceService."""

    where: str
    """``spec`` or ``spec.prefill``."""
    spec: Mapping[str, Any]
    accelerator_resources: frozenset[str] = CATALOG_ACCELERATOR_RESOURCES

    @property
    def replicas(self) -> int:
        return _count(self.spec.get("replicas"))

    @property
    def workers(self) -> int:
        """Worker pods per replica besides the leader (0 when single node)."""
        if not isinstance(self.spec.get("worker"), Mapping):
            return 0
        parallelism = mapping(self.spec.get("parallelism"))
        data, local = _count(parallelism.get("data")), _count(parallelism.get("dataLocal"))
        return max(data // max(local, 1) - 1, 0)

    @property
    def pods(self) -> int:
        return self.replicas * (1 + self.workers)

    def pod_templates(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(path, pod spec) of the leader's (or only) pod and of the workers'."""
        return [(f"{self.where}.{part}", self.spec[part]) for part in ("template", "worker")
                if isinstance(self.spec.get(part), Mapping)]

    def containers(self) -> list[tuple[str, Mapping[str, Any]]]:
        found = []
        for path, pod in self.pod_templates():
            for key in ("initContainers", "containers"):
                for i, container in enumerate(items(pod.get(key))):
                    if isinstance(container, Mapping):
                        found.append((f"{path}.{key}[{i}]", container))
        return found

    def accelerator_request(self) -> tuple[str, int] | None:
        """(resource name, count per pod) of the accelerator the workload's pods ask for."""
        return accelerator_request(self.containers(), self.accelerator_resources)

    @property
    def accelerators(self) -> int:
        request = self.accelerator_request()
        return request[1] * self.pods if request else 0


@dataclass(frozen=True)
class LlmEndpoint:
    urn: str
    name: str
    namespace: str
    spec: Mapping[str, Any]
    labels: Mapping[str, str]
    accelerator_resources: frozenset[str] = CATALOG_ACCELERATOR_RESOURCES

    @property
    def endpoint(self) -> str:
        """servestack's endpoint name (its label), else the resource's name."""
        return self.labels.get(LABEL_ENDPOINT) or self.name

    @property
    def decode(self) -> LlmWorkload:
        return LlmWorkload("spec", self.spec, self.accelerator_resources)

    def workloads(self) -> list[LlmWorkload]:
        found = [self.decode]
        if isinstance(self.spec.get("prefill"), Mapping):
            found.append(LlmWorkload("spec.prefill", self.spec["prefill"], self.accelerator_resources))
        return found

    @property
    def replicas(self) -> int:
        return self.decode.replicas

    @property
    def workers(self) -> int:
        return self.decode.workers

    @property
    def model_uri(self) -> str | None:
        uri = dig(self.spec, "model", "uri")
        return uri if isinstance(uri, str) and is_known(uri) else None

    @property
    def pool(self) -> str | None:
        value = mapping(mapping(self.spec.get("template")).get("nodeSelector")).get(catalog.POOL_LABEL)
        return None if value is None else str(value)

    def pod_templates(self) -> list[tuple[str, Mapping[str, Any]]]:
        return [t for w in self.workloads() for t in w.pod_templates()]

    def containers(self) -> list[tuple[str, Mapping[str, Any]]]:
        return [c for w in self.workloads() for c in w.containers()]

    def accelerator_request(self) -> tuple[str, int] | None:
        """(resource name, count per pod) of the decode workload (else prefill's)."""
        return next((r for r in (w.accelerator_request() for w in self.workloads()) if r), None)

    @property
    def accelerators(self) -> int:
        """Accelerators the endpoint holds: per pod x pods, of every workload."""
        return sum(w.accelerators for w in self.workloads())


def llm_endpoint_of(resource: Resource, accelerators: frozenset[str] = CATALOG_ACCELERATOR_RESOURCES) -> LlmEndpoint:
    inputs = resource.get("inputs") or {}
    metadata = mapping(inputs.get("metadata"))
    return LlmEndpoint(
        urn=resource["urn"],
        name=str(metadata.get("name") or name_of(resource["urn"])),
        namespace=str(metadata.get("namespace") or "default"),
        spec=mapping(inputs.get("spec")),
        labels={k: str(v) for k, v in mapping(metadata.get("labels")).items()},
        accelerator_resources=accelerators,
    )


def llm_endpoints(resources: Iterable[Resource]) -> list[LlmEndpoint]:
    resources = list(resources)
    accelerators = accelerator_resources(resources)
    return sorted((llm_endpoint_of(r, accelerators) for r in of_type(resources, LLM_INFERENCE_SERVICE)),
                  key=lambda e: (e.namespace, e.name))


def llm_model_uris(resources: Iterable[Resource]) -> list[ModelUri]:
    """The model of every LLM endpoint (no canary: always the stable one)."""
    return [ModelUri(e.endpoint, e.model_uri, ("stable",), (f"resource {name_of(e.urn)} spec.model.uri",))
            for e in llm_endpoints(resources) if e.model_uri]

"""LlmEndpoint: one KServe LLMInferenceService with the identity that may read its model.

Per LLM endpoint: a Kubernetes service account that the workload pods (and workers, and prefill
pods) run as; for an ``s3://`` model an IAM role only that service account can assume (IRSA) with
read access to only the model's prefix, exactly as for InferenceService endpoints
(:mod:`components.endpoint`); and the LLMInferenceService, created once the platform's LLM
installs (the llmisvc controller, the presets, the Gateway, and LeaderWorkerSet when multi-node)
are ready. The rendering is :mod:`components.render.llm_inference_service`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .config.llm_endpoints import LlmEndpointConfig, placement_problems
from .endpoint import storage_prefixes
from .handles import ClusterHandle, PlatformHandle
from .render.inference_service import service_account_name
from .model_access import model_access
from .render.llm_inference_service import devices_per_replica, total_devices
from .render.llm_rollout import in_progress, render_llm_endpoint


@dataclass(frozen=True, kw_only=True)
class LlmEndpointArgs:
    config: LlmEndpointConfig
    cluster: ClusterHandle
    platform: PlatformHandle
    ready: list[pulumi.Resource] = field(default_factory=list)
    """The platform's LLM installs the LLMInferenceService waits for (none on a referenced platform)."""
    tags: dict[str, str] = field(default_factory=dict)
    name: str | None = None


class LlmEndpoint(pulumi.ComponentResource):
    """One LLM endpoint. Outputs: name, namespace, pool, service account, role ARN, devices."""

    llm_inference_service: k8s.apiextensions.CustomResource
    service_account: k8s.core.v1.ServiceAccount | None
    role: aws.iam.Role | None
    manifest: dict[str, Any]

    def __init__(self, name: str, args: LlmEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:endpoint:LlmEndpoint", name, None, opts)
        config, cluster, platform = args.config, args.cluster, args.platform
        endpoint = args.name or name
        misfits = placement_problems(config, cluster.placements)
        if misfits:
            # A referenced cluster's pools are known only now (this stack's were checked with its config).
            raise ValueError(f"LLM endpoint {endpoint} does not fit pool {config.pool}: " + "; ".join(
                f"{'.'.join(map(str, f.loc))} {f.message}" for f in misfits))
        placement = cluster.placements[config.pool]
        namespace = platform.namespaces.get(config.namespace)
        if namespace is None:
            raise ValueError(f"LLM endpoint {endpoint}: namespace {config.namespace!r} is not one the platform provides "
                             f"({', '.join(sorted(platform.namespaces)) or 'none'})")
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes_provider)
        # serviceAccountName: the user's account (credentials that are not IAM); servestack makes none, and no role.
        sa_name = config.service_account_name or service_account_name(endpoint)

        # The model, its LoRA adapters and, during a rollout, the candidate's model run as the same account.
        candidate = config.rollout.candidate.uri if in_progress(config) else None
        prefixes = [] if config.service_account_name is not None else storage_prefixes(*config.model.storage_uris(), candidate)
        access = model_access(self, name, endpoint=endpoint, described_as="LLM endpoint", namespace=config.namespace,
                              service_account=sa_name, create_service_account=config.service_account_name is None,
                              prefixes=prefixes,
                              kms_key_arn=config.model.kms_key_arn, cluster=cluster, tags=args.tags,
                              namespace_resource=namespace)
        self.role, read_access, self.service_account = access.role, access.read_access, access.service_account

        # The stable LLMInferenceService, and during a rollout the candidate in the endpoint's routing group.
        manifests = render_llm_endpoint(endpoint, config, placement)
        self.manifest = manifests[0]
        created = [k8s.apiextensions.CustomResource(
            f"{name}-llmisvc" if i == 0 else f"{name}-candidate-llmisvc",
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                depends_on=[*([self.service_account] if self.service_account else []), *read_access,
                            *(args.ready or platform.ready or cluster.ready),
                            *cluster.pool_ready.get(config.pool, [])])),
        ) for i, manifest in enumerate(manifests)]
        self.llm_inference_service = created[0]

        self.outputs = {
            "name": endpoint,
            "namespace": config.namespace,
            "kind": "LLMInferenceService",
            "pool": config.pool,
            "serviceAccount": sa_name,
            "roleArn": self.role.arn if self.role is not None else None,
            "modelVersion": config.model.version,
            "replicas": config.replicas,
            # A CPU pool's pods hold no accelerator.
            "devicesPerReplica": devices_per_replica(config) if placement.has_accelerator else 0,
            "devices": total_devices(config) if placement.has_accelerator else 0,
        }
        self.register_outputs(self.outputs)

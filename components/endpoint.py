"""ModelEndpoint: one KServe InferenceService with the identity that may read its model.

Per endpoint: a Kubernetes service account; for ``s3://`` models an IAM role that only that
service account can assume (IRSA) with read access to only that model's S3 prefix; and the
InferenceService itself, created through the cluster's Kubernetes provider once the platform
(CRDs, controller, runtimes) and the cluster's node pools and device plugins are ready.

The rollout's record (versions, stages, stage, phase, the traffic that really flows) is a
ConfigMap ``<endpoint>-rollout`` beside the InferenceService, never the InferenceService's own
metadata, which KServe copies into the pods (see :mod:`components.render.inference_service`). A rollout
move (stage change, promotion, rollback) changes only those two: the
service account and role do not depend on the rollout's stage, and the role grants the model's
prefix (the parent of the versioned storage URI, ``s3://bucket/models/iris/`` for
``s3://bucket/models/iris/1.4.0``), which the stable and candidate versions share. Models encrypted
with SSE-KMS (``model.kmsKeyArn``) add ``kms:Decrypt`` on exactly that key, through S3 only.

A transformer that loads artifacts from S3 (``transformer.storageUri``) runs as the same service
account, and the role reads that prefix too. One identity per endpoint rather than one per
component: the transformer sees every request and response the predictor does, so reading the
model's bytes adds little to what it can reach, while a second role and trust would double the
identities to review for each endpoint; the grants stay limited to the declared prefixes. A
transformer without S3 artifacts keeps the namespace's default service account (no AWS access).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .config.base import Finding
from .config.endpoint_fit import knative_finding, mode_findings, model_runtime, placement_findings
from .config.endpoints import EndpointConfig, ModelConfig
from .handles import ClusterHandle, PlatformHandle
from .core.iam import S3Prefix
from .model_access import model_access
from .render.smoke_job import smoke_job_of
from .render.inference_service import endpoint_rollout_record, render_inference_service, render_rollout_record, service_account_name

#: Annotation by which EKS's pod identity webhook gives a service account's pods an IAM role.


def storage_prefixes(*uris: str | None) -> list[S3Prefix]:
    """The S3 prefixes of these storage URIs (others and None skipped), deduplicated and sorted."""
    return sorted({S3Prefix.of_model(uri) for uri in uris if uri is not None and uri.startswith("s3://")})


def model_prefixes(*models: ModelConfig | None) -> list[S3Prefix]:
    """The S3 prefixes of these models (stable, candidate), deduplicated and sorted."""
    return storage_prefixes(*(m.storage_uri for m in models if m is not None))


def endpoint_prefixes(config: EndpointConfig) -> list[S3Prefix]:
    """Everything the endpoint's service account reads: the stable and candidate models' prefixes and
    the transformer's artifacts (``transformer.storageUri``), which run as the same account.

    None when the endpoint runs as a service account of its own (``serviceAccountName``: its credentials
    are not IAM); a model read with ``storageSecretName`` is read with that Secret, not the role."""
    if config.service_account_name is not None:
        return []
    transformer = config.transformer.storage_uri if config.transformer is not None else None
    models = [] if config.model.storage_secret_name is not None else [config.model, config.candidate_model()]
    return storage_prefixes(*(m.storage_uri for m in models if m is not None), transformer)


@dataclass(frozen=True, kw_only=True)
class ModelEndpointArgs:
    config: EndpointConfig
    """The endpoint's validated config (``servestack:endpoints.<name>``)."""
    cluster: ClusterHandle
    platform: PlatformHandle
    tags: dict[str, str] = field(default_factory=dict)
    """Tags of the AWS resources (the IAM role)."""
    name: str | None = None
    """The endpoint's name (the InferenceService's). Default: the component's name."""


class ModelEndpoint(pulumi.ComponentResource):
    """One model-serving endpoint. Outputs: inference service name, namespace, mode, role ARN."""

    inference_service: k8s.apiextensions.CustomResource
    rollout_record: k8s.core.v1.ConfigMap
    """Where the rollout stands (``<endpoint>-rollout``); nothing mounts it, so a move restarts no pod."""
    service_account: k8s.core.v1.ServiceAccount | None
    """None when the endpoint names its own (``serviceAccountName``)."""
    role: aws.iam.Role | None
    deployment_mode: str
    manifest: dict[str, Any]
    """The rendered InferenceService (what the custom resource is created from)."""

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("servestack:endpoint:ModelEndpoint", name, None, opts)
        config, cluster, platform = args.config, args.cluster, args.platform
        endpoint = args.name or name
        placement = cluster.placements.get(config.pool)
        if placement is None:
            raise ValueError(f"endpoint {endpoint}: the cluster has no node pool {config.pool!r} "
                             f"(pools: {', '.join(sorted(cluster.placements))})")
        namespace = platform.namespaces.get(config.namespace)
        if namespace is None:
            raise ValueError(f"endpoint {endpoint}: namespace {config.namespace!r} is not one the platform provides "
                             f"({', '.join(sorted(platform.namespaces)) or 'none'})")
        self.deployment_mode = config.deployment_mode or platform.deployment_mode
        misfits = placement_findings(config, placement) + mode_findings(config, self.deployment_mode)
        # The platform's default mode is Knative exactly when it installed Knative (its own or Kubeflow's).
        no_knative = knative_finding(config, self.deployment_mode, platform.deployment_mode == "Knative",
                                     f"it runs KServe in {platform.deployment_mode} mode without Knative")
        misfits += [no_knative] if no_knative else []
        # A referenced platform's KServe (and so its built-in runtimes) is known only now.
        _, no_runtime = model_runtime(config.model, platform.kserve_version, platform.runtimes)
        misfits += [Finding(("model",) + no_runtime.loc, no_runtime.message, no_runtime.value)] if no_runtime else []
        if misfits:
            # A referenced cluster's pools and platform mode are known only now (this stack's were checked with its config).
            raise ValueError(f"endpoint {endpoint} does not fit pool {config.pool} in {self.deployment_mode} mode: " + "; ".join(
                f"{'.'.join(map(str, f.loc))} {f.message}" for f in misfits))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes_provider)
        # serviceAccountName: the user's account (credentials that are not IAM); servestack makes none.
        sa_name = config.service_account_name or service_account_name(endpoint)

        prefixes = endpoint_prefixes(config)
        access = model_access(self, name, endpoint=endpoint, described_as="endpoint", namespace=config.namespace,
                              service_account=sa_name, create_service_account=config.service_account_name is None,
                              prefixes=prefixes, kms_key_arn=config.model.kms_key_arn, cluster=cluster, tags=args.tags,
                              namespace_resource=namespace)
        self.role, read_access, self.service_account = access.role, access.read_access, access.service_account

        self.manifest = render_inference_service(endpoint, config, placement, self.deployment_mode, sa_name,
                                                 kserve_version=platform.kserve_version, runtimes=platform.runtimes)
        self.inference_service = k8s.apiextensions.CustomResource(
            f"{name}-isvc",
            api_version=self.manifest["apiVersion"],
            kind=self.manifest["kind"],
            metadata=self.manifest["metadata"],
            spec=self.manifest["spec"],
            # The platform's last installs already wait for the rest of it and for the cluster, so
            # the endpoint names only those (each extra edge is walked again, per endpoint, by the
            # SDK's cycle check); a referenced platform has none, so then it waits for the cluster.
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                depends_on=[*([self.service_account] if self.service_account else [namespace]), *read_access,
                            *(platform.ready or cluster.ready), *cluster.pool_ready.get(config.pool, [])])),
        )

        record = render_rollout_record(endpoint, config, self.deployment_mode)
        self.rollout_record = k8s.core.v1.ConfigMap(
            f"{name}-rollout",
            metadata=k8s.meta.v1.ObjectMetaArgs(**record["metadata"]),
            data=record["data"],
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[namespace])),
        )

        # Standard mode with analysis.smoke: requests to the candidate's own Service, so its analysis has data.
        smoke = smoke_job_of(endpoint, config, self.deployment_mode)
        self.smoke_job = None if smoke is None else k8s.batch.v1.Job(
            f"{name}-smoke", metadata=smoke["metadata"], spec=smoke["spec"],
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                depends_on=[self.inference_service], replace_on_changes=["spec"], delete_before_replace=True)))

        rollout = endpoint_rollout_record(endpoint, config, self.deployment_mode)
        self.outputs = {
            "name": endpoint,
            "namespace": config.namespace,
            "deploymentMode": self.deployment_mode,
            "pool": config.pool,
            "serviceAccount": sa_name,
            "roleArn": self.role.arn if self.role is not None else None,
            "stableVersion": rollout.stable,
            "candidateVersion": rollout.candidate,
            # What the platform really routes (a Standard-mode candidate takes none on KServe v0.20.0).
            "traffic": str(rollout.traffic),
        }
        self.register_outputs(self.outputs)

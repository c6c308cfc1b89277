"""``servestack:endpoints``: model-serving endpoints (KServe InferenceServices), keyed by name.

An endpoint is a model (a KServe model format served by a runtime, or a custom predictor
container), the node pool it runs on, its resources and autoscaling, optional transformer,
explainer, payload logger and batcher, and a rollout of a candidate model through traffic
stages. Node selectors, tolerations and accelerator resource names are never written here:
they follow from the pool (see :mod:`components.core.placement`).

This module is the schema. Checks of single values (quantities, image pins, storage URIs, KMS
key ARNs) live in :mod:`.values`; checks that need other sections (the pool exists and has the
accelerator, the deployment mode the platform defaults to, the runtime the platform's KServe
resolves) live in :mod:`.endpoint_fit` and run in :meth:`StackConfig.problems`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from ..core.rollout import Rollout, Stages
from .base import ConfigModel, Finding
from .node_pools import PoolName
from .platform import DeploymentMode
from .pod_metadata import pod_metadata_problems
from .rollout import RolloutConfig
from .containers import ContainerConfig, QuantitiesConfig, ResourcesConfig, ServerSettings  # noqa: F401 (re-exported)
from .extras import (STORAGE_URI_ENV, AutoscalingConfig, BatcherConfig, DeploymentStrategyConfig,  # noqa: F401 (re-exported)
                     ExplainerConfig, LoggerConfig, Percent, TransformerConfig, s3_reads)
from .values import LABEL_VALUE, checked_kms_key_arn, checked_storage_uri

_ENDPOINT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,44}$")


def _endpoint_name(name: str) -> str:
    if not _ENDPOINT_NAME.match(name):
        raise ValueError("an endpoint name must start with a lowercase letter and hold only lowercase letters, digits "
                         "and '-', at most 45 characters (it names the InferenceService, and KServe derives longer names from it)")
    return name


EndpointName = Annotated[str, AfterValidator(_endpoint_name)]
"""A DNS-1035 label short enough that KServe's derived names (``<name>-predictor-...``) fit."""

#: A model format name (``sklearn``, ``vLLM``, or the format a runtime of your own declares).
FORMAT_NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
ProtocolVersion = Literal["v1", "v2", "grpc-v1", "grpc-v2"]

class StorageSpecConfig(ConfigModel):
    """KServe's ``storage`` spec: a model in a storage whose connection (endpoint, credentials) is the
    JSON under ``key`` of the namespace's ``storage-config`` Secret (KServe's ``storageSpecSecretName``)."""

    key: str = Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")
    """The key of the ``storage-config`` Secret that describes the storage. Required."""
    path: str = Field(pattern=r"^[^\s]+$")
    """The model's path inside that storage (``models/iris/1.4.0``). Required."""
    parameters: dict[str, str] = {}
    """Overrides of the storage's settings (``bucket``, ``region``...). Default: none."""


class ModelConfig(ServerSettings):
    """What the predictor serves: a model format with a storage URI, or a custom container.

    ``command``, ``args``, ``env``, ports and probes (:class:`.containers.ServerSettings`) apply to the
    runtime's container of a format model (KServe merges them into it); with ``container`` set them
    there instead."""

    version: str = Field(pattern=LABEL_VALUE)
    """The model version (a label value: ``1.4.0``, ``2026-11-01``). Required."""
    name: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
    """The model's name in labels. Default: the endpoint's name."""
    format: str | None = Field(default=None, pattern=FORMAT_NAME_PATTERN)
    """KServe model format: one that a built-in runtime of the platform's KServe declares (KServe
    v0.20.0: ``sklearn``, ``xgboost``, ``lightgbm``, ``tensorflow``, ``pytorch``, ``onnx``, ``triton``,
    ``tensorrt``, ``huggingface``, ``pmml``, ``paddle``, ``mlflow``, ``autogluon``, ``vLLM``; Kubeflow's
    v0.16.0 has no ``autogluon`` nor ``vLLM``), or any format with ``runtime`` naming a runtime of your
    own. KServe matches formats case-sensitively; a built-in format may be written in any case
    (``vllm``) and is rendered exactly as the runtime declares it (``vLLM``). Required unless
    ``container`` is set."""
    runtime: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    """The (Cluster)ServingRuntime to use: a built-in one (checked to serve the format and protocol)
    or one of your own (not checked). Default: the one KServe selects for the format."""
    protocol_version: ProtocolVersion | None = None
    """Inference protocol (``v1``, ``v2``, ``grpc-v1``, ``grpc-v2``). Default: KServe's for the format
    (``v2`` for ``triton`` and ``vLLM``, else ``v1``, then the chosen runtime's). When no built-in
    runtime serves the format with KServe's default (``onnx``, ``tensorrt``, ``mlflow``: only v2
    runtimes), servestack renders the first protocol in KServe's order (v1, v2, grpc-v1, grpc-v2)
    that a built-in runtime serves the format with (``v2`` for those), so that KServe finds it.
    A protocol no built-in runtime serves the format with is a config error naming the runtimes
    and the protocols they speak."""
    format_version: str | None = Field(default=None, pattern=LABEL_VALUE)
    """``modelFormat.version``: only runtimes that declare the format with exactly this version serve it
    (``1`` for KServe's ``huggingface`` and ``vLLM``). Default: none (any version)."""
    runtime_version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    """The runtime image's tag to use instead of the runtime's own (``2.6.2``). Default: the runtime's."""
    storage_uri: str | None = None
    """Where the model is: ``s3://``, ``oci://``, ``hf://``, ``pvc://``, ``gs://`` or ``https://`` (``hf://``
    pinned to a commit: ``hf://<org>/<model>:<40-hex commit hash>``; ``https://``: a file or archive KServe
    downloads). Required with ``format`` unless ``storage`` is set; optional with ``container`` (KServe
    then downloads it for the container)."""
    storage: StorageSpecConfig | None = None
    """KServe's storage spec instead of ``storageUri`` (no IAM role is made: the ``storage-config`` Secret
    holds the credentials). Default: none."""
    size_gib: float | None = Field(default=None, gt=0, le=10000, alias="sizeGiB")
    """The model's size in GiB (what KServe downloads to the node), for the cold-start estimate of the plan
    (README "Cold-start estimate"): the model download and load stages. Default: not set; the estimate then
    assumes 1 GiB and says so."""
    storage_secret_name: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
    """A Secret in the endpoint's namespace with the storage credentials (KServe's
    ``serving.kserve.io/storageSecretName`` annotation; for ``s3://``, ``gs://``, ``https://``, ``hdfs://``,
    ``webhdfs://`` and the ``storage`` spec). An ``s3://`` model then gets no IRSA role. Default: none."""
    container: ContainerConfig | None = None
    """A custom predictor container instead of a format and runtime. Default: none."""
    kms_key_arn: str | None = None
    """For an ``s3://`` model whose objects are encrypted with SSE-KMS: the full ARN of that KMS key
    (``arn:aws:kms:<region>:<account>:key/<key id>``). The endpoint's role may then use this key, and
    no other, for ``kms:Decrypt`` through S3 in the key's region. A rollout's candidate is read with
    the same key. Default: none (SSE-S3 or unencrypted objects)."""

    @field_validator("storage_uri")
    @classmethod
    def _storage_uri(cls, value: str | None) -> str | None:
        return checked_storage_uri(value)

    @field_validator("kms_key_arn")
    @classmethod
    def _kms_key_arn(cls, value: str | None) -> str | None:
        return checked_kms_key_arn(value)

    def problems(self) -> list[Finding]:
        found = super().problems()
        if self.storage is not None and self.storage_uri is not None:
            found.append(Finding(("storage",), "cannot be set together with storageUri (KServe reads one or the other)",
                                 self.storage.key))
        if self.storage_secret_name is not None and not (self.storage is not None or (self.storage_uri or "").startswith(
                SECRET_STORAGE_SCHEMES)):
            found.append(Finding(("storageSecretName",), "applies to s3://, gs://, https://, hdfs://, webhdfs:// storage URIs "
                                 "and the storage "
                                 f"spec (KServe's credentials); the storageUri is {self.storage_uri or 'not set'}",
                                 self.storage_secret_name))
        if self.storage_secret_name is not None and self.kms_key_arn is not None:
            found.append(Finding(("kmsKeyArn",), "is granted to the endpoint's IRSA role, which a model read with "
                                 "storageSecretName does not get", self.kms_key_arn))
        if self.kms_key_arn is not None and not (self.storage_uri or "").startswith("s3://"):
            found.append(Finding(("kmsKeyArn",), "applies to s3:// models only (objects encrypted with SSE-KMS); "
                                                 f"the storageUri is {self.storage_uri or 'not set'}", self.kms_key_arn))
        if self.container is not None:
            for field in ("format", "runtime", "protocol_version", "format_version", "runtime_version", "storage",
                          *SERVER_FIELDS):
                if getattr(self, field) is not None:
                    alias = type(self).model_fields[field].alias
                    if getattr(self, field) in ((), [], {}):
                        continue
                    where = "; set it under container" if field in SERVER_FIELDS else ""
                    found.append(Finding((alias,), "cannot be set together with container (a custom predictor "
                                                   f"brings its own server{where})", _shown(getattr(self, field))))
            return found
        if self.format is None:
            found.append(Finding(("format",), "is required unless container is set (a custom predictor)"))
            return found
        if self.storage_uri is None and self.storage is None:
            found.append(Finding(("storageUri",), f"is required for a {self.format} model (or storage: KServe's storage spec)"))
        # v2 (the Open Inference Protocol) is served over REST and gRPC (KServe v0.20.0's MLServer runtime: HTTP 8080,
        # gRPC 9000, protocolVersions [v2]); v1 is REST only.
        if self.grpc_port is not None and self.protocol_version == "v1":
            found.append(Finding(("grpcPort",), f"serves gRPC (h2c), but protocolVersion {self.protocol_version} is "
                                 "REST; use v2, grpc-v1 or grpc-v2", self.grpc_port))
        if self.port is not None and (self.protocol_version or "").startswith("grpc-"):
            found.append(Finding(("port",), f"is an HTTP port, but protocolVersion {self.protocol_version} is gRPC; "
                                 "set grpcPort instead", self.port))
        # Whether a runtime serves the format depends on the platform's KServe: see model_runtime().
        return found


#: Storage whose credentials KServe may read from a Secret (``serving.kserve.io/storageSecretName``).
SECRET_STORAGE_SCHEMES = ("s3://", "gs://", "https://", "hdfs://", "webhdfs://")
#: Storage KServe v0.20.0's storage initializer reads only with a Secret's credentials (kserve_storage.py: the
#: namenode and Kerberos or TLS files of a Secret with HDFS_NAMENODE, mounted at /var/secrets/kserve-hdfscreds).
HDFS_SCHEMES = ("hdfs://", "webhdfs://")
#: The ServerSettings fields that a custom predictor sets under ``container`` instead.
SERVER_FIELDS = tuple(ServerSettings.model_fields)


def _shown(value: Any) -> Any:
    return value.model_dump(by_alias=True, exclude_defaults=True) if hasattr(value, "model_dump") else value


class EndpointConfig(ConfigModel):
    """One model-serving endpoint: a KServe InferenceService."""

    pool: PoolName
    """The node pool the predictor runs on (a key of ``servestack:nodePools``). Required."""
    model: ModelConfig
    """The stable model. Required."""
    namespace: str = Field(default="models", pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    """Kubernetes namespace (one the platform provides). Default ``models``."""
    deployment_mode: DeploymentMode | None = None
    """``Knative`` or ``Standard``. Default: the platform's (``servestack:platform.kserve.deploymentMode``)."""
    resources: ResourcesConfig = ResourcesConfig()
    """CPU and memory of the predictor. Default: see :class:`ResourcesConfig`."""
    accelerators: int = Field(default=0, ge=0, le=64)
    """Accelerators per replica (GPUs, Neuron devices, FPGAs: the pool's kind). Default 0."""
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    """Default: 1 to 3 replicas, KServe's metric."""
    startup_timeout_minutes: int | None = Field(default=None, ge=1, le=120)
    """Knative mode: how long a new replica may take to become ready (the revision's progress
    deadline). Required, at least 10, with scale-to-zero on an accelerator pool. Default: Knative's."""
    container_concurrency: int | None = Field(default=None, ge=1, le=1000)
    """Knative mode: hard limit of concurrent requests per replica. Default: unlimited."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=3600)
    """Request timeout of the predictor. Default: KServe's."""
    transformer: TransformerConfig | None = None
    """Default: none."""
    explainer: ExplainerConfig | None = None
    """Default: none."""
    logger: LoggerConfig | None = None
    """Payload logging. Default: none."""
    batcher: BatcherConfig | None = None
    """Request batching. Default: none."""
    rollout: RolloutConfig | None = None
    """A rollout in progress (or rolled back). Default: none."""
    allow_in_place_update: bool = False
    """Accept a change of this endpoint's model, image or runtime outside a rollout (an instant, full cutover)
    in staging and prod: ``servestack diff`` then does not flag it as ``in-place-update``. Default false."""
    prometheus_scraping: bool = False
    """Prometheus annotations on the pods for a scraper that follows ``prometheus.io/*`` (servestack's own metrics
    platform scrapes every endpoint without them). Knative mode: KServe's scraping with metric aggregation, so
    ``prometheus.io/port`` is the queue-proxy's aggregation port (9088: its request metrics and the model server's).
    Standard mode: KServe would point the annotation at 9091, where nothing listens without a queue-proxy, so its
    scraping annotation is set to ``"false"``. Default false."""
    visibility: Literal["external", "cluster-local"] = "external"
    """``cluster-local``: no ingress, reachable inside the cluster only (the label
    ``networking.kserve.io/visibility: cluster-local`` in Standard mode, Knative's
    ``networking.knative.dev/visibility: cluster-local`` in Knative mode). Default ``external``."""
    tag_routing: bool = False
    """Knative mode: ``serving.kserve.io/enable-tag-routing: "true"``, so that the latest and the previous
    revision answer on their own ``latest-``/``prev-`` URLs during a rollout. Default false."""
    deployment_strategy: DeploymentStrategyConfig | None = None
    """Standard mode: how the predictor's Deployment replaces pods. Default: Kubernetes' (RollingUpdate 25%/25%)."""
    pod_labels: dict[str, str] = {}
    """Labels of the predictor's pods (KServe's ``predictor.labels``); servestack's own keys are refused. Default: none."""
    pod_annotations: dict[str, str] = {}
    """Annotations of the predictor's pods (``sidecar.istio.io/inject: "false"``...); servestack's own keys are
    refused. Default: none."""
    service_account_name: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
    """An existing service account in the namespace to run the model as, for credentials that are not IAM
    (a Secret KServe reads for a Hugging Face token or S3 keys attached to it). servestack then creates
    no service account and no IRSA role for the endpoint (so no ``kmsKeyArn``). Default: servestack's own
    ``<endpoint>-model`` with an IRSA role for ``s3://`` models."""

    # Unknown keys are kept (not rejected while parsing) so that problems() can answer someone who
    # writes KServe's own fields with where they belong, naming the field and its value.
    model_config = ConfigDict(**ConfigModel.model_config | {"extra": "allow"})

    def candidate_model(self) -> ModelConfig | None:
        """The stable model with the rollout's candidate fields replaced (None without a rollout)."""
        if self.rollout is None:
            return None
        update: dict[str, Any] = {"version": self.rollout.candidate.version}
        if self.rollout.candidate.storage_uri is not None:
            update["storage_uri"] = self.rollout.candidate.storage_uri
        if self.rollout.candidate.image is not None and self.model.container is not None:
            update["container"] = self.model.container.model_copy(update={"image": self.rollout.candidate.image})
        return self.model.model_copy(update=update)

    def rollout_state(self) -> Rollout:
        """The rollout as the pure state machine sees it."""
        if self.rollout is None:
            return Rollout.steady(self.model.version)
        stages = Stages.of(*self.rollout.stages)
        make = Rollout.rolled_back if self.rollout.rolled_back else Rollout.in_progress
        return make(self.model.version, self.rollout.candidate.version, stages, self.rollout.stage)

    def problems(self) -> list[Finding]:
        found = pod_metadata_problems(self)
        if ((self.model.storage_uri or "").startswith(HDFS_SCHEMES) and self.model.storage_secret_name is None
                and self.service_account_name is None):
            found.append(Finding(("model", "storageUri"), "is HDFS, which KServe's storage initializer reads only with a "
                                 "Secret's credentials: set storageSecretName to a Secret with HDFS_NAMENODE (and "
                                 "KERBEROS_PRINCIPAL/KERBEROS_KEYTAB or TLS_CERT/TLS_KEY/TLS_CA), or serviceAccountName to "
                                 "an account that carries it", self.model.storage_uri))
        allowed = ", ".join(f.alias or n for n, f in type(self).model_fields.items())
        for key, value in sorted((self.model_extra or {}).items()):
            message = KSERVE_SPELLINGS.get(key, f"is not a known setting; allowed here: {allowed}")
            found.append(Finding((key,), message, value))
        if self.service_account_name is not None and self.model.kms_key_arn is not None:
            found.append(Finding(("model", "kmsKeyArn"), "is granted to servestack's IRSA role, which an endpoint with "
                                 "serviceAccountName does not get", self.model.kms_key_arn))
        transformer = self.transformer
        if transformer is not None and transformer.collocated:
            model = self.model.container or self.model
            taken = {p for p in (model.port, model.grpc_port) if p is not None}
            if set(transformer.container.exposed_ports()) & taken:
                found.append(Finding(("transformer", "container", "port"), "must differ from the model's ports "
                                     f"({', '.join(map(str, sorted(taken)))}): both containers share the pod's network",
                                     transformer.container.port or 8080))
        if self.rollout is not None and self.model.storage is not None:
            found.append(Finding(("rollout",), "needs model.storageUri (a candidate replaces the storage URI); this model "
                                               "uses the storage spec"))
        if self.rollout is not None:
            found += [Finding(("rollout", *f.loc), f.message, f.value) for f in self.rollout.candidate_problems(
                self.model.version, self.model.storage_uri, custom_container=self.model.container is not None)]
        return found


KSERVE_SPELLINGS = {
    "canaryTrafficPercent": "is KServe's Knative-mode canary field; servestack writes it from rollout.stages "
                            "(Standard mode uses spec.canary[].trafficPercent instead). Declare rollout.stages",
    "canary": "is KServe's Standard-mode canary list (spec.canary[]); servestack writes it from rollout "
              "(Knative mode uses predictor.canaryTrafficPercent instead). Declare rollout",
    "nodeSelector": "is derived from the pool; set pool instead",
    "tolerations": "are derived from the pool's taints; set pool instead",
    "nodeName": "is decided by the scheduler within the pool; set pool instead",
    "affinity": "is derived from the pool; set pool instead",
}

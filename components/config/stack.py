"""The whole ``servestack:*`` configuration of one stack, parsed and checked in one go.

Each section is validated on its own so that a mistake in one does not hide the mistakes in
another; checks that span sections (an endpoint's pool must exist) run once the sections
they read are valid. Everything found is raised together as one :class:`ConfigError`, before
the program creates any resource.
"""

from __future__ import annotations

import json
import re
import typing
from functools import cache
from typing import Any, Literal

import botocore.loaders
import botocore.regions
import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import TypeAdapter, ValidationError

from ..core import catalog, versions
from ..core.placement import placement_for
from ..core.catalog import AcceleratorKind
from ..core.stack_keys import REGION_KEY, SECRET_MASK, decode_value  # noqa: F401  (re-exported)
from .base import MISSING, NAMESPACE, ConfigError, ConfigModel, ConfigProblem, Finding, check_tree, join_path, problems_from_validation_error
from .cluster import ClusterConfig
from .endpoint_fit import builtin_runtime_names, endpoint_problems, model_runtime
from .endpoints import EndpointConfig, EndpointName
from ..core.llm_units import kserve_presets
from .llm_endpoints import LlmEndpointConfig, llm_problems
from .llm_presets import LlmPresetConfig, preset_problems
from .network import NetworkConfig
from .node_pools import NodePoolConfig, PoolName, deprecation_notes
from .platform import PlatformConfig, platform_kserve_version
from .runtimes import RuntimeName, ServingRuntimeConfig, custom_runtimes
from .secrets import mask, scan

Tier = Literal["dev", "staging", "prod"]
#: Config keys that may hold ``secure:`` values: the program passes them on only as secret outputs.
SECRET_CAPABLE: frozenset[str] = frozenset()


class StackConfig(ConfigModel):
    """Everything one stack declares. Each field is one ``servestack:<field>`` config key."""

    region: str
    """``aws:region``: the AWS region of the stack. Required."""
    tier: Tier = "dev"
    """``dev``, ``staging`` or ``prod``. Prod turns on the production defaults (private API
    endpoint, a NAT gateway per zone) and the stricter policies. Default ``dev``."""
    tags: dict[str, str] = {}
    """Tags on every AWS resource, besides ``servestack:stack``. Default: none."""
    network: NetworkConfig = NetworkConfig()
    """The VPC. Default: a new VPC over two availability zones."""
    cluster: ClusterConfig = ClusterConfig()
    """The EKS control plane. Default: see :class:`ClusterConfig`."""
    node_pools: dict[PoolName, NodePoolConfig] = {}
    """Node pools keyed by name. At least one managed CPU pool with ``minSize`` >= 1 is required, unless
    the cluster comes from another stack (``cluster.existing``), which then owns the pools."""
    platform: PlatformConfig = PlatformConfig()
    """The serving platform. Default: KServe in Knative mode."""
    endpoints: dict[EndpointName, EndpointConfig] = {}
    """Model-serving endpoints (KServe InferenceServices) keyed by name. Default: none."""
    llm_endpoints: dict[EndpointName, LlmEndpointConfig] = {}
    """LLM endpoints (KServe LLMInferenceServices) keyed by name; see :mod:`.llm_endpoints`. Default: none."""
    llm_presets: dict[str, LlmPresetConfig] = {}
    """LLMInferenceServiceConfig presets of your own that LLM endpoints name in ``presets``; see
    :mod:`.llm_presets`. Default: none."""
    serving_runtimes: dict[RuntimeName, ServingRuntimeConfig] = {}
    """Serving runtimes of your own (KServe ClusterServingRuntimes) keyed by name, installed once by
    the platform after KServe's built-in ones; endpoints name them (``model.runtime``) or KServe
    selects them (``autoSelect``). Default: none. See :mod:`.runtimes`."""

    @property
    def is_production(self) -> bool:
        return self.tier == "prod"

    def problems(self) -> list[Finding]:
        # Cross-section checks: each reads sections that parsed cleanly.
        return (self._cluster_problems() + self._platform_problems() + self._runtime_problems() + self._endpoint_problems()
                + self._llm_problems())

    def _llm_problems(self) -> list[Finding]:
        if not self.llm_endpoints:
            return preset_problems(self.llm_presets, {}, kserve_presets())
        found = [Finding(("llmEndpoints", name), "has the same name as an InferenceService endpoint (both name the "
                                                 "service account and the model's IAM role)", name)
                 for name in sorted(set(self.llm_endpoints) & set(self.endpoints))]
        if self.cluster.existing is not None:
            return found + [Finding(("llmEndpoints",), "cannot be declared on a stack whose cluster another stack owns "
                                                       f"({self.cluster.existing}) yet: declare them in that platform stack, "
                                                       "which installs the LLMInferenceService controller and its Gateway",
                                    sorted(self.llm_endpoints))]
        if self.platform.kubeflow.enabled:
            found.append(Finding(("llmEndpoints",), f"need the standalone KServe {versions.KSERVE_API.version}: Kubeflow's "
                                                    f"KServe {versions.KUBEFLOW_KSERVE.version} has no LLMInferenceService "
                                                    "v1alpha2", sorted(self.llm_endpoints)))
        for name, endpoint in sorted(self.llm_endpoints.items()):
            if endpoint.namespace not in self.platform.endpoint_namespaces:
                found.append(Finding(("llmEndpoints", name, "namespace"), "is not one of the platform's endpoint namespaces "
                                     f"({', '.join(self.platform.endpoint_namespaces)}); add it to "
                                     "servestack:platform.endpointNamespaces", endpoint.namespace))
        placements = {name: placement_for(name, pool.instance_types, pool.max_size, resource_name=pool.resource_name)
                      for name, pool in self.node_pools.items()}
        found += preset_problems(self.llm_presets, self.llm_endpoints, kserve_presets())
        return found + llm_problems(self.llm_endpoints, placements)

    def _runtime_problems(self) -> list[Finding]:
        builtin = builtin_runtime_names()
        found = [Finding(("servingRuntimes", name), "is the name of a built-in runtime of KServe; a ClusterServingRuntime of "
                                                    "that name would replace KServe's own: choose another name", name)
                 for name in sorted(self.serving_runtimes) if name in builtin]
        if found or self.cluster.existing is not None:
            return found
        # Knative serves one port per container: a runtime whose container declares two cannot serve a
        # Knative-mode endpoint (KServe makes the runtime's container the Knative Service's).
        custom = custom_runtimes(self.serving_runtimes, platform_kserve_version(self.platform))
        for endpoint_name, endpoint in sorted(self.endpoints.items()):
            resolved, _ = model_runtime(endpoint.model, platform_kserve_version(self.platform), custom)
            runtime = self.serving_runtimes.get(resolved.runtime) if resolved is not None and resolved.runtime else None
            if (runtime is not None and self.deployment_mode_of(endpoint_name) == "Knative"
                    and runtime.container.port is not None and runtime.container.grpc_port is not None):
                found.append(Finding(("servingRuntimes", resolved.runtime, "container", "grpcPort"),
                                     f"cannot be declared beside port: Knative-mode endpoint {endpoint_name} uses this runtime, "
                                     "and Knative serves one port per container", runtime.container.grpc_port))
        return found

    def _platform_problems(self) -> list[Finding]:
        kubeflow = self.platform.kubeflow
        if not (self.is_production and kubeflow.enabled and is_upstream_kubeflow(kubeflow.manifests_repository)):
            return []
        # Upstream's Dex (common/dex/base) logs in user@example.com with the bcrypt hash of the published
        # password 12341234 (Secret dex-passwords); nothing in the kustomize targets replaces it.
        return [Finding(
            ("platform", "kubeflow", "manifestsRepository"),
            "is the upstream Kubeflow manifests repository, whose Dex ships a static user user@example.com with "
            "the published password 12341234; prod must not install it: set servestack:platform.kubeflow."
            f"manifestsRepository to your fork (with the tag {versions.KUBEFLOW_MANIFESTS.version}) that replaces "
            "the Dex user or connects Dex to your identity provider",
            kubeflow.manifests_repository,
        )]

    def _endpoint_problems(self) -> list[Finding]:
        # With cluster.existing the pools and the platform are the other stack's: ModelEndpoint
        # checks the endpoints against what that stack exports when it places them.
        if self.cluster.existing is not None:
            return endpoint_problems(self.endpoints, None, None)
        return endpoint_problems(self.endpoints, self.node_pools, self.platform,
                                 custom_runtimes(self.serving_runtimes, platform_kserve_version(self.platform)))

    def deployment_mode_of(self, endpoint: str) -> str:
        """The KServe deployment mode of one endpoint: its own, else the platform's."""
        return self.endpoints[endpoint].deployment_mode or self.platform.deployment_mode

    def _cluster_problems(self) -> list[Finding]:
        found = []
        if self.cluster.existing is not None:
            # The referenced platform stack owns the network, the pools and the platform: declaring them here
            # would create nothing and mislead the reader.
            for field_name in ("network", "node_pools", "platform", "serving_runtimes"):
                if field_name in self.model_fields_set:
                    alias = type(self).model_fields[field_name].alias
                    found.append(Finding(
                        (alias,),
                        f"cannot be set together with cluster.existing (the stack {self.cluster.existing} owns the cluster's {alias})",
                    ))
            return found
        if self.is_production and self.cluster.public_access_cidrs:
            found.append(Finding(
                ("cluster", "publicAccessCidrs"),
                "must be empty in prod: the prod API endpoint is private only (reach it from the VPC, a VPN or a peered network)",
                self.cluster.public_access_cidrs,
            ))
        declaring = {name: pool for name, pool in self.node_pools.items() if pool.device_plugin is not None}
        for kind in sorted({pool.kind for pool in declaring.values()}):
            of_kind = {name: pool for name, pool in declaring.items() if pool.kind == kind}
            if len({(pool.device_plugin.image, pool.resource_name) for pool in of_kind.values()}) > 1:
                title = catalog.ACCELERATORS[kind].title
                found.append(Finding(
                    ("nodePools",),
                    f"declares different devicePlugin settings; {title} pools must share one (one DaemonSet serves every "
                    f"{title} node)",
                    sorted(of_kind),
                ))
        system_pools = [name for name, pool in sorted(self.node_pools.items())
                        if pool.kind == AcceleratorKind.NONE and pool.min_size >= 1 and not pool.uses_karpenter]
        if not system_pools:
            found.append(Finding(
                ("nodePools",),
                "needs a managed CPU pool (provisioner managed, instance types without accelerators) with minSize >= 1: "
                "cluster add-ons such as CoreDNS tolerate no accelerator taint, and the Karpenter controller must not run "
                "on nodes it manages",
                sorted(self.node_pools),
            ))
        return found


def is_upstream_kubeflow(repository: str) -> bool:
    """Whether ``repository`` is upstream's kubeflow/manifests (however the URL is spelled)."""
    def canonical(url: str) -> str:
        return url.lower().rstrip("/").removesuffix(".git")

    return canonical(repository) == canonical(versions.KUBEFLOW_MANIFESTS.source)


def section_keys() -> dict[str, str]:
    """Config key (``servestack:nodePools``) -> field name (``node_pools``), region excluded."""
    return {f"{NAMESPACE}:{f.alias}": name for name, f in StackConfig.model_fields.items() if name != "region"}


@cache
def _adapter(field_name: str) -> TypeAdapter:
    field = StackConfig.model_fields[field_name]
    return TypeAdapter(typing.Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation)


@cache
def _type_adapter(annotation: Any) -> TypeAdapter:
    # Building a TypeAdapter compiles a validator: once per type, not once per endpoint.
    return TypeAdapter(annotation)


@cache
def known_regions() -> frozenset[str]:
    # Read botocore's endpoint data directly: a botocore Session would read AWS_PROFILE and fail
    # on a profile that does not exist, and the offline plan must not depend on AWS settings.
    resolver = botocore.regions.EndpointResolver(botocore.loaders.create_loader().load_data("endpoints"))
    return frozenset(
        region
        for partition in resolver.get_available_partitions()
        for region in resolver.get_available_endpoints("eks", partition)
    )


def parse_stack_config(stack: str, raw: dict[str, Any], secret_keys: frozenset[str] | set[str] = frozenset()) -> StackConfig:
    """Validate a stack's config (keys as in the stack file, values already decoded).

    Raises :class:`ConfigError` listing every problem; returns the typed config otherwise.
    """
    sections = section_keys()
    values: dict[str, Any] = {}
    # Credentials in clear, anywhere (a secret key's value is the engine's to keep: refused below).
    problems, credentials = scan({k: v for k, v in raw.items() if k not in secret_keys and k.startswith(f"{NAMESPACE}:")},
                                 {key: StackConfig.model_fields[name].annotation for key, name in sections.items()})
    credential_paths = frozenset(p.path for p in problems)

    for key in sorted(raw):
        if key.startswith(f"{NAMESPACE}:") and key not in sections:
            problems.append(ConfigProblem(key if _PLAIN_KEY.match(key) else json.dumps(key), f"is not a known setting; known: {', '.join(sorted(sections))}"))

    for key in sorted(secret_keys & set(raw)):
        if key not in SECRET_CAPABLE:
            problems.append(ConfigProblem(join_path(key, ()) if _PLAIN_KEY.match(key) else json.dumps(key),
                                          "cannot hold a secret: its values end up in resource tags, names or "
                                          "manifests that anyone with read access sees"))

    region = raw.get(REGION_KEY)
    if region is None:
        problems.append(ConfigProblem(REGION_KEY, "is required: the AWS region of the stack (pulumi config set aws:region us-east-1)"))
    elif not isinstance(region, str) or region not in known_regions():
        problems.append(ConfigProblem(REGION_KEY, "is not an AWS region where EKS runs", region))
    values["region"] = region

    for key, field_name in sections.items():
        field = StackConfig.model_fields[field_name]
        if key not in raw:
            continue
        section_problems = _entry_problems(key, field.annotation, raw[key])
        if not section_problems:
            try:
                values[field_name] = _adapter(field_name).validate_python(raw[key])
                section_problems = check_tree(key, values[field_name])
            except ValidationError as error:
                section_problems = problems_from_validation_error(key, error, field.annotation)
        problems += section_problems

    if not problems:
        config = StackConfig.model_validate(values)
        problems += [ConfigProblem(_root_path(f.loc), f.message, f.value) for f in config.problems()]
        if not problems:
            return config

    raise ConfigError(stack, mask(_masked_problems(problems, raw, secret_keys), credentials, credential_paths))


def _entry_problems(key: str, annotation: Any, value: Any) -> list[ConfigProblem]:
    """For a keyed collection (``nodePools``, ``endpoints``), check every entry on its own.

    One bad pool must not hide the semantic problems of the others, so each entry is parsed
    and checked separately; the collection as a whole is parsed only when all entries pass.
    """
    if typing.get_origin(annotation) is not dict or not isinstance(value, dict):
        return []
    key_type, value_type = typing.get_args(annotation)
    found: list[ConfigProblem] = []
    for name, entry in value.items():
        try:
            _type_adapter(key_type).validate_python(name)
        except ValidationError as error:
            found += [ConfigProblem(p.path, p.message) for p in problems_from_validation_error(key, error, prefix=(name,))]
            continue
        try:
            parsed = _type_adapter(value_type).validate_python(entry)
        except ValidationError as error:
            found += problems_from_validation_error(key, error, value_type, prefix=(name,))
            continue
        found += check_tree(join_path(key, (name,)), parsed)
    return found


def _root_path(loc: tuple[Any, ...]) -> str:
    head, *rest = loc
    key = REGION_KEY if head == "region" else f"{NAMESPACE}:{head}"
    return join_path(key, rest)


def _masked_problems(problems: list[ConfigProblem], raw: dict[str, Any], secret_keys: frozenset[str] | set[str]) -> list[ConfigProblem]:
    """The problems with nothing of a secret's value in them: under the real engine a secret key's value is
    decrypted, so its offending value is masked and every text inside it is masked wherever a message
    would quote it (an instance type in the catalog's message, say): texts of 8 characters or more, as
    shorter ones are words a message uses for itself ("string"); messages name entries by position."""
    texts = sorted({t for key in secret_keys if key in raw for t in _texts(raw[key]) if len(t) >= 8}, key=len, reverse=True)
    masked = []
    for problem in problems:
        if any(_under(problem.path, key) for key in secret_keys):
            message = problem.message
            for text in texts:
                message = message.replace(text, SECRET_MASK)
            problem = ConfigProblem(problem.path, message, SECRET_MASK if problem.value is not MISSING else MISSING)
        masked.append(problem)
    return masked


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:/-]+$")


def _under(path: str, key: str) -> bool:
    """Whether a problem's ``path`` is ``key`` or inside it (however the key is written: plain, or
    quoted as JSON when it is not a plain word)."""
    for spelled in {key, json.dumps(key)}:
        if path == spelled or path.startswith((spelled + ".", spelled + "[")):
            return True
    return False


def _texts(value: Any) -> list[str]:
    """Every scalar inside a config value, as text."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, str):
        decoded = decode_value(value)  # structured config arrives as JSON text
        return [value] if isinstance(decoded, str) else [value, *_texts(decoded)]
    return []  # numbers and booleans: too short to find in a message without masking unrelated text



def load_stack_config() -> StackConfig:
    """Read and validate the running Pulumi program's config (real engine or mocks)."""
    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    relevant = {k: decode_value(v) for k, v in raw.items() if k.startswith(f"{NAMESPACE}:") or k == REGION_KEY}
    config = parse_stack_config(pulumi.get_stack(), relevant, frozenset(secret_keys))
    for note in deprecation_notes(relevant.get(f"{NAMESPACE}:nodePools")):
        pulumi.log.warn(note)
    return config

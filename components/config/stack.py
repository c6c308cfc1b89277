"""The whole ``servestack:*`` configuration of one stack, parsed and checked in one go.

Each section is validated on its own so that a mistake in one does not hide the mistakes in
another; checks that span sections (an endpoint's pool must exist) run once the sections
they read are valid. Everything found is raised together as one :class:`ConfigError`, before
the program creates any resource.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from .base import MISSING, NAMESPACE, ConfigError, ConfigModel, ConfigProblem, Finding, check_tree, problems_from_validation_error
from .cluster import ClusterConfig
from .network import NetworkConfig
from .node_pools import NodePoolConfig, PoolName
from .platform import PlatformConfig

Tier = Literal["dev", "staging", "prod"]
REGION_KEY = "aws:region"
SECRET_MASK = "[secret]"


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
    node_pools: dict[PoolName, NodePoolConfig] = Field(default={}, min_length=1)
    """Node pools keyed by name. At least one is required."""
    platform: PlatformConfig = PlatformConfig()
    """The serving platform. Default: KServe in Knative mode."""

    @property
    def is_production(self) -> bool:
        return self.tier == "prod"

    def problems(self) -> list[Finding]:
        # Cross-section checks: each reads sections that parsed cleanly.
        return []


def section_keys() -> dict[str, str]:
    """Config key (``servestack:nodePools``) -> field name (``node_pools``), region excluded."""
    return {f"{NAMESPACE}:{f.alias}": name for name, f in StackConfig.model_fields.items() if name != "region"}


@cache
def _adapter(field_name: str) -> TypeAdapter:
    return TypeAdapter(StackConfig.model_fields[field_name].annotation)


@cache
def _known_regions() -> frozenset[str]:
    # Read botocore's endpoint data directly: a botocore Session would read AWS_PROFILE and fail
    # on a profile that does not exist, and the offline plan must not depend on AWS settings.
    import botocore.loaders
    import botocore.regions

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
    problems: list[ConfigProblem] = []
    sections = section_keys()
    values: dict[str, Any] = {}

    for key in sorted(raw):
        if key.startswith(f"{NAMESPACE}:") and key not in sections:
            problems.append(ConfigProblem(key, f"is not a known setting; known: {', '.join(sorted(sections))}"))

    region = raw.get(REGION_KEY)
    if region is None:
        problems.append(ConfigProblem(REGION_KEY, "is required: the AWS region of the stack (pulumi config set aws:region us-east-1)"))
    elif region not in _known_regions():
        problems.append(ConfigProblem(REGION_KEY, "is not an AWS region where EKS runs", region))
    values["region"] = region

    parsed_ok: dict[str, bool] = {}
    for key, field_name in sections.items():
        if key not in raw:
            parsed_ok[field_name] = True
            continue
        try:
            values[field_name] = _adapter(field_name).validate_python(raw[key])
            parsed_ok[field_name] = True
            problems += check_tree(key, values[field_name])
        except ValidationError as error:
            parsed_ok[field_name] = False
            field = StackConfig.model_fields[field_name].annotation
            problems += problems_from_validation_error(key, error, field)

    if not problems:
        config = StackConfig.model_validate(values)
        problems += [ConfigProblem(_root_path(f.loc), f.message, f.value) for f in config.problems()]
        if not problems:
            return config

    raise ConfigError(stack, [_masked(p, secret_keys) for p in problems])


def _root_path(loc: tuple[Any, ...]) -> str:
    from .base import join_path

    head, *rest = loc
    key = REGION_KEY if head == "region" else f"{NAMESPACE}:{head}"
    return join_path(key, rest)


def _masked(problem: ConfigProblem, secret_keys: frozenset[str] | set[str]) -> ConfigProblem:
    key = problem.path.split(".", 1)[0].split("[", 1)[0]
    if key in secret_keys and problem.value is not MISSING:
        return ConfigProblem(problem.path, problem.message, SECRET_MASK)
    return problem


def decode_value(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; scalars stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_stack_config() -> StackConfig:
    """Read and validate the running Pulumi program's config (real engine or mocks)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    relevant = {k: decode_value(v) for k, v in raw.items() if k.startswith(f"{NAMESPACE}:") or k == REGION_KEY}
    return parse_stack_config(pulumi.get_stack(), relevant, frozenset(secret_keys))

"""What preflight checks, read from a plan document (``preview.json``).

The same facts appear in two places of a plan: the decoded stack config (``config``,
``servestack:*`` keys) and the resources the program declares (``steps``). Neither is
complete on its own: a Knative-mode rollout keeps the stable model only in config, a node
group's zones are known only from the subnets it is wired to, and a real ``pulumi preview``
may lack values that are only known after deployment. So this adapter reads both, prefers
what the resources say (that is what ``pulumi up`` will send to AWS) and fills the rest from
config. It is defensive by design: shapes it does not recognise are ignored, never fatal.

Collected:
(a) model URIs per endpoint, stable and candidate;
(b) instance types, capacity type and availability zones (or subnet ids to resolve) per pool;
(c) the Kubernetes version and the EKS add-on versions;
(d) pool max sizes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from components.catalog import POOL_LABEL
from components.config.node_pools import CAPACITY_TYPES
from policies.rules.model import decode_json, dig

from ..plan.wire import UNKNOWN

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
#: Label the endpoint component puts on its InferenceService (falls back to metadata.name).
ENDPOINT_LABEL = "servestack.io/endpoint"
#: Subnet tag of private subnets (internal load balancers): where nodes run.
PRIVATE_SUBNET_TAG = "kubernetes.io/role/internal-elb"
#: NodePoolConfig.maxSize default, used when config omits maxSize and no node group says.
DEFAULT_MAX_SIZE = 3


@dataclass(frozen=True)
class ModelUri:
    endpoint: str
    uri: str
    roles: tuple[str, ...]
    """``stable``, ``candidate`` or both (sorted)."""
    sources: tuple[str, ...]
    """Where it was found: ``config servestack:endpoints.iris.model.storageUri``, ``resource ...``."""

    @property
    def subject(self) -> str:
        return f"endpoint {self.endpoint} ({', '.join(self.roles)})"


@dataclass(frozen=True)
class PoolInputs:
    name: str
    instance_types: tuple[str, ...]
    max_size: int
    capacity_type: str = "ON_DEMAND"
    zones: tuple[str, ...] = ()
    """Availability zone names of the pool's subnets, when the plan names them."""
    subnet_ids: tuple[str, ...] = ()
    """Subnets whose zones only AWS knows (an existing network): resolved by DescribeSubnets."""
    zone_source: str = ""
    """Where the zones or subnets came from, for messages."""

    @property
    def subject(self) -> str:
        return f"pool {self.name}"


@dataclass(frozen=True)
class AddonInputs:
    name: str
    version: str | None
    source: str


@dataclass
class PreflightInputs:
    region: str | None = None
    models: list[ModelUri] = field(default_factory=list)
    pools: list[PoolInputs] = field(default_factory=list)
    kubernetes_version: str | None = None
    support_type: str | None = None
    addons: list[AddonInputs] = field(default_factory=list)


# --- helpers ---------------------------------------------------------------------------------

def _known(value: Any) -> bool:
    return value is not None and value != UNKNOWN and value != ""


def _resources(document: dict[str, Any], type_: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(urn, newState) of every step of one type that creates, updates or keeps a resource."""
    for step in document.get("steps") or []:
        state = step.get("newState") or {}
        if state.get("type") == type_ and step.get("op", "create") not in ("delete", "discard"):
            yield step.get("urn") or state.get("urn", ""), state


def _urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _storage_uris(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every ``storageUri`` (and ``storageUris[]``) under ``value`` with its key path."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "storageUri" and isinstance(child, str) and _known(child):
                yield (*path, key), child
            elif key == "storageUris" and isinstance(child, list):
                for i, item in enumerate(child):
                    uri = item.get("uri") if isinstance(item, dict) else item
                    if isinstance(uri, str) and _known(uri):
                        yield (*path, key, str(i)), uri
            else:
                yield from _storage_uris(child, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _storage_uris(item, (*path, str(i)))


# --- (a) model URIs ------------------------------------------------------------------------

def _models_from_config(config: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(endpoint, role, uri, source): a URI under any key containing ``candidate`` is the
    candidate's (``rollout.candidate.storageUri``), every other one the stable model's."""
    endpoints = decode_json(config.get("servestack:endpoints"))
    if not isinstance(endpoints, dict):
        return
    for name, endpoint in sorted(endpoints.items()):
        for path, uri in _storage_uris(endpoint, ()):
            role = "candidate" if any("candidate" in key.lower() for key in path) else "stable"
            yield str(name), role, uri, f"config servestack:endpoints.{name}.{'.'.join(path)}"


def _models_from_inference_services(document: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """Knative mode: a predictor with ``canaryTrafficPercent`` carries the candidate (the stable
    revision lives on in KServe, and in config). Standard mode: ``spec.canary[]`` carries it."""
    for urn, state in _resources(document, INFERENCE_SERVICE):
        inputs = state.get("inputs") or {}
        metadata = inputs.get("metadata") or {}
        name = (metadata.get("labels") or {}).get(ENDPOINT_LABEL) or metadata.get("name") or _urn_name(urn)
        spec = inputs.get("spec") or {}
        predictor = spec.get("predictor") or {}
        predictor_role = "candidate" if _known(predictor.get("canaryTrafficPercent")) else "stable"
        for path, uri in _storage_uris(predictor, ("spec", "predictor")):
            yield name, predictor_role, uri, f"resource {_urn_name(urn)} {'.'.join(path)}"
        for path, uri in _storage_uris(spec.get("canary"), ("spec", "canary")):
            yield name, "candidate", uri, f"resource {_urn_name(urn)} {'.'.join(path)}"


def collect_models(document: dict[str, Any]) -> list[ModelUri]:
    found: dict[tuple[str, str], tuple[set[str], list[str]]] = {}
    config = document.get("config") or {}
    for endpoint, role, uri, source in (*_models_from_inference_services(document), *_models_from_config(config)):
        roles, sources = found.setdefault((endpoint, uri), (set(), []))
        roles.add(role)
        if source not in sources:
            sources.append(source)
    return [ModelUri(endpoint, uri, tuple(sorted(roles)), tuple(sources))
            for (endpoint, uri), (roles, sources) in sorted(found.items())]


# --- (b), (d) pools ------------------------------------------------------------------------

def _subnet_zones(document: dict[str, Any]) -> dict[str, tuple[str | None, bool, str]]:
    """Subnet URN -> (zone name or None when unknown, is private, parent URN)."""
    zones = {}
    for urn, state in _resources(document, SUBNET):
        inputs = state.get("inputs") or {}
        zone = inputs.get("availabilityZone")
        private = PRIVATE_SUBNET_TAG in (inputs.get("tags") or {})
        zones[urn] = (zone if _known(zone) else None, private, state.get("parent", ""))
    return zones


def _ancestors(document: dict[str, Any]) -> dict[str, str]:
    return {step.get("urn", ""): (step.get("newState") or {}).get("parent", "") for step in document.get("steps") or []}


def _zones_of(urns: list[str], subnets: dict, parents: dict[str, str]) -> list[tuple[str | None, bool]]:
    """Zones of the subnets among ``urns``; a component URN stands for its private subnets."""
    found = []
    for urn in urns:
        if urn in subnets:
            found.append(subnets[urn][:2])
            continue
        for subnet_urn, (zone, private, _) in subnets.items():
            parent = parents.get(subnet_urn, "")
            while parent and parent != urn:
                parent = parents.get(parent, "")
            if parent == urn and private:
                found.append((zone, private))
    return found


def _network_zones(document: dict[str, Any], config: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Zones (or subnet ids) where pools run when no node group says: the private subnets."""
    existing = dig(decode_json(config.get("servestack:network")), "existing", "privateSubnetIds")
    if isinstance(existing, list) and existing:
        return (), tuple(str(s) for s in existing), "servestack:network.existing.privateSubnetIds"
    subnets = _subnet_zones(document)
    private = [zone for zone, is_private, _ in subnets.values() if is_private] or [z for z, _, _ in subnets.values()]
    if private and all(private):
        return tuple(sorted(set(private))), (), "the availabilityZone of the plan's private subnets"
    return (), (), ""


def _pool_name(urn: str, inputs: dict[str, Any], configured: set[str]) -> str:
    label = (inputs.get("labels") or {}).get(POOL_LABEL)
    candidates = [c for c in (label, inputs.get("nodeGroupName"), _urn_name(urn)) if isinstance(c, str) and _known(c)]
    for candidate in candidates:
        if candidate in configured:
            return candidate
    for candidate in candidates:  # "servestack-gpu" -> "gpu"
        for pool in sorted(configured, key=len, reverse=True):
            if candidate.endswith(f"-{pool}"):
                return pool
    return candidates[0]


def _configured_types(pool_config: dict[str, Any]) -> tuple[str, ...]:
    """A pool's ``instanceTypes`` from config; anything but a list is ignored (a bare string is not
    a list of one-letter types)."""
    types = pool_config.get("instanceTypes")
    return tuple(str(t) for t in types) if isinstance(types, list) else ()


def _configured_max_size(pool_config: dict[str, Any]) -> int:
    """A pool's ``maxSize`` from config; a value that is not a number is ignored for the default."""
    try:
        return int(pool_config.get("maxSize", DEFAULT_MAX_SIZE))
    except (TypeError, ValueError):
        return DEFAULT_MAX_SIZE


def _configured_capacity(pool_config: dict[str, Any]) -> str:
    """A pool's ``capacityType`` from config, in the EKS API's spelling (``onDemand`` -> ``ON_DEMAND``)."""
    value = str(pool_config.get("capacityType", "onDemand"))
    return CAPACITY_TYPES.get(value, value)


def collect_pools(document: dict[str, Any]) -> list[PoolInputs]:
    config = document.get("config") or {}
    configured = decode_json(config.get("servestack:nodePools"))
    configured = configured if isinstance(configured, dict) else {}
    subnets = _subnet_zones(document)
    parents = _ancestors(document)
    network_zones, network_subnet_ids, network_source = _network_zones(document, config)

    pools: dict[str, PoolInputs] = {}
    for urn, state in _resources(document, NODE_GROUP):
        inputs = state.get("inputs") or {}
        name = _pool_name(urn, inputs, set(configured))
        pool_config = configured.get(name) if isinstance(configured.get(name), dict) else {}
        types = inputs.get("instanceTypes")
        if not (isinstance(types, list) and types and all(_known(t) for t in types)):
            types = _configured_types(pool_config)
        max_size = dig(inputs, "scalingConfig", "maxSize")
        if not isinstance(max_size, int):
            max_size = _configured_max_size(pool_config)
        capacity = inputs.get("capacityType") if _known(inputs.get("capacityType")) else _configured_capacity(pool_config)

        zones: tuple[str, ...] = ()
        subnet_ids: tuple[str, ...] = ()
        source = ""
        wired = _zones_of(list((state.get("propertyDependencies") or {}).get("subnetIds") or []), subnets, parents)
        if wired:
            if all(zone for zone, _ in wired):
                zones, source = tuple(sorted({zone for zone, _ in wired})), "the availabilityZone of the node group's subnets in the plan"
        else:
            ids = [s for s in inputs.get("subnetIds") or [] if isinstance(s, str) and _known(s)]
            if ids:
                subnet_ids, source = tuple(ids), "the node group's subnetIds"
            else:
                zones, subnet_ids, source = network_zones, network_subnet_ids, network_source
        pools[name] = PoolInputs(name, tuple(str(t) for t in types), int(max_size), str(capacity or "ON_DEMAND"),
                                 zones, subnet_ids, source)

    for name, pool_config in sorted(configured.items()):
        if name in pools or not isinstance(pool_config, dict):
            continue
        pools[name] = PoolInputs(
            str(name), _configured_types(pool_config), _configured_max_size(pool_config), _configured_capacity(pool_config),
            network_zones, network_subnet_ids, network_source,
        )
    return [pools[name] for name in sorted(pools)]


# --- (c) Kubernetes and add-on versions ----------------------------------------------------

def _addons_from_config(cluster: dict[str, Any]) -> Iterator[AddonInputs]:
    addons = cluster.get("addons")
    if isinstance(addons, dict):
        items = [(name, value) for name, value in addons.items()]
    elif isinstance(addons, list):
        items = [(a.get("name") or a.get("addonName"), a) for a in addons if isinstance(a, dict)]
    else:
        return
    for name, value in items:
        version = value if isinstance(value, str) else (value.get("version") or value.get("addonVersion")) if isinstance(value, dict) else None
        if name:
            yield AddonInputs(str(name), version if _known(version) else None, f"config servestack:cluster.addons.{name}")


def collect_versions(document: dict[str, Any]) -> tuple[str | None, str | None, list[AddonInputs]]:
    cluster_config = decode_json((document.get("config") or {}).get("servestack:cluster"))
    cluster_config = cluster_config if isinstance(cluster_config, dict) else {}
    version = support = None
    for _, state in _resources(document, CLUSTER):
        inputs = state.get("inputs") or {}
        version = inputs.get("version") if _known(inputs.get("version")) else None
        support = dig(inputs, "upgradePolicy", "supportType")
    version = version or cluster_config.get("kubernetesVersion")
    support = support if _known(support) else cluster_config.get("supportType")

    addons: dict[str, AddonInputs] = {}
    for urn, state in _resources(document, ADDON):
        inputs = state.get("inputs") or {}
        name = inputs.get("addonName")
        if _known(name):
            v = inputs.get("addonVersion")
            addons[name] = AddonInputs(name, v if _known(v) else None, f"resource {_urn_name(urn)}")
    for addon in _addons_from_config(cluster_config):
        addons.setdefault(addon.name, addon)
    return (str(version) if _known(version) else None), support, [addons[n] for n in sorted(addons)]


def collect(document: dict[str, Any]) -> PreflightInputs:
    """Everything preflight checks, from one plan document."""
    config = document.get("config") or {}
    version, support, addons = collect_versions(document)
    region = config.get("aws:region")
    return PreflightInputs(
        region=region if _known(region) else None,
        models=collect_models(document),
        pools=collect_pools(document),
        kubernetes_version=version,
        support_type=support,
        addons=addons,
    )

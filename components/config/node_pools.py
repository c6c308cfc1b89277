"""``servestack:nodePools``: node pools keyed by pool name, each an EKS managed node group or a
Karpenter NodePool.

A pool names its instance types; the accelerator catalog derives everything else (AMI type,
taint, labels, device plugin), so a GPU pool is tainted ``nvidia.com/gpu`` without anyone
writing it. ``provisioner`` says who owns the node count: ``managed`` pools are EKS managed node
groups of a fixed size (nothing scales them: no Cluster Autoscaler runs), ``karpenter`` pools get
nodes from Karpenter when pods are pending, from zero up to ``maxSize`` nodes, and lose them when
they are empty (accelerator pools default to Karpenter).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Literal

import botocore.loaders
from pydantic import AfterValidator, Field, field_validator, model_validator

from ..core import catalog
from ..core.images import ImagePin, image_pin
from ..core.labels import RESERVED_LABEL_PREFIX
from ..core.pools import (  # noqa: F401  (the vocabulary, re-exported for the config's readers)
    CAPACITY_TYPES, DEFAULT_CAPACITY_TYPE, DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, KARPENTER_LABEL_DOMAINS, PROVISIONERS,
    default_provisioner,
)
from .base import ConfigModel, Finding

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def _pool_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError("a pool name must start with a lowercase letter and hold only lowercase letters, digits and '-', at most 31 characters")
    return name


PoolName = Annotated[str, AfterValidator(_pool_name)]

#: The former name of ``devicePlugin`` (when only FPGA pools had one), still read with a deprecation note.
DEPRECATED_DEVICE_PLUGIN = "fpgaDevicePlugin"


def deprecation_notes(pools: object) -> list[str]:
    """A note per pool of ``servestack:nodePools`` (as written) that uses a deprecated key."""
    if not isinstance(pools, dict):
        return []
    return [f"servestack:nodePools.{name}.{DEPRECATED_DEVICE_PLUGIN} is deprecated: rename it to devicePlugin "
            "(same fields: image, resourceName)"
            for name, pool in sorted(pools.items(), key=lambda item: str(item[0]))
            if isinstance(pool, dict) and DEPRECATED_DEVICE_PLUGIN in pool]



def _given(data: dict, name: str, alias: str) -> bool:
    return name in data or alias in data

# Kubernetes label key (optional DNS prefix) and value syntax.
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_RESOURCE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+/[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")
#: The shape of an image reference: ``registry/repo:tag`` or ``registry/repo@sha256:...``.
_IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$")


@cache
def eks_label_limits() -> dict[str, tuple[int, int]]:
    """``{"key": (min, max), "value": (min, max)}``: the lengths the EKS API allows for a node group's
    label keys and values (shapes ``labelKey``/``labelValue`` of botocore's EKS model). Stricter
    than Kubernetes: a value may not be empty, and a key (prefix included) has at most 63 characters."""
    shapes = botocore.loaders.create_loader().load_service_model("eks", "service-2")["shapes"]
    return {part: (shapes[shape]["min"], shapes[shape]["max"]) for part, shape in (("key", "labelKey"), ("value", "labelValue"))}


class DevicePluginConfig(ConfigModel):
    """The device plugin of a pool whose accelerator kind has none that a vendor publishes (the
    catalog pins no chart for it: FPGA on EC2 F2), so the stack names the image it built and the
    extended resource that image advertises."""

    image: str
    """Container image, pinned by tag (never ``latest``) or digest. Required."""
    resource_name: str | None = None
    """Extended resource the plugin advertises and pods request; also the pool's taint key.
    Default: the catalog's resource of the pool's kind (``servestack.io/fpga`` for FPGA)."""

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        if not _IMAGE_NAME.match(image) or image_pin(image) is not ImagePin.PINNED:
            raise ValueError("must be an image pinned by tag or digest, such as registry.example.com/fpga-device-plugin:1.2.0 (never latest)")
        return image

    @field_validator("resource_name")
    @classmethod
    def _resource(cls, name: str | None) -> str | None:
        if name is not None and not _RESOURCE_NAME.match(name):
            raise ValueError("must be an extended resource name with a domain prefix, such as example.com/fpga")
        return name


class NodePoolConfig(ConfigModel):
    """One node pool: an EKS managed node group of fixed size, or a Karpenter NodePool."""

    instance_types: list[str] = Field(min_length=1)
    """EC2 instance types, all of one accelerator kind and one architecture. Required."""
    provisioner: Literal["karpenter", "managed"] | None = None
    """``managed``: an EKS managed node group of exactly ``minSize`` nodes (nothing scales it).
    ``karpenter``: Karpenter launches nodes of the pool's instance types when pods that need them
    are pending and removes nodes that are empty, between 0 and ``maxSize`` nodes (an EC2NodeClass
    and a NodePool whose limits are ``maxSize`` times the largest type). The stack needs one
    managed CPU pool with ``minSize`` >= 1 for cluster add-ons and the Karpenter controller.
    Default: ``karpenter`` for accelerator pools, ``managed`` for CPU pools."""
    min_size: int = Field(default=DEFAULT_MIN_SIZE, ge=0, le=1000)
    """Managed pools: the fixed number of nodes. Karpenter pools: must be 0 (Karpenter keeps no
    minimum; nodes exist while pods need them). Default 1 (managed), 0 (karpenter)."""
    max_size: int = Field(default=DEFAULT_MAX_SIZE, ge=1, le=1000)
    """Karpenter pools: most nodes (of the largest instance type; the NodePool's limits).
    Managed pools: must equal ``minSize`` (a managed node group here never scales).
    Default 3 (karpenter), ``minSize`` (managed)."""
    desired_size: int | None = Field(default=None, ge=0, le=1000)
    """Managed pools only, and only equal to ``minSize`` (the size is fixed). Default: ``minSize``."""
    disk_size_gib: int = Field(default=100, ge=20, le=16384)
    """Size of the encrypted gp3 root volume (images of model servers are large). Default 100."""
    capacity_type: Literal["onDemand", "spot", "capacityBlock"] = "onDemand"
    """``onDemand``, ``spot`` (interruptible, cheaper) or ``capacityBlock`` (a purchased EC2
    Capacity Block for ML; needs ``capacityReservationId`` and one instance type).
    Default ``onDemand``."""
    capacity_reservation_id: str | None = Field(default=None, pattern=r"^cr-[0-9a-f]{17}$")
    """The Capacity Block reservation a ``capacityBlock`` pool launches into. Default: none."""
    max_unavailable: int = Field(default=1, ge=1, le=100)
    """Nodes replaced at once: during a node group update (a version or launch template change) of
    a managed pool; the disruption budget (drift, emptiness) of a Karpenter pool. Default 1."""
    pod_metadata_access: bool = False
    """Let pods reach the instance metadata service (IMDSv2 hop limit 2 instead of 1). Off: pods
    cannot borrow the node role's credentials and get AWS access only through IRSA; turn it on
    only for software that insists on IMDS from inside a pod. Default false."""
    labels: dict[str, str] = {}
    """Extra node labels. Keys under ``servestack.io/`` are reserved (pool and accelerator labels
    come from the catalog). EKS limits keys to 63 characters (prefix included) and values to 1-63
    characters. Default: none."""
    ami_id: str | None = Field(default=None, pattern=r"^ami-[0-9a-f]{8,17}$")
    """FPGA pools only, and required there: a custom AL2023 AMI with the FPGA runtime (there is
    no EKS-optimized FPGA AMI). The pool uses AMI type ``CUSTOM`` and nodeadm user data.
    Default: none."""
    device_plugin: DevicePluginConfig | None = None
    """Pools of a kind whose device plugin the stack declares (FPGA), and required there: the plugin's
    image and resource name. ``fpgaDevicePlugin``, its former name, is still read (with a deprecation
    note) but not together with ``devicePlugin``. Default: none."""

    @model_validator(mode="before")
    @classmethod
    def _provisioner_defaults(cls, data: object) -> object:
        """Resolve the provisioner and the sizes that depend on it before the fields are checked."""
        if not isinstance(data, dict):
            return data
        if DEPRECATED_DEVICE_PLUGIN in data and not _given(data, "device_plugin", "devicePlugin"):
            data = {**data, "devicePlugin": data[DEPRECATED_DEVICE_PLUGIN]}
            del data[DEPRECATED_DEVICE_PLUGIN]
        provisioner = data.get("provisioner") or default_provisioner(data.get("instanceTypes", data.get("instance_types")))
        if provisioner not in PROVISIONERS:
            return data
        data = {**data, "provisioner": provisioner}
        if provisioner == "karpenter" and not _given(data, "min_size", "minSize"):
            data["minSize"] = 0
        if provisioner == "managed" and not _given(data, "max_size", "maxSize"):
            min_size = data.get("minSize", data.get("min_size", 1))
            data["maxSize"] = min_size if isinstance(min_size, int) and not isinstance(min_size, bool) and min_size >= 1 else 1
        return data

    @property
    def uses_karpenter(self) -> bool:
        return self.provisioner == "karpenter"

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        bad_keys = sorted(k for k in labels if not _LABEL_KEY.match(k) or len(k) > 317)
        if bad_keys:
            raise ValueError(f"has keys that are not Kubernetes label keys: {', '.join(bad_keys)}")
        reserved = sorted(k for k in labels if k.startswith(RESERVED_LABEL_PREFIX))
        if reserved:
            raise ValueError(f"must not set {', '.join(reserved)}: keys under {RESERVED_LABEL_PREFIX} come from the accelerator catalog")
        # Node group labels go through the EKS API, which is stricter than Kubernetes.
        limits = eks_label_limits()
        (_, key_max), (value_min, value_max) = limits["key"], limits["value"]
        long_keys = sorted(k for k in labels if len(k) > key_max)
        if long_keys:
            raise ValueError(f"has keys longer than the {key_max} characters EKS allows for a node group label key "
                             f"(prefix included): {', '.join(long_keys)}")
        empty = sorted(k for k, v in labels.items() if len(v) < value_min)
        if empty:
            raise ValueError(f"has empty values (keys: {', '.join(empty)}); EKS requires node group label values of "
                             f"{value_min} to {value_max} characters")
        bad_values = sorted(k for k, v in labels.items() if not _LABEL_VALUE.match(v))
        if bad_values:
            raise ValueError(f"has values that are not Kubernetes label values (keys: {', '.join(bad_values)})")
        return labels

    def instance_specs(self) -> list[catalog.InstanceType]:
        """Catalog entries of the instance types (call only on a pool without problems)."""
        return [catalog.lookup(t) for t in self.instance_types]

    @property
    def kind(self) -> catalog.AcceleratorKind:
        """Accelerator kind of the pool (call only on a pool without problems)."""
        return self.instance_specs()[0].kind

    @property
    def eks_capacity_type(self) -> str:
        return CAPACITY_TYPES[self.capacity_type]

    @property
    def resource_name(self) -> str | None:
        """Extended resource of the pool's accelerator: a declared plugin's is the stack's."""
        if self.device_plugin is not None and self.device_plugin.resource_name is not None:
            return self.device_plugin.resource_name
        return self.instance_specs()[0].accelerator.resource_name

    def problems(self) -> list[Finding]:
        found = []
        specs = []
        for i, name in enumerate(self.instance_types):
            try:
                specs.append(catalog.lookup(name))
            except catalog.CatalogError as error:
                found.append(Finding(("instanceTypes", i), str(error), name))
        if len(set(self.instance_types)) != len(self.instance_types):
            found.append(Finding(("instanceTypes",), "must not list an instance type twice", self.instance_types))
        kinds = sorted({s.kind.value for s in specs})
        if len(kinds) > 1:
            found.append(Finding(
                ("instanceTypes",),
                f"mixes accelerator kinds ({', '.join(kinds)}); one pool holds one kind, so declare a pool per kind",
                self.instance_types,
            ))
        archs = sorted({s.architecture for s in specs})
        if len(archs) > 1:
            found.append(Finding(
                ("instanceTypes",),
                f"mixes CPU architectures ({', '.join(archs)}); one pool runs one AMI, so declare a pool per architecture",
                self.instance_types,
            ))
        if len(kinds) == 1 and len(archs) == 1 and archs[0] not in specs[0].accelerator.ami_types:
            supported = ", ".join(sorted(specs[0].accelerator.ami_types))
            found.append(Finding(
                ("instanceTypes",),
                f"has no EKS AMI for {kinds[0]} on {archs[0]}; {kinds[0]} pools run on {supported}",
                self.instance_types,
            ))
        found += self._size_problems()
        found += self._capacity_problems()
        if len(kinds) == 1:
            found += self._own_ami_problems(specs[0].accelerator) + self._declared_plugin_problems(specs[0].accelerator)
        return found

    def _size_problems(self) -> list[Finding]:
        """Sizes as the provisioner really treats them: managed pools are fixed, Karpenter pools start at 0."""
        if self.provisioner == "karpenter":
            found = []
            restricted = sorted(k for k in self.labels if k.split("/", 1)[0].endswith(KARPENTER_LABEL_DOMAINS) and "/" in k)
            if restricted:
                found.append(Finding(("labels",), f"must not set {', '.join(restricted)} on a Karpenter pool: the NodePool "
                                                  f"API refuses labels under {' and '.join(KARPENTER_LABEL_DOMAINS)}", self.labels))
            if self.min_size != 0:
                found.append(Finding(("minSize",), "must be 0 for a Karpenter pool: Karpenter launches nodes only for pending "
                                                   "pods and keeps no minimum; use provisioner managed for nodes that always run",
                                     self.min_size))
            if self.desired_size is not None:
                found.append(Finding(("desiredSize",), "is only for managed pools: Karpenter decides how many nodes a "
                                                       "Karpenter pool has (0 to maxSize)", self.desired_size))
            return found
        if self.provisioner is None:
            return []  # instance types the catalog does not know: their problems say why
        found = []
        if self.min_size < 1:
            found.append(Finding(("minSize",), "must be at least 1 for a managed pool (its fixed size); a pool that scales "
                                               "from zero needs provisioner karpenter", self.min_size))
        elif self.max_size != self.min_size:
            found.append(Finding(("maxSize",), f"must equal minSize ({self.min_size}) for a managed pool: nothing scales an EKS "
                                               "managed node group here (no Cluster Autoscaler runs), so its size is fixed; "
                                               "use provisioner karpenter for nodes that follow demand", self.max_size))
        if self.desired_size is not None and self.desired_size != self.min_size:
            found.append(Finding(("desiredSize",), f"must equal minSize ({self.min_size}) for a managed pool (its size is fixed)",
                                 self.desired_size))
        return found

    def _capacity_problems(self) -> list[Finding]:
        found = []
        if self.capacity_type == "capacityBlock":
            if self.capacity_reservation_id is None:
                found.append(Finding(("capacityReservationId",), "is required when capacityType is capacityBlock: the id of the purchased Capacity Block (cr-...)"))
            if len(self.instance_types) != 1:
                found.append(Finding(("instanceTypes",), "must name exactly one instance type when capacityType is capacityBlock (a Capacity Block reserves one type)", self.instance_types))
        elif self.capacity_reservation_id is not None:
            found.append(Finding(("capacityReservationId",), f"is only used when capacityType is capacityBlock (capacityType is {self.capacity_type})", self.capacity_reservation_id))
        return found

    def _own_ami_problems(self, accelerator: catalog.Accelerator) -> list[Finding]:
        """``amiId``: required where the catalog knows no EKS-optimized AMI, refused elsewhere."""
        if accelerator.needs_custom_ami:
            if self.ami_id is not None:
                return []
            title = accelerator.title
            return [Finding(
                ("amiId",),
                f"is required for {accelerator.a_title} pool: there is no EKS-optimized {title} AMI, so give a custom AL2023 AMI with the "
                f"{title} runtime; the pool then uses AMI type CUSTOM and nodeadm bootstrap user data",
            )]
        if self.ami_id is not None:
            return [Finding(("amiId",), f"is only for {catalog.titles(lambda a: a.needs_custom_ami)} pools; other pools use the "
                                        "EKS-optimized AMI of their accelerator", self.ami_id)]
        return []

    def _declared_plugin_problems(self, accelerator: catalog.Accelerator) -> list[Finding]:
        """``devicePlugin``: required where the catalog has no chart for the kind's plugin, refused elsewhere."""
        if catalog.declares_plugin(accelerator):
            if self.device_plugin is not None:
                return []
            families = ", ".join(f.upper() for f, kind in catalog.families().items() if kind == accelerator.kind)
            return [Finding(
                ("devicePlugin",),
                f"is required for {accelerator.a_title} pool: no vendor publishes a device plugin for {families}, so give its "
                "image and resourceName",
            )]
        if self.device_plugin is not None:
            return [Finding(("devicePlugin",), f"is only for {catalog.titles(catalog.declares_plugin)} pools",
                            self.device_plugin.model_dump(by_alias=True, exclude_none=True))]
        return []

"""LoRA adapters and KV-cache offloading of an LLM endpoint (KServe v0.20.0's ``spec.model.lora`` and
``spec.kvCacheOffloading``).

LoRA adapters are fine-tuned weights vLLM serves beside the base model, each under its own name
(clients ask for it as the ``model``). KServe v0.20.0 downloads ``hf://`` and ``s3://`` adapters with
the storage initializer and mounts ``pvc://`` ones; it refuses ``oci://`` adapters
(``llmisvc/workload_lora.go``). The pinning rules are the model's: an ``hf://`` adapter names a
commit, an ``s3://`` adapter a prefix that the endpoint's IAM role may read (and nothing else).

KV-cache offloading keeps evicted attention blocks in CPU memory (and optionally on a node-local or
persistent volume) so that a returning prompt prefix need not be recomputed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from .base import ConfigModel, Finding
from .values import checked_memory, checked_storage_uri

#: The schemes KServe v0.20.0 reads LoRA adapters from (llmisvc/workload_lora.go).
LORA_URI_SCHEMES = ("hf://", "s3://", "pvc://")


class LoraAdapter(ConfigModel):
    """One adapter; its key is the name clients ask for."""

    uri: str
    """``hf://<org>/<adapter>:<40-hex commit>``, ``s3://bucket/prefix/...`` or ``pvc://<claim>/<path>``. Required."""

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if value.startswith("oci://"):
            raise ValueError("must not be oci://: KServe v0.20.0 does not support OCI LoRA adapters (OCI models run "
                             "as a sidecar image, which an adapter cannot be); use hf://, s3:// or pvc://")
        if not value.startswith(LORA_URI_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(LORA_URI_SCHEMES)} (KServe v0.20.0's LoRA schemes)")
        return checked_storage_uri(value) or value


class LoraConfig(ConfigModel):
    """LoRA adapters served beside the base model (KServe's ``spec.model.lora``)."""

    adapters: dict[str, LoraAdapter] = Field(min_length=1, max_length=64)
    """Adapters by the name clients ask for. Required."""
    max_rank: int | None = Field(default=None, ge=1, le=1024)
    """vLLM's ``--max-lora-rank``. Default: vLLM's."""
    max_adapters: int | None = Field(default=None, ge=1, le=1024)
    """Adapters in one batch (vLLM's ``--max-loras``). Default: vLLM's."""
    max_cpu_adapters: int | None = Field(default=None, ge=1, le=4096)
    """Adapters cached in CPU memory (vLLM's ``--max-cpu-loras``). Default: vLLM's."""

    @field_validator("adapters")
    @classmethod
    def _names(cls, adapters: dict[str, Any]) -> dict[str, Any]:
        import re

        bad = sorted(n for n in adapters if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?", n))
        if bad:
            raise ValueError(f"must name adapters with letters, digits, '.', '_' and '-' (a path segment): not {', '.join(bad)}")
        return adapters

    def problems(self) -> list[Finding]:
        if self.max_cpu_adapters is not None and self.max_adapters is not None and self.max_cpu_adapters < self.max_adapters:
            return [Finding(("maxCpuAdapters",), f"must be at least maxAdapters ({self.max_adapters}): vLLM keeps every "
                                                 "adapter of a batch in its CPU cache", self.max_cpu_adapters)]
        return []

    def render(self) -> dict[str, Any]:
        lora: dict[str, Any] = {"adapters": [{"name": n, "uri": a.uri} for n, a in sorted(self.adapters.items())]}
        for key in ("max_rank", "max_adapters", "max_cpu_adapters"):
            value = getattr(self, key)
            if value is not None:
                lora[type(self).model_fields[key].alias or key] = value
        return lora


class SecondaryTier(ConfigModel):
    """A second offloading tier: exactly one of a node-local ``emptyDir`` size or a ``pvc`` claim."""

    empty_dir: str | None = None
    """Size of a node-local volume (``100Gi``). Default: none."""
    pvc: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
    """A PersistentVolumeClaim in the endpoint's namespace. Default: none."""
    path: str | None = Field(default=None, pattern=r"^[^\s]+$")
    """A path inside the claim (with ``pvc``). Default: its root."""

    @field_validator("empty_dir")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        return checked_memory(value)

    def problems(self) -> list[Finding]:
        if (self.empty_dir is None) == (self.pvc is None):
            return [Finding((), "must set exactly one of emptyDir or pvc")]
        if self.path is not None and self.pvc is None:
            return [Finding(("path",), "applies to a pvc tier only", self.path)]
        return []

    def render(self) -> dict[str, Any]:
        if self.empty_dir is not None:
            return {"fileSystem": {"emptyDir": {"size": self.empty_dir}}}
        ref = {"name": self.pvc, **({"path": self.path} if self.path else {})}
        return {"fileSystem": {"pvc": {"ref": ref}}}


class KvCacheOffloading(ConfigModel):
    """KV-cache offloading (KServe v0.20.0's ``spec.kvCacheOffloading``)."""

    cpu: str
    """CPU memory for offloaded blocks per pod (``10Gi``); counts against the pod's memory. Required."""
    eviction_policy: Literal["lru", "arc"] = "lru"
    """Which blocks leave first. Default ``lru`` (KServe's default)."""
    secondary: list[SecondaryTier] = Field(default=[], max_length=4)
    """Further tiers below CPU memory. Default: none."""

    @field_validator("cpu")
    @classmethod
    def _cpu_size(cls, value: str) -> str:
        return checked_memory(value) or value

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {"cpu": self.cpu, "evictionPolicy": self.eviction_policy}
        if self.secondary:
            body["secondary"] = [t.render() for t in self.secondary]
        return body

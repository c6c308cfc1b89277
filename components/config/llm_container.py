"""What an LLM endpoint may say about the ``main`` container of its pods (and its prefill pods).

KServe v0.20.0 merges an LLMInferenceService's ``spec.template`` over its presets' templates with a
strategic merge patch (``llmisvc/config_merge.go``): containers merge by name, so whatever servestack
writes into the container named ``main`` overrides or extends the preset's vLLM container, field by
field. These settings are that override:

- ``image`` (pinned) replaces the preset's ``ghcr.io/llm-d/llm-d-cuda`` image: a CPU build of vLLM on
  a CPU pool, vLLM's Neuron build on a Neuron pool, a simulator;
- ``command`` replaces the preset's launcher script (then ``args`` go to that command, and the flags
  the preset would pass are the command's business);
- ``env``: plain values or references (``secretKeyRef``, ``fieldRef``), never a secret in clear;
- probes: the preset probes ``/health`` on port 8000 with HTTP GET; a probe here changes its timing
  (and optionally its path, port and scheme). A second handler (TCP, gRPC) would be merged beside the
  preset's HTTP GET and make the pod invalid, so only HTTP GET is offered;
- ``resources``: CPU, memory and ephemeral storage (the accelerators follow from ``parallelism``);
- ``runAsUser``: the user id, for an image whose own user is root (the presets set
  ``runAsNonRoot: true``, which a root image fails at start).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..core import catalog

from .base import ConfigModel, Finding
from .containers import EnvValue, QuantitiesConfig, rendered_env
from .values import ENV_NAME, checked_image, checked_memory

#: The port KServe's LLM presets serve vLLM on (config-llm-template ``containerPort``).
LLM_PORT = 8000


def extended_resource_refusal(name: str) -> str:
    """Why a container of an LLM endpoint may not request the extended resource ``name`` itself."""
    kind = catalog.kind_of_resource(name)
    if kind is not None:
        return (f"is {catalog.ACCELERATORS[kind].a_title} resource, which follows from the pool and parallelism "
                "(tensor x dataLocal per pod); set those instead")
    offered = ", ".join(r for a in catalog.ACCELERATORS.values() for r in a.resource_names)
    reason = EXTENDED_RESOURCE_REASONS.get(name.split("/", 1)[0], "is no accelerator of servestack's EC2 pools")
    return f"{reason} (pools offer {offered})"


#: Why EC2 offers no node for a vendor's extended resource (by its domain).
EXTENDED_RESOURCE_REASONS = {
    "amd.com": "EC2 offers no AMD Instinct GPUs, which KServe's ROCm image (llm-d-rocm) serves on",
    "rdma": "EC2 offers no RoCE NICs; RDMA between EC2 nodes is EFA",
}


class LlmQuantities(QuantitiesConfig):
    """CPU, memory and ephemeral storage of one container (requests or limits)."""

    ephemeral_storage: str | None = None
    """Node-local disk (``800Gi``): downloaded weights, compilation caches. Default: none."""

    @model_validator(mode="before")
    @classmethod
    def _extended_resources(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "ephemeral-storage" in data and "ephemeralStorage" not in data:  # Kubernetes' own spelling
            data["ephemeralStorage"] = data.pop("ephemeral-storage")
        for key in sorted(k for k in data if isinstance(k, str) and "/" in k):
            raise ValueError(f"{key}: {extended_resource_refusal(key)}")
        return data

    @field_validator("ephemeral_storage")
    @classmethod
    def _storage(cls, value: str | None) -> str | None:
        return checked_memory(value)  # the same quantity syntax as memory

    def as_dict(self) -> dict[str, str]:
        quantities = super().as_dict()
        if self.ephemeral_storage is not None:
            quantities["ephemeral-storage"] = self.ephemeral_storage
        return quantities


class LlmResources(ConfigModel):
    """Requests and limits of the vLLM container; its accelerators come from ``parallelism``."""

    requests: LlmQuantities = LlmQuantities(cpu="4", memory="16Gi")
    """What the scheduler reserves. Default ``cpu: 4, memory: 16Gi``."""
    limits: LlmQuantities = LlmQuantities(cpu="8", memory="32Gi")
    """The most the container may use. Default ``cpu: 8, memory: 32Gi``."""

    def problems(self) -> list[Finding]:
        from .values import cpu_millis, memory_bytes

        found = []
        for name, amount in (("cpu", cpu_millis), ("memory", memory_bytes), ("ephemeral_storage", memory_bytes)):
            low, high = getattr(self.requests, name), getattr(self.limits, name)
            alias = LlmQuantities.model_fields[name].alias or name
            if low and high and amount(low) > amount(high):
                found.append(Finding(("requests", alias), f"must not exceed limits.{alias} ({high})", low))
        return found


class LlmProbe(ConfigModel):
    """A change to one of the preset's HTTP GET probes of ``/health`` on port 8000."""

    http_path: str | None = Field(default=None, pattern=r"^/[^\s]*$")
    """The path probed. Default: the preset's ``/health``."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """The port probed. Default: the preset's 8000."""
    scheme: Literal["HTTP", "HTTPS"] | None = None
    """HTTP or HTTPS. Default: the preset's (HTTPS when KServe serves the pods with TLS)."""
    initial_delay_seconds: int | None = Field(default=None, ge=0, le=86400)
    """Seconds before the first probe (large models load for minutes). Default: the preset's."""
    period_seconds: int | None = Field(default=None, ge=1, le=3600)
    """Seconds between probes. Default: the preset's."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=3600)
    """Seconds a probe may take. Default: the preset's."""
    failure_threshold: int | None = Field(default=None, ge=1, le=10000)
    """Failures in a row that count as failed. Default: the preset's."""
    success_threshold: int | None = Field(default=None, ge=1, le=1000)
    """Successes in a row that count as passed (1 for liveness and startup probes). Default: the preset's."""

    def render(self) -> dict[str, object]:
        probe: dict[str, object] = {}
        http = {k: v for k, v in (("path", self.http_path), ("port", self.port), ("scheme", self.scheme)) if v is not None}
        if http:
            probe["httpGet"] = http
        for name in ("initial_delay_seconds", "period_seconds", "timeout_seconds", "failure_threshold", "success_threshold"):
            value = getattr(self, name)
            if value is not None:
                probe[type(self).model_fields[name].alias or name] = value
        return probe


LLM_PROBES = ("liveness_probe", "readiness_probe", "startup_probe")

#: vLLM flags KServe's presets pass themselves (config-llm-template and the data-parallel presets).
PRESET_OWNED_ARGS = frozenset({
    "--served-model-name", "--tensor-parallel-size", "--data-parallel-size", "--data-parallel-size-local",
    "--data-parallel-address", "--data-parallel-rpc-port", "--data-parallel-start-rank", "--port", "--model",
    "--enable-expert-parallel",
})


class LlmContainerSettings(ConfigModel):
    """Overrides of the preset's ``main`` container (see the module's docstring)."""

    image: str | None = None
    """The vLLM image, pinned by a version tag or digest. Default: the preset's (``ghcr.io/llm-d/llm-d-cuda``,
    NVIDIA only); required on CPU and Neuron pools."""
    command: list[str] = []
    """Replaces the preset's launcher (which runs ``vllm serve`` with the model, its name and the parallelism
    flags). Default: the preset's."""
    args: list[str] = []
    """Extra vLLM arguments (``--max-model-len=8192``), or with ``command`` the command's arguments. Default: none."""
    env: dict[str, EnvValue] = {}
    """Environment variables: a plain value, ``{secretKeyRef: {name, key}}`` or ``{fieldRef: {fieldPath}}``.
    Secrets only by reference. Default: none."""
    liveness_probe: LlmProbe | None = None
    """Changes to the preset's liveness probe. Default: the preset's."""
    readiness_probe: LlmProbe | None = None
    """Changes to the preset's readiness probe. Default: the preset's."""
    startup_probe: LlmProbe | None = None
    """Changes to the preset's startup probe. Default: the preset's."""
    resources: LlmResources = LlmResources()
    """CPU, memory and ephemeral storage per pod; the accelerators come from ``parallelism``.
    Default ``cpu 4/8, memory 16Gi/32Gi``."""
    run_as_user: int | None = Field(default=None, ge=1, le=2147483647)
    """The user id the container runs as, for an image whose own user is root (KServe's CPU vLLM image):
    the preset requires a non-root user. Never 0. Default: the image's."""

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str | None) -> str | None:
        return None if image is None else checked_image(image)

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict) -> dict:
        bad = sorted(k for k in env if not ENV_NAME.match(k))
        if bad:
            raise ValueError(f"must use environment variable names of letters, digits and _; not: {', '.join(bad)}")
        return env

    def problems(self) -> list[Finding]:
        found = []
        owned = sorted({a.split("=", 1)[0] for a in self.args if a.split("=", 1)[0] in PRESET_OWNED_ARGS})
        if owned and not self.command:
            found.append(Finding(("args",), f"must not set {', '.join(owned)}: KServe's preset passes it from model and "
                                 "parallelism (unless command replaces the preset's launcher)", self.args))
        s3 = [a for a in self.args if "s3://" in a.lower()]
        if s3:
            found.append(Finding(("args",), f"must not name an s3:// location ({s3[0]}): vLLM reads model.uri, which "
                                 "KServe downloads", self.args))
        # A credential in a plain env value (or anywhere else) is found by the config's secret scan
        # (components/config/secrets.py), over every string of the stack.
        for name in ("liveness_probe", "startup_probe"):
            probe = getattr(self, name)
            if probe is not None and probe.success_threshold not in (None, 1):
                alias = type(self).model_fields[name].alias
                found.append(Finding((alias, "successThreshold"), "must be 1 for a liveness or startup probe (Kubernetes)",
                                     probe.success_threshold))
        return found

    def render_into(self, body: dict) -> dict:
        """Add the overrides (as Kubernetes spells them) to the ``main`` container ``body``."""
        if self.image is not None:
            body["image"] = self.image
        if self.command:
            body["command"] = list(self.command)
        if self.args:
            body["args"] = list(self.args)
        if self.env:
            body["env"] = rendered_env(self.env)
        for name in LLM_PROBES:
            probe = getattr(self, name)
            if probe is not None:
                body[type(self).model_fields[name].alias] = probe.render()
        if self.run_as_user is not None:
            body["securityContext"] = {"runAsUser": self.run_as_user}
        return body

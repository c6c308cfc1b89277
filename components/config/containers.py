"""What every container of an endpoint may say: resources, command and args, environment, ports and
probes. Shared by the predictor's model (format models and custom containers), the transformer and
the explainer (:mod:`.endpoints`), and by custom serving runtimes (:mod:`.runtimes`).

Environment values are plain text or a reference (``secretKeyRef``: a key of a Kubernetes Secret;
``fieldRef``: a field of the pod). A secret value never belongs in stack config: it would be written
into the InferenceService, which anyone who may read the namespace reads. So a Pulumi secret
(``secure:``) is refused, and so is a plain value that looks like a credential: every string of the
config is scanned for them (:mod:`.secrets`, with detect-secrets); reference it instead.

Ports: ``port`` is the HTTP port, ``grpcPort`` the gRPC port, rendered as KServe's gRPC port (named
``h2c``, what KServe and Knative read as HTTP/2 cleartext). Knative serves one port per container,
so a Knative-mode endpoint may set only one of them (:mod:`.endpoint_fit`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from ..core.resources import DEFAULT_LIMITS, DEFAULT_REQUESTS
from .base import ConfigModel, Finding
from .values import ENV_NAME, checked_cpu, checked_image, checked_memory, cpu_millis, memory_bytes

#: KServe's default HTTP port of a serving container (when the container declares none).
KSERVE_DEFAULT_PORT = 8080
#: The container port name by which KServe and Knative serve gRPC (HTTP/2 cleartext).
GRPC_PORT_NAME = "h2c"



class QuantitiesConfig(ConfigModel):
    """CPU and memory of one container (requests or limits)."""

    cpu: str | None = None
    """CPU as a Kubernetes quantity (``500m``, ``2``). Default: none."""
    memory: str | None = None
    """Memory as a Kubernetes quantity (``512Mi``, ``4Gi``). Default: none."""

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str | None) -> str | None:
        return checked_cpu(value)

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        return checked_memory(value)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("cpu", self.cpu), ("memory", self.memory)) if v is not None}


class ResourcesConfig(ConfigModel):
    """Requests and limits of a container. Accelerators are not set here (see ``accelerators``)."""

    requests: QuantitiesConfig = QuantitiesConfig(**DEFAULT_REQUESTS)
    """What the scheduler reserves. Default ``cpu: 500m, memory: 1Gi``."""
    limits: QuantitiesConfig = QuantitiesConfig(**DEFAULT_LIMITS)
    """The most the container may use. Default ``cpu: 1, memory: 2Gi``."""

    def problems(self) -> list[Finding]:
        found = []
        if self.requests.cpu and self.limits.cpu and cpu_millis(self.requests.cpu) > cpu_millis(self.limits.cpu):
            found.append(Finding(("requests", "cpu"), f"must not exceed limits.cpu ({self.limits.cpu})", self.requests.cpu))
        if self.requests.memory and self.limits.memory and memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            found.append(Finding(("requests", "memory"), f"must not exceed limits.memory ({self.limits.memory})", self.requests.memory))
        return found


class SecretKeyRef(ConfigModel):
    """A key of a Kubernetes Secret in the endpoint's namespace."""

    name: str = Field(pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
    """The Secret's name. Required."""
    key: str = Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")
    """The key inside the Secret. Required."""
    optional: bool = False
    """Start the container even when the Secret or key is missing. Default false."""


class FieldRef(ConfigModel):
    """A field of the pod (the Kubernetes downward API)."""

    field_path: Literal["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                        "spec.serviceAccountName", "status.hostIP", "status.podIP"]
    """The field (``metadata.name``, ``metadata.namespace``, ``metadata.uid``, ``spec.nodeName``,
    ``spec.serviceAccountName``, ``status.hostIP``, ``status.podIP``). Required."""


class EnvSource(ConfigModel):
    """An environment value read at run time: exactly one of ``secretKeyRef`` or ``fieldRef``."""

    secret_key_ref: SecretKeyRef | None = None
    """A key of a Kubernetes Secret. Default: none."""
    field_ref: FieldRef | None = None
    """A field of the pod. Default: none."""

    @model_validator(mode="before")
    @classmethod
    def _no_pulumi_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and "secure" in data:
            raise ValueError("is a Pulumi secret (secure:); a secret value would be written into the InferenceService "
                             "in clear: put it in a Kubernetes Secret and reference it with secretKeyRef: {name, key}")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> "EnvSource":
        if (self.secret_key_ref is None) == (self.field_ref is None):
            raise ValueError("must set exactly one of secretKeyRef or fieldRef")
        return self

    def render(self) -> dict[str, Any]:
        if self.secret_key_ref is not None:
            ref: dict[str, Any] = {"name": self.secret_key_ref.name, "key": self.secret_key_ref.key}
            if self.secret_key_ref.optional:
                ref["optional"] = True
            return {"secretKeyRef": ref}
        return {"fieldRef": {"fieldPath": self.field_ref.field_path}}


class ProbeConfig(ConfigModel):
    """A Kubernetes probe: exactly one of ``httpPath`` (HTTP GET), ``tcp`` or ``grpc``, on ``port``."""

    port: int = Field(ge=1, le=65535)
    """The port probed; one the container exposes (its ``port``/``grpcPort``, or KServe's 8080 when it
    declares none). Required."""
    http_path: str | None = Field(default=None, pattern=r"^/[^\s]*$")
    """HTTP GET this path (``/v2/health/ready``). Default: none."""
    tcp: bool = False
    """Open a TCP connection. Default false."""
    grpc: bool = False
    """Call the gRPC health service. Default false."""
    initial_delay_seconds: int | None = Field(default=None, ge=0, le=3600)
    """Seconds before the first probe. Default: Kubernetes' (0)."""
    period_seconds: int | None = Field(default=None, ge=1, le=3600)
    """Seconds between probes. Default: Kubernetes' (10)."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=3600)
    """Seconds a probe may take. Default: Kubernetes' (1)."""
    failure_threshold: int | None = Field(default=None, ge=1, le=1000)
    """Failures in a row that count as failed. Default: Kubernetes' (3)."""
    success_threshold: int | None = Field(default=None, ge=1, le=1000)
    """Successes in a row that count as passed (must be 1 for liveness and startup probes). Default: Kubernetes' (1)."""

    @model_validator(mode="after")
    def _one_handler(self) -> "ProbeConfig":
        if sum((self.http_path is not None, self.tcp, self.grpc)) != 1:
            raise ValueError("must set exactly one of httpPath, tcp: true or grpc: true")
        return self

    def render(self) -> dict[str, Any]:
        if self.http_path is not None:
            probe: dict[str, Any] = {"httpGet": {"path": self.http_path, "port": self.port}}
        elif self.tcp:
            probe = {"tcpSocket": {"port": self.port}}
        else:
            probe = {"grpc": {"port": self.port}}
        for name in ("initial_delay_seconds", "period_seconds", "timeout_seconds", "failure_threshold", "success_threshold"):
            value = getattr(self, name)
            if value is not None:
                probe[type(self).model_fields[name].alias] = value
        return probe


#: An environment value: text, or a reference. The discriminator keeps a bad reference from also being
#: reported as "must be a string" (its tags, bracketed, are dropped from problem paths like pydantic's).
EnvValue = Annotated[Union[Annotated[str, Tag("env[value]")], Annotated[EnvSource, Tag("env[valueFrom]")]],
                     Discriminator(lambda v: "env[valueFrom]" if isinstance(v, dict) else "env[value]")]

PROBES = ("readiness_probe", "liveness_probe", "startup_probe")


class ServerSettings(ConfigModel):
    """How a serving container is run: what a custom container and a format model (whose container
    the runtime provides and KServe merges these into) both accept."""

    command: list[str] = []
    """The entrypoint, replacing the image's (or the runtime's). Default: none (the image's own)."""
    args: list[str] = []
    """Arguments. With a format model they are appended to the runtime's own (``--max-model-len=4096``).
    Default: none."""
    env: dict[str, EnvValue] = {}
    """Environment variables: a plain value, or ``{secretKeyRef: {name, key}}`` / ``{fieldRef: {fieldPath}}``.
    Secrets only by reference (see the module's docstring). Default: none."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """The HTTP port the server listens on. Default: none (KServe's 8080)."""
    grpc_port: int | None = Field(default=None, ge=1, le=65535)
    """The gRPC port the server listens on (rendered as KServe's ``h2c`` port). Default: none."""
    readiness_probe: ProbeConfig | None = None
    """When the container takes traffic. Default: KServe's."""
    liveness_probe: ProbeConfig | None = None
    """When the container is restarted. Default: none."""
    startup_probe: ProbeConfig | None = None
    """How long the container may take to start (large models). Default: none."""

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, Any]) -> dict[str, Any]:
        bad = sorted(k for k in env if not ENV_NAME.match(k))
        if bad:
            raise ValueError(f"must use environment variable names of letters, digits and _; not: {', '.join(bad)}")
        return env

    def plain_env(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if isinstance(v, str)}

    def exposed_ports(self) -> list[int]:
        """The ports the container serves on: its own, else KServe's default."""
        return [p for p in (self.port, self.grpc_port) if p is not None] or [KSERVE_DEFAULT_PORT]

    def problems(self) -> list[Finding]:
        found = []
        if self.port is not None and self.port == self.grpc_port:
            found.append(Finding(("grpcPort",), "must differ from port (one port speaks HTTP/1, the other gRPC)", self.grpc_port))
        exposed = self.exposed_ports()
        for name in PROBES:
            probe = getattr(self, name)
            if probe is None:
                continue
            alias = type(self).model_fields[name].alias
            if probe.port not in exposed:
                found.append(Finding((alias, "port"), f"is not a port the container exposes ({', '.join(map(str, exposed))})",
                                     probe.port))
            if probe.grpc and probe.port != self.grpc_port:
                found.append(Finding((alias, "grpc"), "probes gRPC, so its port must be the container's grpcPort "
                                     f"({self.grpc_port or 'not set'})", probe.port))
            if name != "readiness_probe" and probe.success_threshold not in (None, 1):
                found.append(Finding((alias, "successThreshold"), "must be 1 for a liveness or startup probe (Kubernetes)",
                                     probe.success_threshold))
        return found

    def render_into(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add command, args, env, ports and probes (as Kubernetes spells them) to a container ``body``."""
        if self.command:
            body["command"] = list(self.command)
        if self.args:
            body["args"] = list(self.args)
        if self.env:
            body["env"] = rendered_env(self.env)
        ports = []
        if self.port is not None:
            ports.append({"containerPort": self.port, "protocol": "TCP"})
        if self.grpc_port is not None:
            ports.append({"name": GRPC_PORT_NAME, "containerPort": self.grpc_port, "protocol": "TCP"})
        if ports:
            body["ports"] = ports
        for name in PROBES:
            probe = getattr(self, name)
            if probe is not None:
                body[type(self).model_fields[name].alias] = probe.render()
        return body


def rendered_env(env: dict[str, Any]) -> list[dict[str, Any]]:
    """A container's env as Kubernetes spells it, by name: plain values, and references as ``valueFrom``."""
    return [{"name": k, "value": v} if isinstance(v, str) else {"name": k, "valueFrom": v.render()}
            for k, v in sorted(env.items())]


class ContainerConfig(ServerSettings):
    """A container servestack runs for the endpoint (custom predictor, transformer, explainer)."""

    image: str
    """Image pinned by a version tag or a digest; never ``latest`` or untagged. Required."""

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        return checked_image(image)

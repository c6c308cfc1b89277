"""The Kubernetes Pod Security Standards over every pod template of a plan, whatever object carries it.

One rule, ``pod-security-standards``, applies the "restricted" profile (or "baseline", by setting)
to every pod :func:`plandoc.pods.pod_specs` finds: InferenceService components, LLMInferenceService
templates, serving runtimes, DaemonSets, Deployments, StatefulSets, Jobs, CronJobs, Pods,
LeaderWorkerSets, any object with a pod template, and the pod settings written in Helm values.
An object may waive named checks for its pods only with the annotation
``servestack.io/pod-security-exceptions``: a JSON object of check -> reason (the FPGA device plugin's
DaemonSet waives ``hostPath`` and ``runAsNonRoot`` that way). It replaces ``model-pod-no-host-access``
and ``model-pod-security-context`` (which looked only at InferenceServices); a policy config that still
names them configures this rule (:data:`policies.rules.model.RENAMED`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from components.core.pod_security import (ALLOWED_ADDED_CAPABILITIES, APPARMOR_TYPES, CONFINING_SECCOMP,
                                          EXCEPTIONS_ANNOTATION, PROC_MOUNTS, PSS_CHECKS, RESTRICTED_VOLUME_TYPES,
                                          SAFE_SYSCTLS, SELINUX_TYPES)
from plandoc.document import Resource
from plandoc.pods import PodSpec, pod_specs
from plandoc.values import is_unknown, items, mapping, truthy

from .model import Context, Rule

#: Checks only the restricted profile has (baseline leaves them to the workload).
RESTRICTED_ONLY = frozenset({"allowPrivilegeEscalation", "runAsNonRoot", "runAsUser", "seccomp", "volumeTypes"})
#: The one capabilities finding only the restricted profile has.
DROP_ALL = "does not drop ALL"
#: Why each check exists, as the messages say it.
WHY = {
    "privileged": "a privileged container is root on the node, with every device",
    "hostNamespaces": "the node's network, process or IPC namespace exposes every other pod on the node",
    "hostPath": "a host path reaches the node's files (the kubelet's credentials, other pods' volumes)",
    "hostPorts": "a host port binds the node's own address, outside the pod network's policies",
    "hostProcess": "a Windows host process runs as the node",
    "capabilities": f"allowed: drop ALL and add at most {', '.join(ALLOWED_ADDED_CAPABILITIES)}; capabilities are root's powers",
    "allowPrivilegeEscalation": "required: false, so that no process (setuid binaries) gains more privileges than it starts with",
    "runAsNonRoot": "required: true (on the pod or every container), so that the kubelet refuses an image that runs as root",
    "runAsUser": "UID 0 is root, whatever runAsNonRoot says",
    "seccomp": f"required: {' or '.join(CONFINING_SECCOMP)} (on the pod or every container), so that the system calls "
               "container escapes use are blocked",
    "appArmor": f"allowed: {', '.join(APPARMOR_TYPES)}",
    "seLinux": f"allowed: type {', '.join(SELINUX_TYPES)}, no user or role",
    "procMount": f"allowed: {', '.join(PROC_MOUNTS)}, which masks the node's /proc",
    "sysctls": f"allowed: {', '.join(SAFE_SYSCTLS)}; other sysctls change the node's kernel for every pod",
    "volumeTypes": f"allowed: {', '.join(RESTRICTED_VOLUME_TYPES)}",
}


def _exceptions(spec: PodSpec) -> tuple[dict[str, str], list[str]]:
    """(check -> reason) the object documents, and what is wrong with the annotation (then nothing is waived)."""
    raw = spec.annotations.get(EXCEPTIONS_ANNOTATION)
    if raw is None:
        return {}, []
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, Mapping):
        return {}, [f"metadata.annotations.{EXCEPTIONS_ANNOTATION} is not a JSON object of check -> reason; "
                    "no check is waived"]
    problems = [f"metadata.annotations.{EXCEPTIONS_ANNOTATION} names {check!r}, which is not a check "
                f"({', '.join(PSS_CHECKS)}); no check is waived" for check in document if check not in PSS_CHECKS]
    problems += [f"metadata.annotations.{EXCEPTIONS_ANNOTATION} waives {check} without a reason; required: why this "
                 "workload cannot run without it; no check is waived"
                 for check, why in document.items() if check in PSS_CHECKS and not (isinstance(why, str) and why.strip())]
    return ({}, problems) if problems else ({str(k): str(v) for k, v in document.items()}, [])


def _pod_findings(spec: PodSpec) -> Iterator[tuple[str, str]]:
    """(check, what was found) over the pod-level fields."""
    pod, where = spec.spec, spec.where
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if truthy(pod.get(field)):
            yield "hostNamespaces", f"{where}.{field} is true"
    for i, volume in enumerate(items(pod.get("volumes"))):
        volume = mapping(volume)
        kinds = sorted(k for k in volume if k != "name")
        if "hostPath" in kinds:
            yield "hostPath", (f"{where}.volumes[{i}] ({volume.get('name', '')}) mounts the node's "
                               f"{mapping(volume.get('hostPath')).get('path', '?')}")
        elif kinds and not set(kinds) <= set(RESTRICTED_VOLUME_TYPES):
            yield "volumeTypes", f"{where}.volumes[{i}] ({volume.get('name', '')}) is of type {', '.join(kinds)}"
    context = mapping(pod.get("securityContext"))
    unsafe = [s.get("name") for s in map(mapping, items(context.get("sysctls"))) if s.get("name") not in SAFE_SYSCTLS]
    if unsafe:
        yield "sysctls", f"{where}.securityContext.sysctls sets {', '.join(map(str, unsafe))}"
    yield from _context_findings(f"{where}.securityContext", context)


def _context_findings(path: str, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(check, found) over what a pod's or container's securityContext sets, explicitly."""
    if truthy(mapping(context.get("windowsOptions")).get("hostProcess")):
        yield "hostProcess", f"{path}.windowsOptions.hostProcess is true"
    if context.get("runAsUser") == 0:
        yield "runAsUser", f"{path}.runAsUser is 0"
    if truthy(context.get("runAsNonRoot")) is False:
        yield "runAsNonRoot", f"{path}.runAsNonRoot is false"
    seccomp = mapping(context.get("seccompProfile")).get("type")
    if seccomp is not None and seccomp not in CONFINING_SECCOMP and not is_unknown(seccomp):
        yield "seccomp", f"{path}.seccompProfile.type is {seccomp}"
    apparmor = mapping(context.get("appArmorProfile")).get("type")
    if apparmor is not None and apparmor not in APPARMOR_TYPES:
        yield "appArmor", f"{path}.appArmorProfile.type is {apparmor}"
    selinux = mapping(context.get("seLinuxOptions"))
    if selinux.get("type") not in (None, "", *SELINUX_TYPES) or selinux.get("user") or selinux.get("role"):
        shown = ", ".join(f"{k} {v}" for k, v in sorted(selinux.items()) if k in ("type", "user", "role"))
        yield "seLinux", f"{path}.seLinuxOptions sets {shown}"


def _explicit_findings(where: str, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(check, found) over what a container's securityContext sets (``where`` is its path)."""
    if truthy(context.get("privileged")):
        yield "privileged", f"{where}.privileged is true"
    added = [c for c in items(mapping(context.get("capabilities")).get("add")) if c not in ALLOWED_ADDED_CAPABILITIES]
    if added:
        yield "capabilities", f"{where}.capabilities.add has {', '.join(map(str, added))}"
    if truthy(context.get("allowPrivilegeEscalation")) is True:
        yield "allowPrivilegeEscalation", f"{where}.allowPrivilegeEscalation is true"
    if context.get("procMount") not in (None, *PROC_MOUNTS):
        yield "procMount", f"{where}.procMount is {context.get('procMount')}"
    unsafe = [s.get("name") for s in map(mapping, items(context.get("sysctls"))) if s.get("name") not in SAFE_SYSCTLS]
    if unsafe:
        yield "sysctls", f"{where}.sysctls sets {', '.join(map(str, unsafe))}"
    yield from _context_findings(where, context)


def _container_findings(path: str, container: Mapping[str, Any], pod: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    context = mapping(container.get("securityContext"))
    pod_context = mapping(pod.get("securityContext"))
    where = f"{path}.securityContext"
    yield from _explicit_findings(where, context)
    drop = mapping(context.get("capabilities")).get("drop")
    if "ALL" not in items(drop) and not is_unknown(drop):
        yield "capabilities", f"{where}.capabilities.drop {DROP_ALL}"
    if context.get("allowPrivilegeEscalation") is None:
        yield "allowPrivilegeEscalation", f"{where}.allowPrivilegeEscalation is unset (true)"
    for i, port in enumerate(items(container.get("ports"))):
        host_port = mapping(port).get("hostPort")
        if host_port not in (None, 0):
            yield "hostPorts", f"{path}.ports[{i}].hostPort is {host_port}"
    if context.get("runAsNonRoot") is None and truthy(pod_context.get("runAsNonRoot")) is not True:
        yield "runAsNonRoot", f"{where}.runAsNonRoot is unset (nor true for the pod)"
    if mapping(context.get("seccompProfile")).get("type") is None and mapping(pod_context.get("seccompProfile")).get("type") is None:
        yield "seccomp", f"{where}.seccompProfile is unset (nor set for the pod: Unconfined)"


def _values_findings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(check, found) over Helm values: whatever they set, at any depth, under the names charts use
    (``securityContext``, ``podSecurityContext``, ``containerSecurityContext``, ``hostNetwork``, ``hostPath``...)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _values_findings(item, f"{path}[{i}]")
        return
    if not isinstance(value, Mapping):
        return
    for key, item in value.items():
        here = f"{path}.{key}"
        if key in ("hostNetwork", "hostPID", "hostIPC") and truthy(item):
            yield "hostNamespaces", f"{here} is true"
        elif key == "hostPath" and isinstance(item, (Mapping, str)):
            yield "hostPath", f"{here} mounts the node's {mapping(item).get('path', '?') if isinstance(item, Mapping) else item}"
        elif key == "hostPort" and item not in (None, 0):
            yield "hostPorts", f"{here} is {item}"
        elif str(key).lower().endswith("securitycontext") and isinstance(item, Mapping):
            yield from _explicit_findings(here, item)
        else:
            yield from _values_findings(item, here)


def findings(spec: PodSpec) -> list[tuple[str, str]]:
    """(check, what was found) of one pod template, every check of the restricted profile."""
    if not spec.complete:
        return sorted(set(_values_findings(spec.spec, spec.where)))
    found = list(_pod_findings(spec))
    for path, container in spec.containers:
        found += _container_findings(path, container, spec.spec)
    return sorted(set(found))


def pod_security_standards(resources: list[Resource], ctx: Context) -> Iterable[tuple[str, str]]:
    restricted = ctx["profile"] == "restricted"
    for resource in resources:
        for spec in pod_specs(resource):
            waived, problems = _exceptions(spec)
            for problem in problems:
                yield resource["urn"], problem
            for check, found in findings(spec):
                if check in waived or (not restricted and (check in RESTRICTED_ONLY or found.endswith(DROP_ALL))):
                    continue
                yield resource["urn"], f"{found}; pod security {check}: {WHY[check]}"


RULES = [
    Rule("pod-security-standards", "security",
         "Every pod template (InferenceService, LLMInferenceService, serving runtime, workload, Helm values) meets the "
         "Kubernetes Pod Security Standards' restricted profile; exceptions only by a reasoned annotation.",
         "mandatory", pod_security_standards,
         settings={"profile": {"type": "string", "enum": ["restricted", "baseline"], "default": "restricted",
                               "description": "The Pod Security Standard applied: restricted (default) or baseline."}}),
]

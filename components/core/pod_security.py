"""The security context servestack renders on every container of a model endpoint (pure).

KServe's built-in runtimes (``kserve-runtime-configs`` v0.20.0) already run their servers with
``allowPrivilegeEscalation: false``, ``privileged: false``, ``runAsNonRoot: true`` and all
capabilities dropped, but no seccomp profile, and custom containers (a predictor's, a
transformer's, an explainer's) get nothing from a runtime. servestack states the whole context on
each container it declares, so the pod KServe creates is the one the plan shows:

- every container: no privilege escalation, not privileged, every capability dropped, the
  container runtime's default seccomp profile;
- a model served by a runtime (``predictor.model``): also ``runAsNonRoot: true``, which every
  built-in runtime image allows (KServe sets it itself). A custom image's user is the image's
  business: servestack does not know that it can run as non-root, so it does not claim it.
"""

from __future__ import annotations

from typing import Any

#: What KServe's built-in runtimes set on their container (config/runtimes/*.yaml at v0.20.0); the
#: runtimes servestack installs say the same, so a runtime image that needs root fails loudly.
RUNTIME_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "runAsNonRoot": True,
}
#: Seccomp profile types that confine a container (``Unconfined`` does not).
CONFINING_SECCOMP = ("RuntimeDefault", "Localhost")
#: The only capability a model server may add (binding a port below 1024).
ALLOWED_ADDED_CAPABILITIES = ("NET_BIND_SERVICE",)


def container_security_context(non_root: bool) -> dict[str, Any]:
    """The ``securityContext`` of one container; ``non_root`` where the image is known to allow it."""
    context: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
    }
    if non_root:
        context["runAsNonRoot"] = True
    context["seccompProfile"] = {"type": "RuntimeDefault"}
    return context

"""The security context servestack renders on every container of a model endpoint (pure).

KServe's built-in runtimes (``kserve-runtime-configs`` v0.20.0) already run their servers with
``allowPrivilegeEscalation: false``, ``privileged: false``, ``runAsNonRoot: true`` and all
capabilities dropped, but no seccomp profile, and custom containers (a predictor's, a
transformer's, an explainer's) get nothing from a runtime. servestack states the whole context on
each container it declares, so the pod KServe creates is the one the plan shows:

- every container: no privilege escalation, not privileged, every capability dropped, the
  container runtime's default seccomp profile, and ``runAsNonRoot: true``: the Kubernetes Pod
  Security Standards' "restricted" profile, which the policy pack's ``pod-security-standards``
  applies to every pod template of a plan. Every built-in runtime image runs as non-root (KServe
  sets it itself); a custom image (a predictor's, transformer's, explainer's container, a runtime
  of your own) must run as a non-root numeric user, or the kubelet refuses to start it.

The profile's lists below are Kubernetes facts, from the Pod Security Standards page
(kubernetes.io/docs/concepts/security/pod-security-standards, Kubernetes v1.33) and the checks of
``k8s.io/pod-security-admission`` (``policy/check_*.go``) that enforce it.
"""

from __future__ import annotations

from typing import Any

#: Seccomp profile types that confine a container (``Unconfined`` does not).
CONFINING_SECCOMP = ("RuntimeDefault", "Localhost")
#: The only capability a container may add under "restricted" (binding a port below 1024).
ALLOWED_ADDED_CAPABILITIES = ("NET_BIND_SERVICE",)
#: Volume types "restricted" allows (check_restrictedVolumes.go); every other one (hostPath, nfs,
#: awsElasticBlockStore...) reaches storage outside the pod's own.
RESTRICTED_VOLUME_TYPES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret")
#: Sysctls "baseline" allows (check_sysctls.go, up to the v1.29 additions): namespaced, isolated per pod.
SAFE_SYSCTLS = ("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes")
#: SELinux types "baseline" allows (check_seLinuxOptions.go); user and role must stay unset.
SELINUX_TYPES = ("container_t", "container_init_t", "container_kvm_t", "container_engine_t")
#: procMount values "baseline" allows (check_procMount.go).
PROC_MOUNTS = ("Default",)
#: AppArmor profile types "baseline" allows (check_appArmorProfile.go).
APPARMOR_TYPES = ("RuntimeDefault", "Localhost")
#: Object annotation that waives checks of the profile for one object's pods, each with its reason:
#: a JSON object ``{"<check>": "<why>"}`` (checks: :data:`PSS_CHECKS`).
EXCEPTIONS_ANNOTATION = "servestack.io/pod-security-exceptions"
#: The checks of the profile, as the exceptions annotation and the rule's messages name them.
PSS_CHECKS = ("privileged", "hostNamespaces", "hostPath", "hostPorts", "hostProcess", "capabilities",
              "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser", "seccomp", "appArmor", "seLinux", "procMount",
              "sysctls", "volumeTypes")


def container_security_context(non_root: bool = True) -> dict[str, Any]:
    """The ``securityContext`` of one container (``non_root=False`` only for a pod that documents an exception)."""
    context: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
    }
    if non_root:
        context["runAsNonRoot"] = True
    context["seccompProfile"] = {"type": "RuntimeDefault"}
    return context


#: The context of a runtime's server container (``servestack:servingRuntimes``): what KServe's built-in runtimes
#: set (config/runtimes/*.yaml at v0.20.0) and the seccomp profile of the restricted profile.
RUNTIME_SECURITY_CONTEXT: dict[str, Any] = container_security_context()

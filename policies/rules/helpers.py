"""What several policy rules judge alike: open CIDRs, tolerations against taints, mutable model URIs.

Pure helpers over plain values (the rule framework is :mod:`.model`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from components.core.placement import EKS_TAINT_EFFECTS


def cidr_is_open(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


# The EKS API's spelling of taint effects -> Kubernetes' (the inverse of what node groups are created with).
EKS_TO_K8S_EFFECT = {eks: k8s for k8s, eks in EKS_TAINT_EFFECTS.items()}


def k8s_effect(effect: str | None) -> str | None:
    return EKS_TO_K8S_EFFECT.get(effect, effect) if isinstance(effect, str) else effect


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' ToleratesTaint: key, operator (Equal/Exists), value and effect."""
    effect = toleration.get("effect") or ""
    if effect and effect != k8s_effect(taint.get("effect")):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if not key:
        return operator == "Exists"
    if key != taint.get("key"):
        return False
    if operator == "Exists":
        return True
    return str(toleration.get("value") or "") == str(taint.get("value") or "")


def untolerated(tolerations: Iterable[Mapping[str, Any]], taints: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The taints (that keep pods off: NoSchedule/NoExecute) no toleration tolerates."""
    tolerations = [t for t in tolerations if isinstance(t, Mapping)]
    return [t for t in taints
            if k8s_effect(t.get("effect")) != "PreferNoSchedule" and not any(tolerates(tol, t) for tol in tolerations)]


def show_taint(taint: Mapping[str, Any]) -> str:
    return f"{taint.get('key')}={taint.get('value', '')}:{k8s_effect(taint.get('effect'))}"


def floating_segments(uri: str, mutable: Iterable[str]) -> list[str]:
    """The path segments of a model URI (after its bucket or host) that name a mutable location
    (``latest``, ``current``...), sorted; empty when the URI names none."""
    names = {m.lower() for m in mutable}
    segments = [s for s in re.split(r"[/:@]", re.sub(r"^[a-z0-9]+://", "", uri)) if s]
    return sorted({s for s in segments[1:] if s.lower() in names})


def oci_unpinned(uri: str) -> bool:
    """An ``oci://`` model URI with neither a tag nor a digest."""
    return uri.startswith("oci://") and "@" not in uri and ":" not in uri.rsplit("/", 1)[-1]

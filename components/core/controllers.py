"""Which controller acts on each kind of object servestack renders, and what installs it (pure).

An object the API server accepts but no controller acts on does nothing: an HTTPRoute whose backend
is an InferencePool and no gateway that can route one, an LLMInferenceService without KServe's
llmisvc controller, a NetworkPolicy without a policy engine. Every kind a plan renders, and every
kind the controllers of those objects create from them (the HTTPRoute and its backends KServe makes
from its router-route preset, the LeaderWorkerSet of a multi-node LLM endpoint), names here the
controller that acts on it and the installs that controller needs, each at its pinned version
(:mod:`components.core.versions`). The conformance layer checks every plan against this table, and
fails on a kind that has no row or whose controller the plan (or the platform stack it references)
does not install.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import versions
from .versions import Pinned


@dataclass(frozen=True)
class Controller:
    """A controller and everything that must be installed for it to act."""

    name: str
    installs: tuple[Pinned, ...]
    """Helm charts or release manifests at their pinned versions; empty: part of every EKS cluster."""
    settings: tuple[tuple[str, tuple[str, ...], Any], ...] = ()
    """(install, path, value): a setting that install must have in its Helm values (or, for an EKS add-on,
    its configuration values): the value at ``path`` equals ``value``, or is a list with an entry that
    has every key of ``value`` (Envoy Gateway's ``extensionManager.backendResources``)."""


KUBERNETES = Controller("Kubernetes control plane (EKS)", ())
VPC_CNI_NETWORK_POLICY = Controller(
    "VPC CNI network policy agent (EKS add-on vpc-cni)", (), (("vpc-cni", ("enableNetworkPolicy",), "true"),))
KSERVE = Controller("KServe controller", (versions.KSERVE_CRD, versions.KSERVE_RESOURCES, versions.KSERVE_RUNTIME_CONFIGS))
KSERVE_LLM = Controller("KServe llmisvc controller",
                        (versions.KSERVE_LLMISVC_CRD, versions.KSERVE_LLMISVC_RESOURCES, versions.KSERVE_RUNTIME_CONFIGS))
ENVOY_GATEWAY = Controller("Envoy Gateway", (versions.ENVOY_GATEWAY,))
INFERENCE_POOL_GATEWAY = Controller(
    "Envoy Gateway with Envoy AI Gateway (inference-pool addon)",
    (versions.GATEWAY_API_INFERENCE_EXTENSION, versions.ENVOY_GATEWAY, versions.ENVOY_AI_GATEWAY_CRD,
     versions.ENVOY_AI_GATEWAY),
    ((versions.ENVOY_GATEWAY.name, ("config", "envoyGateway", "extensionManager", "backendResources"),
      {"group": "inference.networking.k8s.io", "kind": "InferencePool"}),))
KARPENTER = Controller("Karpenter", (versions.KARPENTER_CRD, versions.KARPENTER))
LWS = Controller("LeaderWorkerSet controller", (versions.LWS,))
CERT_MANAGER = Controller("cert-manager", (versions.CERT_MANAGER,))
KNATIVE_SERVING = Controller("Knative Serving", (versions.KNATIVE_SERVING,))
KOURIER = Controller("Knative net-kourier", (versions.KNATIVE_NET_KOURIER,))
NET_ISTIO = Controller("Knative net-istio with Istio", (versions.KNATIVE_NET_ISTIO, versions.ISTIO))
KUBEFLOW = Controller("Kubeflow manifests (its Knative, Istio and KServe)", (versions.KUBEFLOW_MANIFESTS,))
PROMETHEUS_OPERATOR = Controller("Prometheus Operator (kube-prometheus-stack)", (versions.KUBE_PROMETHEUS_STACK,))
EBS_CSI = Controller("Amazon EBS CSI driver (EKS add-on aws-ebs-csi-driver, installed with every cluster)", ())

_CORE = ("Namespace", "ServiceAccount", "ConfigMap", "Secret", "Service")

#: (API group, kind) -> the controllers that can act on it (any one suffices).
KIND_CONTROLLERS: dict[tuple[str, str], tuple[Controller, ...]] = {
    **{("", kind): (KUBERNETES,) for kind in _CORE},
    **{("apps", kind): (KUBERNETES,) for kind in ("DaemonSet", "Deployment", "StatefulSet")},
    **{("rbac.authorization.k8s.io", kind): (KUBERNETES,) for kind in ("Role", "RoleBinding", "ClusterRole",
                                                                        "ClusterRoleBinding")},
    ("policy", "PodDisruptionBudget"): (KUBERNETES,),
    ("batch", "Job"): (KUBERNETES,),
    ("networking.k8s.io", "NetworkPolicy"): (VPC_CNI_NETWORK_POLICY,),
    **{("serving.kserve.io", kind): (KSERVE, KUBEFLOW) for kind in ("InferenceService", "ServingRuntime",
                                                                           "ClusterServingRuntime")},
    **{("serving.kserve.io", kind): (KSERVE_LLM,) for kind in ("LLMInferenceService", "LLMInferenceServiceConfig")},
    **{("gateway.networking.k8s.io", kind): (ENVOY_GATEWAY,) for kind in ("GatewayClass", "Gateway", "HTTPRoute")},
    ("inference.networking.k8s.io", "InferencePool"): (INFERENCE_POOL_GATEWAY,),
    ("karpenter.sh", "NodePool"): (KARPENTER,),
    ("karpenter.k8s.aws", "EC2NodeClass"): (KARPENTER,),
    ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"): (LWS,),
    **{("cert-manager.io", kind): (CERT_MANAGER,) for kind in ("Certificate", "Issuer", "ClusterIssuer")},
    ("serving.knative.dev", "Service"): (KNATIVE_SERVING, KUBEFLOW),
    ("networking.internal.knative.dev", "Ingress"): (KOURIER, NET_ISTIO, KUBEFLOW),
    **{("monitoring.coreos.com", kind): (PROMETHEUS_OPERATOR,) for kind in ("PodMonitor", "ServiceMonitor",
                                                                              "PrometheusRule")},
    ("storage.k8s.io", "StorageClass"): (EBS_CSI,),
}


def controllers_for(api_version: str, kind: str) -> tuple[Controller, ...]:
    """The controllers that act on objects of this apiVersion (``group/version`` or ``v1``) and kind."""
    group = api_version.rpartition("/")[0]
    return KIND_CONTROLLERS.get((group, kind), ())

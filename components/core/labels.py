"""The labels and annotations servestack writes on Kubernetes objects, and the syntax of a label value.

Keys servestack writes itself are reserved: a stack may not set them on an endpoint, a pool or a pod
(the config model refuses them by name), so what a reader of a plan finds under them is servestack's.
"""

from __future__ import annotations

from typing import Iterable

#: A Kubernetes label value (model versions are written into labels).
LABEL_VALUE = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
#: Node labels under this prefix come from the accelerator catalog.
RESERVED_LABEL_PREFIX = "servestack.io/"
#: Label every servestack node carries with its accelerator kind; device plugins select on it.
ACCELERATOR_LABEL = "servestack.io/accelerator"
#: Label every servestack node carries with its pool name; endpoints select on it.
POOL_LABEL = "servestack.io/pool"

DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
#: Knative's per-revision start-up deadline (how long a new replica may take to become ready):
#: knative/serving's ``serving.ProgressDeadlineAnnotationKey``, which its revision reconciler turns
#: into the Deployment's ``progressDeadlineSeconds`` (a Go duration such as ``20m``).
PROGRESS_DEADLINE_ANNOTATION = "serving.knative.dev/progress-deadline"
#: KServe's name for the predictor container (what a canary's ``model.name`` must say: the CRD
#: requires a name there, and KServe merges the model into the runtime's container of this name).
KSERVE_CONTAINER = "kserve-container"
#: KServe's name for the predictor container of a custom predictor.
PREDICTOR_CONTAINER = KSERVE_CONTAINER

#: InferenceService labels: static for the life of the endpoint (KServe copies them into pods).
LABEL_ENDPOINT = "servestack.io/endpoint"
LABEL_MODEL = "servestack.io/model"
#: A predictor's label (``spec.predictor.labels``, ``spec.canary[].predictor.labels``): its pods' model version.
LABEL_MODEL_VERSION = "servestack.io/model-version"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
#: KServe's annotation that gives the pods Prometheus annotations for the runtime's metrics port and path.
PROMETHEUS_ANNOTATION = "serving.kserve.io/enable-prometheus-scraping"
#: KServe's annotation for Knative tag routing (``latest-``/``prev-`` URLs of the revisions).
TAG_ROUTING_ANNOTATION = "serving.kserve.io/enable-tag-routing"
#: KServe's annotation naming the Secret with the storage credentials (inferenceservice-config
#: ``credentials.storageSecretNameAnnotation``; over the service account's secrets and ``storage-config``).
STORAGE_SECRET_ANNOTATION = "serving.kserve.io/storageSecretName"
#: Cluster-local visibility: KServe's label in Standard mode (constants.NetworkVisibility, read by its raw
#: ingress/HTTPRoute reconcilers), Knative's label in Knative mode (constants.VisibilityLabel).
VISIBILITY_LABELS = {"Standard": "networking.kserve.io/visibility", "Knative": "networking.knative.dev/visibility"}
#: KServe's name for a transformer collocated in the predictor's pod.
TRANSFORMER_CONTAINER = "transformer-container"
LABEL_COMPONENT = "app.kubernetes.io/component"
#: The environment variable KServe's storage initializer reads a container's model location from.
STORAGE_URI_ENV = "STORAGE_URI"

#: Keys servestack writes on endpoints and their pods, outside the reserved ``servestack.io/`` prefix.
RESERVED_KEYS = frozenset({LABEL_MANAGED_BY})


def reserved_keys(keys: Iterable[str]) -> list[str]:
    """The keys of ``keys`` a stack may not set on an endpoint or its pods: servestack's own (every key
    under ``servestack.io/``, and :data:`RESERVED_KEYS`), sorted."""
    return sorted(k for k in keys if k.startswith(RESERVED_LABEL_PREFIX) or k in RESERVED_KEYS)


def reserved_keys_message(reserved: list[str]) -> str:
    """The refusal of :func:`reserved_keys`' findings, naming them."""
    return (f"must not set {', '.join(reserved)}: servestack writes these keys itself (every key under "
            f"{RESERVED_LABEL_PREFIX}, and {', '.join(sorted(RESERVED_KEYS))})")

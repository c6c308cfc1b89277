"""Labels and annotations a stack puts on an endpoint's pods (InferenceService predictor, transformer
and explainer; LLMInferenceService and its pods): any key a Kubernetes object takes, except the keys
servestack writes itself (:func:`components.core.labels.reserved_keys`), refused by name."""

from __future__ import annotations

import re

from ..core.labels import LABEL_VALUE, reserved_keys, reserved_keys_message
from .base import Finding

#: A label or annotation key: an optional DNS-subdomain prefix and a name.
QUALIFIED_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def metadata_problems(field: str, values: dict[str, str], *, labels: bool) -> list[Finding]:
    """Keys servestack writes itself (named), keys of bad syntax, label values of bad syntax."""
    found = []
    reserved = reserved_keys(values)
    if reserved:
        found.append(Finding((field,), reserved_keys_message(reserved), reserved))
    for key, value in sorted(values.items()):
        if not QUALIFIED_KEY.match(key):
            found.append(Finding((field, key), "must be a Kubernetes label/annotation key ([prefix/]name)", key))
        elif labels and value != "" and not re.fullmatch(LABEL_VALUE, value):
            found.append(Finding((field, key), "must be a label value (63 characters of letters, digits, '-', '_', '.')",
                                 value))
    return found


def pod_metadata_problems(model: object) -> list[Finding]:
    """:func:`metadata_problems` of a model's ``pod_labels`` and ``pod_annotations``."""
    return (metadata_problems("podLabels", getattr(model, "pod_labels"), labels=True)
            + metadata_problems("podAnnotations", getattr(model, "pod_annotations"), labels=False))

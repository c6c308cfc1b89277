"""Every external version servestack installs, in one place, each with where it comes from.

Changing a version is a one-line diff here, and ``servestack plan`` shows which resources it
moves. Nothing else in the code base may spell a chart version, image tag or manifest release.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pinned:
    """One pinned artifact: a Helm chart, a container image or a manifest release."""

    name: str
    version: str
    source: str
    """Where the artifact is published (chart repository, registry or release page)."""


# --- EKS control plane and managed add-ons (issue: accelerated cluster) -------------------

# --- device plugins (issue: accelerated cluster) ---------------------------------------------

# --- serving platform: cert-manager, KServe, Knative, Kubeflow (issue: serving platform) -----

# --- endpoints: model server and helper images (issue: endpoints) ---------------------------

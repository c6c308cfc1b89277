"""The smoke Job of a Standard-mode rollout analysis (``rollout.analysis.smoke``). Pure.

KServe v0.20.0 routes no live traffic to a Standard-mode candidate (``spec.canary[]``): it answers
only at its own predictor Service. So that the analysis has data, this Job sends the declared requests
there, at the declared rate, and ends: bounded (``backoffLimit: 0``, an ``activeDeadlineSeconds`` from
count and rate, removed a day after it finishes), a pinned image, no service account token, non-root,
read-only root filesystem, no capabilities. Its name carries the candidate's version, so a new
candidate gets a new Job.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.rollout import predictor_name, predictor_service
from ..core.versions import SMOKE_IMAGE
from .inference_service import LABEL_ENDPOINT, LABEL_MANAGED_BY

#: The predict path per protocol when ``smoke.path`` is not set.
DEFAULT_PATHS = {"v1": "/v1/models/{model}:predict", "v2": "/v2/models/{model}/infer"}

SCRIPT = """\
i=0; failed=0
while [ "$i" -lt "$SMOKE_COUNT" ]; do
  code=$(printf '%s' "$SMOKE_PAYLOAD" | curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST \\
    -H 'Content-Type: application/json' --data-binary @- "$SMOKE_URL") || code=000
  case "$code" in 2*) ;; *) failed=$((failed + 1)) ;; esac
  i=$((i + 1))
  sleep "$SMOKE_INTERVAL"
done
echo "sent $i requests to $SMOKE_URL; $failed did not answer 2xx"
"""


def smoke_job_name(endpoint: str, version: str) -> str:
    return f"{endpoint}-smoke-{predictor_name(version)}"


def render_smoke_job(endpoint: str, namespace: str, candidate_version: str, smoke, protocol: str | None) -> dict[str, Any]:
    """The Job that sends ``smoke``'s requests to the candidate's own predictor Service."""
    path = (smoke.path or DEFAULT_PATHS.get(protocol or "v1", DEFAULT_PATHS["v1"])).replace("{model}", endpoint)
    url = f"http://{predictor_service(endpoint, candidate_version)}.{namespace}.svc.cluster.local{path}"
    seconds = math.ceil(smoke.count / smoke.rate)
    labels = {LABEL_MANAGED_BY: "servestack", LABEL_ENDPOINT: endpoint, "app.kubernetes.io/component": "rollout-smoke"}
    container = {
        "name": "smoke",
        "image": f"{SMOKE_IMAGE.name}:{SMOKE_IMAGE.version}",
        "command": ["/bin/sh", "-c", SCRIPT],
        "env": [{"name": "SMOKE_URL", "value": url}, {"name": "SMOKE_PAYLOAD", "value": smoke.payload},
                {"name": "SMOKE_COUNT", "value": str(smoke.count)},
                {"name": "SMOKE_INTERVAL", "value": f"{1 / smoke.rate:.3f}"}],
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": smoke_job_name(endpoint, candidate_version), "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": seconds + 300,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 100, "runAsGroup": 101,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                },
            },
        },
    }


def smoke_job_of(endpoint: str, config, mode: str) -> dict[str, Any] | None:
    """The smoke Job of an endpoint's rollout, None when it has none (not Standard mode, no smoke, steady)."""
    rollout = config.rollout
    if mode != "Standard" or rollout is None or rollout.rolled_back or rollout.analysis is None \
            or rollout.analysis.smoke is None:
        return None
    return render_smoke_job(endpoint, config.namespace, rollout.candidate.version, rollout.analysis.smoke,
                            config.model.protocol_version)

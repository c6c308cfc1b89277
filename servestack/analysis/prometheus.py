"""Instant queries against the Prometheus HTTP API: a Prometheus server, or an Amazon Managed Service
for Prometheus workspace with every request signed (SigV4, service ``aps``) by botocore's signer.

``POST /api/v1/query`` with ``query`` and ``time`` form-encoded (Prometheus and AMP both take it);
the answer is a vector of series, each with its labels and one value.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime

#: Seconds to wait for one answer.
TIMEOUT_SECONDS = 30


class PrometheusError(Exception):
    """Prometheus could not be reached or refused the query; the message says which and why (one line)."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


def amp_query_url(workspace_id: str, region: str) -> str:
    """The query API of an AMP workspace."""
    return f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{workspace_id}"


class Prometheus:
    """One Prometheus HTTP API (``base_url`` holds ``/api/v1/...``); ``sign_region`` signs for AMP."""

    def __init__(self, base_url: str, *, sign_region: str | None = None, credentials=None):
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise PrometheusError(f"--prometheus must be an http(s) URL such as http://prometheus:9090; got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.sign_region = sign_region
        self.credentials = credentials
        if sign_region is not None and credentials is None:
            import botocore.session

            self.credentials = botocore.session.Session().get_credentials()
            if self.credentials is None:
                raise PrometheusError("no AWS credentials to sign AMP requests with (environment, profile or role)")

    def query(self, expr: str, at: datetime) -> list[Sample]:
        """The instant vector (or scalar) of ``expr`` at ``at``."""
        url = f"{self.base_url}/api/v1/query"
        body = urllib.parse.urlencode({"query": expr, "time": f"{at.timestamp():.3f}"}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self.sign_region is not None:
            headers = self._signed(url, body, headers)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            detail = _error_text(error)
            raise PrometheusError(f"{self.base_url} answered HTTP {error.code}{': ' + detail if detail else ''}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PrometheusError(f"cannot reach {self.base_url}: {reason}") from None
        except ValueError:
            raise PrometheusError(f"{self.base_url} did not answer with Prometheus API JSON") from None
        return _samples(payload, self.base_url)

    def _signed(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(self.credentials, "aps", self.sign_region).add_auth(request)
        return dict(request.headers.items())


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(error.read().decode("utf-8"))
        return str(payload.get("error") or payload.get("message") or "")[:300]
    except (ValueError, OSError, AttributeError):
        return ""


def _samples(payload: dict, shown_as: str) -> list[Sample]:
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise PrometheusError(f"{shown_as} refused the query: {payload.get('error') if isinstance(payload, dict) else payload}")
    data = payload.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return [Sample({}, float(result[1]))]
    if kind != "vector":
        raise PrometheusError(f"{shown_as} answered a {kind}; a check needs an instant vector or a scalar")
    # Prometheus writes NaN and +Inf as text, which float() reads
    return [Sample(dict(item.get("metric") or {}), float(item["value"][1])) for item in result]

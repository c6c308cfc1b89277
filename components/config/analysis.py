"""``rollout.analysis``: the evidence a rollout stage must show before it moves (InferenceService and
LLM endpoints alike).

```yaml
analysis:
  window: 10m            # how far back each check looks
  minRequests: 200       # fewer candidate requests in the window: inconclusive
  checks:
    - errorRate: {max: 0.01}
    - latencyP95: {maxMs: 400, maxVsStable: 1.2}
    - query: 'sum(rate(my_app_errors_total{version="{{version}}"}[{{window}}]))'
      name: app-errors
      max: 0.5
```

Built-in checks and the metrics behind them are :mod:`components.core.metrics`'s; which ones an
endpoint can use depends on what its model server exports (:func:`family_problems`). A custom
``query`` is parsed as PromQL here (``promql-parser``, the Rust port of Prometheus's own parser), so a
bad query is a config error naming the check, not a surprise at analysis time.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from ..core import metrics
from .base import ConfigModel, Finding

_DURATION = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$")
_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PLACEHOLDER = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
#: Threshold keys per kind of check (``ratio``/``ms`` from metrics.CHECK_UNITS; ``custom`` for a query).
THRESHOLD_KEYS = {
    "errorRate": ("max", "maxVsStable"),
    "successRate": ("min", "minVsStable"),
    "ms": ("maxMs", "maxVsStable"),
    "custom": ("max", "maxVsStable"),
}


def duration_seconds(text: str) -> float:
    """A Prometheus duration (``10m``, ``1h30m``, ``500ms``) in seconds; ValueError if it is not one."""
    if not isinstance(text, str) or not _DURATION.fullmatch(text):
        raise ValueError("must be a Prometheus duration such as 30s, 10m or 1h30m")
    return sum(int(n) * _SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def check_kind(name: str) -> str:
    """``errorRate``, ``successRate``, ``ms`` (latencies) or ``custom``."""
    if name in ("errorRate", "successRate"):
        return name
    return "ms" if name in metrics.CHECK_UNITS else "custom"


class Thresholds(ConfigModel):
    """The limits of one built-in check; which keys a check takes: :data:`THRESHOLD_KEYS`."""

    max: float | None = None
    """errorRate: the highest error ratio (0 to 1) the candidate may show."""
    min: float | None = None
    """successRate: the lowest success ratio (0 to 1) the candidate must show."""
    max_ms: float | None = None
    """Latency checks: the highest value in milliseconds."""
    max_vs_stable: float | None = None
    """The highest candidate / stable ratio (``1.2``: at most 20% worse than the stable model)."""
    min_vs_stable: float | None = None
    """successRate: the lowest candidate / stable ratio."""

    def given(self) -> dict[str, float]:
        return {to: v for to, v in (("max", self.max), ("min", self.min), ("maxMs", self.max_ms),
                                    ("maxVsStable", self.max_vs_stable), ("minVsStable", self.min_vs_stable))
                if v is not None}


def threshold_problems(kind: str, given: dict[str, float]) -> list[Finding]:
    allowed = THRESHOLD_KEYS[kind]
    found = [Finding((key,), f"does not apply here; this check takes {' and/or '.join(allowed)}", value)
             for key, value in given.items() if key not in allowed]
    if not any(key in allowed for key in given):
        found.append(Finding((), f"needs a threshold: {' and/or '.join(allowed)}"))
    for key, value in given.items():
        if key not in allowed:
            continue
        if key in ("max", "min") and kind != "custom" and not 0 <= value <= 1:
            found.append(Finding((key,), "must be a ratio from 0 to 1", value))
        elif key == "max" and value < 0:
            found.append(Finding((key,), "must be 0 or more", value))
        elif key in ("maxMs", "maxVsStable", "minVsStable") and value <= 0:
            found.append(Finding((key,), "must be greater than 0" + (" (a ratio to the stable model's value)"
                                                                      if key.endswith("VsStable") else ""), value))
    return found


class CheckConfig(ConfigModel):
    """One check: a built-in one (``errorRate: {max: 0.01}``) or a custom ``query`` with its ``name``."""

    query: str | None = None
    """PromQL giving one number, with ``{{endpoint}}``, ``{{namespace}}``, ``{{version}}`` and ``{{window}}``.
    Default: none (a built-in check)."""
    name: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    """A custom check's name (required with ``query``). Default: none."""
    max: float | None = None
    """A custom check: the highest value the candidate may show. Default: none."""
    max_vs_stable: float | None = None
    """A custom check: the highest candidate / stable ratio. Default: none."""

    # A built-in check is one extra key named after it (errorRate, latencyP50/P95/P99, successRate, ttftP95,
    # interTokenP95) holding its Thresholds; problems() refuses any other key.
    model_config = ConfigDict(**ConfigModel.model_config | {"extra": "allow"})

    @property
    def builtin(self) -> tuple[str, dict[str, float]] | None:
        """(check name, thresholds) of a built-in check, None for a custom one or a malformed entry."""
        extra = self.model_extra or {}
        if self.query is not None or len(extra) != 1:
            return None
        (name, value), = extra.items()
        if name not in metrics.ALL_BUILTIN_CHECKS or not isinstance(value, dict):
            return None
        return name, value

    @property
    def check_name(self) -> str:
        return self.name if self.query is not None else next(iter(self.model_extra or {}), "?")

    def thresholds(self) -> dict[str, float]:
        if self.query is not None:
            return {k: v for k, v in (("max", self.max), ("maxVsStable", self.max_vs_stable)) if v is not None}
        return Thresholds.model_validate(self.builtin[1]).given()

    def problems(self) -> list[Finding]:
        extra = dict(self.model_extra or {})
        builtins = ", ".join(metrics.ALL_BUILTIN_CHECKS)
        if self.query is None:
            if self.name is not None or self.max is not None or self.max_vs_stable is not None:
                return [Finding((), "name, max and maxVsStable belong to a custom check: add its query")]
            if len(extra) != 1:
                return [Finding((), f"must be one built-in check ({builtins}) or a custom query with its name",
                                sorted(extra))]
            (name, value), = extra.items()
            if name not in metrics.ALL_BUILTIN_CHECKS:
                return [Finding((name,), f"is not a known check; built-in checks: {builtins}; or a custom query "
                                         "(query, name, max/maxVsStable)")]
            if not isinstance(value, dict):
                return [Finding((name,), "must be a mapping of thresholds", value)]
            try:
                given = Thresholds.model_validate(value).given()
            except ValueError as error:
                return [Finding((name,), f"has thresholds that are not numbers or not known ({_first(error)})", value)]
            return [Finding((name, *f.loc), f.message, f.value) for f in threshold_problems(check_kind(name), given)]
        found = [Finding((key,), "is not a setting of a custom check (query, name, max, maxVsStable)")
                 for key in sorted(extra)]
        if self.name is None:
            found.append(Finding(("name",), "is required with a custom query (it names the check in reports)"))
        placeholders = set(_PLACEHOLDER.findall(self.query))
        unknown = sorted(placeholders - set(metrics.PLACEHOLDERS))
        if unknown:
            found.append(Finding(("query",), f"uses unknown placeholders {unknown}; known: "
                                             + ", ".join("{{%s}}" % p for p in metrics.PLACEHOLDERS), self.query))
        problem = query_problem(self.query)
        if problem:
            found.append(Finding(("query",), f"of check {self.name or '(unnamed)'} is not valid PromQL: {problem}",
                                 self.query))
        if "version" not in placeholders:
            found.append(Finding(("query",), "must use {{version}}: it is evaluated once with the candidate's model "
                                             "version and once with the stable's", self.query))
        return found + threshold_problems("custom", self.thresholds())


def _first(error: Exception) -> str:
    return str(error).splitlines()[1].strip() if len(str(error).splitlines()) > 1 else str(error)


def query_problem(query: str) -> str | None:
    """Why ``query``, its placeholders filled, is not PromQL (None when it is)."""
    import promql_parser

    filled = metrics.fill_placeholders(query, endpoint="e", namespace="n", version="v", window="5m")
    filled = _PLACEHOLDER.sub("x", filled)  # unknown placeholders are reported on their own
    try:
        promql_parser.parse(filled)
    except ValueError as error:
        return str(error)
    return None


class SmokeConfig(ConfigModel):
    """Requests a Kubernetes Job sends to a Standard-mode candidate's own URL, so the checks have data."""

    payload: str = Field(min_length=1, max_length=65536)
    """The request body (JSON text, e.g. a v1 ``{"instances": [...]}``). Required."""
    path: str | None = Field(default=None, pattern=r"^/[A-Za-z0-9._~/:{}-]*$")
    """The request path on the candidate; ``{model}`` is the model name. Default: the predict path of the
    model's protocol (``/v1/models/{model}:predict``, ``/v2/models/{model}/infer``)."""
    count: int = Field(default=300, ge=1, le=100000)
    """Requests to send. Default 300."""
    rate: float = Field(default=5, gt=0, le=100)
    """Requests per second. Default 5."""


class LlmAnalysisConfig(ConfigModel):
    """The checks a stage must pass before ``servestack rollout advance --require-analysis`` moves it."""

    window: str = "10m"
    """How far back each check looks (a Prometheus duration, at least twice the scrape interval). Default 10m."""
    min_requests: int | None = Field(default=None, ge=1)
    """Fewer candidate requests in the window: the analysis is inconclusive. Default: no minimum."""
    checks: list[CheckConfig] = Field(min_length=1)
    """The checks, each a built-in one (``errorRate``, ``latencyP50``/``P95``/``P99``, and for LLM endpoints
    ``successRate``, ``ttftP95``, ``interTokenP95``, each a mapping of ``max``/``min``/``maxMs``/``maxVsStable``/
    ``minVsStable``) or a custom ``query`` with ``name`` and ``max``/``maxVsStable``. Required."""

    @field_validator("window")
    @classmethod
    def _window(cls, window: str) -> str:
        duration_seconds(window)
        return window

    def problems(self) -> list[Finding]:
        found = []
        shortest = 2 * metrics.SCRAPE_INTERVAL_SECONDS
        if duration_seconds(self.window) < shortest:
            found.append(Finding(("window",), f"must be at least {shortest:g}s, twice the scrape interval "
                                              f"({metrics.SCRAPE_INTERVAL_SECONDS:g}s): rate() needs two samples in "
                                              "the window", self.window))
        names = [c.check_name for c in self.checks]
        for i, name in enumerate(names):
            if name in names[:i]:
                found.append(Finding(("checks", i), f"repeats check {name!r}; each check appears once", name))
        return found


class AnalysisConfig(LlmAnalysisConfig):
    """An InferenceService rollout's analysis: an LLM endpoint's, plus Standard mode's smoke requests."""

    smoke: SmokeConfig | None = None
    """Standard mode: a Job sending requests to the candidate's own URL (it gets no live traffic). Default: none."""


def family_problems(analysis: AnalysisConfig, family: str, loc: tuple[Any, ...]) -> list[Finding]:
    """Built-in checks that an endpoint's metrics cannot answer (``family``: metrics.KNATIVE/STANDARD/LLM)."""
    found = []
    for i, check in enumerate(analysis.checks):
        builtin = check.builtin
        if builtin and builtin[0] not in metrics.BUILTIN_CHECKS[family]:
            why = metrics.UNAVAILABLE.get((family, builtin[0]), "not available here")
            found.append(Finding((*loc, "checks", i, builtin[0]), f"cannot be evaluated for this endpoint: {why}"))
    if getattr(analysis, "smoke", None) is not None and family != metrics.STANDARD:
        found.append(Finding((*loc, "smoke"), "is for Standard-mode candidates, which get no live traffic; this "
                                              "endpoint's candidate takes a share of real requests"))
    return found

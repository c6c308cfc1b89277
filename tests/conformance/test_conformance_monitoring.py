"""Conformance of the metrics platform: every PodMonitor, ServiceMonitor and PrometheusRule the plans render is
accepted by the Prometheus Operator CRDs kube-prometheus-stack 88.5.3 ships; every rule passes
``promtool check rules``; every metric a rule reads is one of components/core/metrics.py (each with its upstream
source: tests/test_metrics_sources.py) and every label it matches or groups by is one that metric's exporter
writes or the scrape objects add."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import promql_parser
import pytest
import yaml

from components.core import metrics as m

from . import upstream
from .schema import validate
from .stacks import ALL_STACKS, planned

MONITORING_GROUP = "monitoring.coreos.com"
CRD_SET = "prometheus-operator-kube-prometheus-stack-88.5.3"
AMP_RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
#: Labels every histogram's bucket series has (Prometheus's own).
PROMETHEUS_LABELS = {"le"}


def _monitoring_objects():
    for name in ALL_STACKS:
        stack = planned(name)
        for filename, obj in stack.objects:
            if obj["apiVersion"].rpartition("/")[0] == MONITORING_GROUP:
                yield stack, filename, obj


def _rule_files():
    """(where, rules file) of every PrometheusRule and AMP rule groups namespace the plans contain."""
    for stack, filename, obj in _monitoring_objects():
        if obj["kind"] == "PrometheusRule":
            yield f"{stack.name}/{filename}", {"groups": obj["spec"]["groups"]}
    for name in ALL_STACKS:
        stack = planned(name)
        for resource, state in stack.steps_of(AMP_RULES):
            yield f"{stack.name}/{resource}", yaml.safe_load(state["inputs"]["data"])


def test_monitoring_objects_are_accepted_by_the_prometheus_operator_crds(conformance_line):
    kinds: Counter[str] = Counter()
    failures = []
    for stack, filename, obj in _monitoring_objects():
        kinds[obj["kind"]] += 1
        failures += [f"{stack.name}/{filename}: {p}" for p in validate(obj, CRD_SET)]
    operator = upstream.provenance(f"crds/{CRD_SET}.json")["note"].split(" CRDs")[0]
    conformance_line(f"Monitoring objects: {sum(kinds.values()) - len({f.split(':')[0] for f in failures})}/"
                     f"{sum(kinds.values())} accepted by {operator} CRDs of kube-prometheus-stack 88.5.3 ("
                     + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")")
    assert kinds["PodMonitor"] > 0 and kinds["PrometheusRule"] > 0
    assert failures == []


def test_every_rule_passes_promtool_check_rules(tmp_path, conformance_line):
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed (CI installs the Debian package prometheus in .ci/run)")
        pytest.skip("promtool is not installed (apt-get install prometheus); CI runs this check")
    files, rules = [], 0
    for index, (where, rules_file) in enumerate(_rule_files()):
        path = tmp_path / f"{index:04d}.yaml"
        path.write_text(yaml.safe_dump(rules_file, sort_keys=False))
        files.append((where, path))
        rules += sum(len(g["rules"]) for g in rules_file["groups"])
    result = subprocess.run([promtool, "check", "rules", *(str(p) for _, p in files)], capture_output=True, text=True)
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    failed = [where for where, path in files if f"Checking {path}\n  FAILED" in result.stdout + result.stderr]
    conformance_line(f"Prometheus rules: {rules} rules in {len(files)} files pass promtool check rules ({version})"
                     if result.returncode == 0 else f"Prometheus rules: promtool check rules failed for {failed}")
    assert files
    assert result.returncode == 0, result.stdout + result.stderr


def _selectors(node, found):
    """Every vector selector of a parsed PromQL expression, and the grouping/matching labels it names."""
    if isinstance(node, promql_parser.VectorSelector):
        found["selectors"].append(node)
        return
    modifier = getattr(node, "modifier", None)
    labels = getattr(modifier, "labels", None) or getattr(getattr(modifier, "matching", None), "labels", None)
    if labels:
        found["labels"].update(labels)
    for attribute in ("lhs", "rhs", "expr", "vector_selector", "param"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, (str, int, float)):
            _selectors(child, found)
    for argument in getattr(node, "args", None) or []:
        _selectors(argument, found)


def _series_of_metrics():
    series = {}
    for metric in m.METRICS.values():
        for suffix in (("_bucket", "_count", "_sum") if metric.kind == "histogram" else ("",)):
            extra = PROMETHEUS_LABELS if suffix == "_bucket" else set()
            series[metric.series(suffix)] = (metric, set(metric.labels) | extra)
    return series


def test_every_metric_and_label_a_rule_uses_comes_from_its_upstream_source(conformance_line):
    series = _series_of_metrics()
    added = set(m.SCRAPE_LABELS) | set(m.EXPORTER_LABELS)
    failures, sources, names = [], Counter(), set()
    for where, rules_file in _rule_files():
        recorded = {r["record"] for g in rules_file["groups"] for r in g["rules"] if "record" in r}
        for group in rules_file["groups"]:
            for rule in group["rules"]:
                found = {"selectors": [], "labels": set()}
                _selectors(promql_parser.parse(rule["expr"]), found)
                allowed = set(added)
                for selector in found["selectors"]:
                    if selector.name in series:
                        metric, labels = series[selector.name]
                        allowed |= labels
                        sources[str(metric.source)] += 1
                        names.add(metric.name)
                    elif selector.name not in recorded:
                        failures.append(f"{where}: {rule.get('record') or rule.get('alert')}: {selector.name} is neither a "
                                        "metric of components/core/metrics.py nor a rule recorded in the same file")
                used = {matcher.name for s in found["selectors"] for matcher in s.matchers.matchers} | found["labels"]
                for label in sorted(used - allowed - {"__name__"}):
                    failures.append(f"{where}: {rule.get('record') or rule.get('alert')}: label {label} is written by "
                                    "none of the metrics it reads nor added by the scrape objects")
    conformance_line(f"Rule metrics: {len(names)} metric names, all from pinned upstream sources ("
                     + "; ".join(sorted(sources)) + f"); labels: exporters' own plus {', '.join(sorted(added))}")
    assert names
    assert failures == [], "\n".join(failures[:40])


def test_the_ci_script_installs_promtool_before_the_tests():
    script = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    install = next(line for line in script.splitlines() if "apt-get install" in line)
    assert install.split()[-1] == "prometheus" and script.index(install) < script.index("make test")

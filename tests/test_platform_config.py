"""servestack:platform config: defaults, KServe/Kubeflow exclusivity, and KServe feature versions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.core import versions
from components.config import ConfigError, parse_stack_config
from components.config.base import MISSING, Finding
from components.config.platform import (
    KSERVE_FEATURES,
    PlatformConfig,
    feature_finding,
    kserve_supports,
    parse_version,
    platform_kserve_version,
)

BASE = {
    "aws:region": "us-east-1",
    "servestack:nodePools": {"system": {"instanceTypes": ["m7i.large"], "minSize": 1}},
}


def parse(platform: dict) -> PlatformConfig:
    return parse_stack_config("test", {**BASE, "servestack:platform": platform}).platform


def problems(platform: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse(platform)
    return [p.render() for p in raised.value.problems]


def test_defaults_are_standalone_kserve_in_knative_mode_with_kourier():
    config = parse_stack_config("test", BASE).platform
    assert config.kserve_standalone is True
    assert config.deployment_mode == "Knative"
    assert config.knative.networking == "kourier"
    assert config.kubeflow.enabled is False
    assert config.kubeflow.manifests_repository == "https://github.com/kubeflow/manifests"
    assert config.endpoint_namespaces == ["models"]
    assert config.mesh is None


def test_kubeflow_turns_standalone_kserve_off_by_default_and_serves_knative_mode_in_its_mesh():
    config = parse({"kubeflow": {"enabled": True}})
    assert config.kserve_standalone is False
    assert config.deployment_mode == "Knative"
    assert config.mesh == "istio"


def test_kubeflow_and_standalone_kserve_together_are_rejected_naming_both_keys():
    assert problems({"kubeflow": {"enabled": True}, "kserve": {"enabled": True}}) == [
        "servestack:platform.kubeflow.enabled: Kubeflow brings its own KServe and KServe must be installed "
        "exactly once: turn off servestack:platform.kserve.enabled (or remove it) when "
        "servestack:platform.kubeflow.enabled is true (got true)"
    ]


def test_no_kserve_at_all_is_rejected():
    assert problems({"kserve": {"enabled": False}}) == [
        "servestack:platform.kserve.enabled: no KServe would serve the endpoints: enable "
        "servestack:platform.kserve.enabled or servestack:platform.kubeflow.enabled (got false)"
    ]


def test_standard_mode_with_kubeflow_is_rejected_because_kubeflows_kserve_runs_knative_mode():
    assert problems({"kubeflow": {"enabled": True}, "kserve": {"deploymentMode": "Standard"}}) == [
        "servestack:platform.kserve.deploymentMode: Kubeflow's KServe v0.16.0 runs in Knative mode; Standard "
        "mode needs the standalone KServe (servestack:platform.kubeflow.enabled false) (got \"Standard\")"
    ]


def test_endpoint_namespaces_must_be_valid_unowned_and_unique():
    assert problems({"endpointNamespaces": ["models", "kserve", "Bad_Name", "models"]}) == [
        'servestack:platform.endpointNamespaces: lists a namespace more than once (got "models")',
        "servestack:platform.endpointNamespaces[1]: is a namespace the platform or Kubernetes owns; "
        'allowed: any other name (got "kserve")',
        "servestack:platform.endpointNamespaces[2]: must be a Kubernetes namespace name (lower-case letters, "
        "digits and '-', at most 63 characters) (got \"Bad_Name\")",
    ]


def test_unknown_networking_and_mode_are_rejected_with_the_allowed_values():
    assert problems({"knative": {"networking": "contour"}, "kserve": {"deploymentMode": "Serverless"}}) == [
        'servestack:platform.knative.networking: must be one of kourier or istio (got "contour")',
        'servestack:platform.kserve.deploymentMode: must be one of Knative or Standard (got "Serverless")',
    ]


def test_manifests_repository_must_be_https():
    assert problems({"kubeflow": {"enabled": True, "manifestsRepository": "git@github.com:me/manifests"}}) == [
        "servestack:platform.kubeflow.manifestsRepository: must match the pattern ^https://\\S+$ "
        '(got "git@github.com:me/manifests")'
    ]


# --------------------------------------------------------------------------- KServe versions


def test_platform_kserve_version_is_the_standalone_charts_or_kubeflows():
    assert platform_kserve_version(parse({})) == versions.KSERVE_RESOURCES.version == "v0.20.0"
    assert platform_kserve_version(parse({"kubeflow": {"enabled": True}})) == versions.KUBEFLOW_KSERVE.version == "v0.16.0"


@pytest.mark.parametrize(("platform", "feature", "supported"), [
    ({}, "knativeCanary", True),
    ({}, "standardCanary", True),
    ({"kubeflow": {"enabled": True}}, "knativeCanary", True),
    ({"kubeflow": {"enabled": True}}, "standardCanary", False),
])
def test_feature_table(platform, feature, supported):
    assert kserve_supports(parse(platform), feature) is supported


def test_feature_too_new_for_kubeflows_kserve_is_a_finding_at_the_callers_path():
    config = parse({"kubeflow": {"enabled": True}})
    assert feature_finding(config, "standardCanary", ("endpoints", "fraud", "rollout"), "Standard") == Finding(
        ("endpoints", "fraud", "rollout"),
        "Standard-mode canary rollout by spec.canary[] with trafficPercent needs KServe v0.20.0 or newer; "
        "the platform runs Kubeflow 26.03's KServe v0.16.0",
        "Standard",
    )
    assert feature_finding(parse({}), "standardCanary", ("endpoints", "fraud")) is None
    assert feature_finding(config, "knativeCanary", ("endpoints", "fraud")) is None
    assert Finding(("x",), "m").value is MISSING


def test_every_feature_names_a_parseable_release():
    for name, feature in KSERVE_FEATURES.items():
        assert feature.name == name
        assert parse_version(feature.min_version) <= parse_version(versions.KSERVE_RESOURCES.version)


@given(st.tuples(*[st.integers(0, 99)] * 3), st.tuples(*[st.integers(0, 99)] * 3))
def test_parse_version_orders_like_the_numbers(a, b):
    va, vb = (f"v{x}.{y}.{z}" for x, y, z in (a, b))
    assert (parse_version(va) < parse_version(vb)) == (a < b)
    assert parse_version(va + "-rc1") == a


def test_parse_version_rejects_non_versions():
    with pytest.raises(ValueError, match="not a release version: 'latest'"):
        parse_version("latest")


# --- prod and upstream Kubeflow ------------------------------------------------------------------

PROD = {**BASE, "servestack:tier": "prod"}


def prod_problems(platform: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config("prod", {**PROD, "servestack:platform": platform})
    return [p.render() for p in raised.value.problems]


def upstream_dex_problem(repository: str) -> str:
    return ("servestack:platform.kubeflow.manifestsRepository: is the upstream Kubeflow manifests repository, whose "
            "Dex ships a static user user@example.com with the published password 12341234; prod must not install "
            "it: set servestack:platform.kubeflow.manifestsRepository to your fork (with the tag 26.03) that replaces "
            f'the Dex user or connects Dex to your identity provider (got "{repository}")')


@pytest.mark.parametrize("repository", [
    None,  # the default is upstream's
    "https://github.com/kubeflow/manifests",
    "https://github.com/kubeflow/manifests/",
    "https://github.com/Kubeflow/Manifests.git",
])
def test_prod_refuses_kubeflow_from_the_upstream_manifests(repository):
    kubeflow = {"enabled": True} if repository is None else {"enabled": True, "manifestsRepository": repository}
    assert prod_problems({"kubeflow": kubeflow}) == [upstream_dex_problem(repository or "https://github.com/kubeflow/manifests")]


def test_prod_accepts_kubeflow_from_a_fork_and_other_tiers_accept_upstream():
    fork = {"kubeflow": {"enabled": True, "manifestsRepository": "https://github.com/acme/kubeflow-manifests"}}
    assert parse_stack_config("prod", {**PROD, "servestack:platform": fork}).platform.kubeflow.enabled is True
    for tier in ("dev", "staging"):
        config = parse_stack_config(tier, {**BASE, "servestack:tier": tier, "servestack:platform": {"kubeflow": {"enabled": True}}})
        assert config.platform.kubeflow.manifests_repository == "https://github.com/kubeflow/manifests"
    # Prod without Kubeflow does not care where the manifests would come from.
    assert parse_stack_config("prod", {**PROD, "servestack:platform": {}}).platform.kubeflow.enabled is False


def test_every_kserve_the_platform_can_run_accepts_the_knative_and_standard_mode_names():
    """Endpoints annotate serving.kserve.io/deploymentMode with Knative or Standard. KServe renamed
    Serverless/RawDeployment to those in kserve/kserve#4608, released in v0.16.0 (whose chart
    defaults kserve.controller.deploymentMode to Knative; the old names are still read and converted).
    Kubeflow 26.03 bundles v0.16.0 (kubeflow/manifests#3349), so no mapping to the old names is needed;
    pinning an older Kubeflow KServe would need one."""
    renamed_in = parse_version("v0.16.0")
    assert parse_version(platform_kserve_version(parse({"kubeflow": {"enabled": True}}))) >= renamed_in
    assert parse_version(platform_kserve_version(parse({}))) >= renamed_in

"""The plan's printed summary: the component tree, and many endpoints grouped into one node."""

from __future__ import annotations

import io

from rich.console import Console

from endpoint_fixtures import LLM
from harness import plan_config, repository_plan, stack_config
from servestack.summary import GROUP_ABOVE, component_tree


def summary_lines(endpoints: int) -> list[str]:
    """The summary of the dev stack with its two endpoints and ``endpoints - 3`` more iris copies
    (each with its own model prefix and role) and one Hugging Face model (no role)."""
    config = stack_config("dev")
    iris = config["servestack:endpoints"]["iris"]
    for i in range(endpoints - 3):
        copy = {**iris, "model": {**iris["model"], "storageUri": f"s3://acme-ml-models-dev/models/iris-{i:02d}/1.3.0"}}
        config["servestack:endpoints"][f"iris-{i:02d}"] = copy
    config["servestack:endpoints"]["llm"] = {**LLM, "pool": "gpu"}
    output = io.StringIO()
    Console(file=output, width=200, highlight=False).print(component_tree(plan_config(config, "dev").document))
    return output.getvalue().splitlines()


def test_more_endpoints_than_the_limit_are_one_node_with_their_resources_counted_by_type():
    lines = summary_lines(GROUP_ABOVE + 1)
    start = lines.index("    ├── 11 × servestack:endpoint:ModelEndpoint (servestack-endpoint-chat … servestack-endpoint-llm)")
    assert lines[start + 1:start + 6] == [
        "    │   ├── 10 × aws:iam/role:Role",
        "    │   ├── 10 × aws:iam/rolePolicy:RolePolicy",
        "    │   ├── 11 × kubernetes:core/v1:ConfigMap",
        "    │   ├── 11 × kubernetes:core/v1:ServiceAccount",
        "    │   └── 11 × kubernetes:serving.kserve.io/v1beta1:InferenceService",
    ]
    assert not any("(servestack:endpoint:ModelEndpoint)" in line for line in lines)


def test_up_to_the_limit_each_endpoint_is_its_own_node():
    lines = summary_lines(GROUP_ABOVE)
    endpoints = [line.split("── ", 1)[1] for line in lines if line.endswith("(servestack:endpoint:ModelEndpoint)")]
    assert endpoints == [f"servestack-endpoint-{name} (servestack:endpoint:ModelEndpoint)"
                         for name in ("chat", "iris", *(f"iris-{i:02d}" for i in range(7)), "llm")]
    assert not any("× servestack:endpoint:ModelEndpoint" in line for line in lines)


def test_remote_components_are_listed_one_by_one_however_many():
    output = io.StringIO()
    Console(file=output, width=200, highlight=False).print(component_tree(repository_plan("staging").document))
    directories = [line for line in output.getvalue().splitlines() if line.endswith("(kubernetes:kustomize/v2:Directory)")]
    assert len(directories) > GROUP_ABOVE
    assert "servestack-platform-kubeflow-kserve-kserve (kubernetes:kustomize/v2:Directory)" in " ".join(directories)

"""LLM rollouts as KServe v0.20.0 routing-group members: the stable and the candidate LLMInferenceService
with their group and weights at each stage, accepted by KServe's CRD; rollback and steady render the
stable one alone; ``servestack rollout`` moves an LLM endpoint like an InferenceService."""

from __future__ import annotations

import copy

import pytest
from click.testing import CliRunner

from components.config import parse_stack_config
from components.core import versions
from components.core.llm_rollout import NAME_MAX, candidate_name, group_weights
from components.render.llm_rollout import render_llm_endpoint
from conformance import upstream
from conformance.schema import validate
from endpoint_fixtures import LLM_URI, config, placements
from servestack.cli import cli

CANDIDATE_URI = "s3://acme-models/models/chat/3.2-8b"
CHAT = {"pool": "gpu", "model": {"uri": LLM_URI, "version": "3.1-8b"},
        "rollout": {"candidate": {"version": "3.2-8b", "uri": CANDIDATE_URI}, "stages": [0, 25, 100], "stage": 2}}


def rendered(endpoint: dict) -> list[dict]:
    stack = parse_stack_config("test", {**config({}), "servestack:llmEndpoints": {"chat": endpoint}})
    return render_llm_endpoint("chat", stack.llm_endpoints["chat"], placements(stack)["gpu"])


def test_a_rollout_renders_two_members_of_the_endpoints_group_with_the_stages_weights():
    stable, candidate = rendered(CHAT)
    assert stable["metadata"]["name"] == "chat" and candidate["metadata"]["name"] == "chat-v3-2-8b"
    assert stable["spec"]["router"]["route"] == {"group": "chat", "weight": 75}
    assert candidate["spec"]["router"]["route"] == {"group": "chat", "weight": 25}
    assert stable["spec"]["model"] == {"uri": LLM_URI}   # served as "chat", its own name
    assert candidate["spec"]["model"] == {"uri": CANDIDATE_URI, "name": "chat"}   # the same served name
    assert stable["spec"]["labels"] == {"servestack.io/endpoint": "chat", "servestack.io/model-version": "3.1-8b"}
    assert candidate["spec"]["labels"] == {"servestack.io/endpoint": "chat", "servestack.io/model-version": "3.2-8b"}
    assert candidate["metadata"]["labels"]["servestack.io/endpoint"] == "chat"
    assert {k: v for k, v in candidate["spec"].items() if k not in ("model", "labels", "router")} == \
        {k: v for k, v in stable["spec"].items() if k not in ("model", "labels", "router")}


def test_both_members_are_accepted_by_kserves_crd():
    crds = upstream.kserve_crds(versions.KSERVE_LLMISVC_CRD.version)
    for obj in rendered(CHAT):
        assert validate(obj, crds) == []


@pytest.mark.parametrize(("stage", "weights"), [(1, (100, 0)), (2, (75, 25)), (3, (0, 100))])
def test_weights_follow_the_stage(stage, weights):
    endpoint = copy.deepcopy(CHAT)
    endpoint["rollout"]["stage"] = stage
    stable, candidate = rendered(endpoint)
    assert (stable["spec"]["router"]["route"]["weight"], candidate["spec"]["router"]["route"]["weight"]) == weights
    assert sum(weights) == 100 and group_weights(endpoint["rollout"]["stages"][stage - 1]) == weights


def test_rolled_back_and_steady_render_the_stable_service_alone_outside_any_group():
    rolled_back = copy.deepcopy(CHAT)
    rolled_back["rollout"]["rolledBack"] = True
    steady = {k: v for k, v in CHAT.items() if k != "rollout"}
    for endpoint in (rolled_back, steady):
        (only,) = rendered(endpoint)
        assert only["metadata"]["name"] == "chat" and only["spec"]["router"]["route"] == {}


def test_a_long_candidate_name_stays_a_short_distinct_name():
    long = "a" * 40
    name = candidate_name(long, "2.5-7b-instruct-awq-r2")
    assert len(name) <= NAME_MAX and name.endswith(name.rsplit("-", 1)[-1])
    assert name != candidate_name("a" * 39 + "b", "2.5-7b-instruct-awq-r2")


STACK_TEXT = """\
config:
  aws:region: us-east-1
  servestack:nodePools:
    system:
      instanceTypes: [m7i.large]
      minSize: 2
    gpu:
      instanceTypes: [g6.xlarge]
      maxSize: 3
  servestack:platform:
    kserve:
      deploymentMode: Standard
    endpointNamespaces: [models]
  servestack:llmEndpoints:
    chat:
      pool: gpu
      model:
        uri: %s
        version: 3.1-8b
""" % LLM_URI


def test_rollout_commands_move_an_llm_endpoint(tmp_path):
    from harness import REPO
    import shutil

    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    path = tmp_path / "stacks" / "Pulumi.dev.yaml"
    path.write_text(STACK_TEXT)

    def move(*args):
        return CliRunner().invoke(cli, ["rollout", *args, "chat", "--stack", "dev", "--project", str(tmp_path)],
                                  catch_exceptions=False)

    started = move("start", "--model-version", "3.2-8b", "--storage-uri", CANDIDATE_URI)
    assert started.exit_code == 0, started.output
    assert started.output.startswith("chat: start rolling out 3.2-8b (stable 90% / candidate 10%)\n")
    assert path.read_text() == STACK_TEXT + (
        "      rollout:\n        candidate:\n          version: 3.2-8b\n          uri: %s\n"
        "        stages: [10, 50, 100]\n        stage: 1\n" % CANDIDATE_URI)
    assert move("advance").exit_code == 0 and move("advance").exit_code == 0
    promoted = move("promote")
    assert promoted.exit_code == 0, promoted.output
    assert path.read_text() == STACK_TEXT.replace(LLM_URI, CANDIDATE_URI).replace("version: 3.1-8b", "version: 3.2-8b")
    refused = move("start", "--model-version", "4", "--storage-uri", CANDIDATE_URI, "--stages", "10,50")
    assert (refused.exit_code, refused.output) == (
        2, "refused: --stages 10,50 must end at 100 (the candidate takes all traffic before it is promoted)\n")

"""The cold-start estimate (issue 24): exact stages for dev's and prod's endpoints against the table of
components/core/coldstart.py, computed by hand here; the config error; the cost and diff reports."""

from __future__ import annotations

from click.testing import CliRunner
import pytest
from endpoint_fixtures import LLM, parsed
from harness import plan_config, stack_config

from components.config import ConfigError
from components.core import coldstart
from plandoc.coldstart import cold_starts
from plandoc.document import plan_from_document
from servestack.cli import cli
from servestack.plan.document import write_plan


def _starts(stack: str, config: dict | None = None):
    plan = plan_from_document(plan_config(config or stack_config(stack), stack=stack).document)
    return {c.endpoint: c for c in cold_starts(plan.resource_list(), plan.config)}


def _stages(start):
    return [(s.name, s.seconds) for s in start.stages]


def test_the_table_reads_bandwidth_from_ec2_data():
    assert (coldstart.baseline_gbps("g6.xlarge"), coldstart.baseline_gbps("g6e.12xlarge"),
            coldstart.baseline_gbps("inf2.xlarge"), coldstart.baseline_gbps("x9.nothing")) == (2.5, 100.0, 2.083, None)


def test_dev_chat_scales_from_zero():
    """dev's chat: minReplicas 0 on Karpenter pool gpu (g6.xlarge, g5.xlarge: both 2.5 Gbps baseline, so the
    first by name, g5.xlarge, is "slowest"); huggingface format -> kserve-huggingfaceserver (7.0 GiB image,
    60 s server start); sizeGiB 2.9. The rate is the EC2NodeClass's 125 MiB/s gp3 volume (2.5 Gbps = 298 MiB/s
    is faster):
      node launch (nvidia)    90
      device plugin (nvidia)  30
      image pull    ceil(7.0 * 1024 / 125) = ceil(57.344) = 58
      model download ceil(2.9 * 1024 / 125) = ceil(23.757) = 24
      model load    60 + ceil(2.9 * 1) = 63
      total 265 s = 4m 25s.
    iris (system, managed, minReplicas 1) and qwen-chat (fixed replicas) have none."""
    starts = _starts("dev")
    assert list(starts) == ["chat"]
    chat = starts["chat"]
    assert (chat.pool, chat.instance_type, chat.reason) == ("gpu", "g5.xlarge", "scales from zero (minReplicas 0)")
    assert _stages(chat) == [("node launch", 90), ("device plugin", 30), ("image pull", 58), ("model download", 24),
                             ("model load", 63)]
    assert chat.text() == ("chat on gpu (g5.xlarge): 4m 25s = node launch 90s + device plugin 30s + image pull 58s + "
                           "model download 24s + model load 63s")
    assert [s.basis for s in chat.stages] == [
        "Karpenter launch-to-Ready, nvidia node", "nvidia device plugin on the new node",
        "kserve/huggingfaceserver:v0.20.0 7 GiB at 125 MiB/s root volume", "2.9 GiB at 125 MiB/s root volume",
        "server start 60s + 2.9 GiB at 1 GiB/s"]


def test_prod_endpoints_above_their_warm_capacity():
    """prod: chat (min 2, max 8, 1 GPU each) on gpu (g6e.xlarge 2.5 Gbps, g6e.2xlarge 5 Gbps: g6e.xlarge is
    slowest; 1 GPU per node): the 2 warm replicas hold 2 nodes with no GPU free, so replicas 3-8 need new
    nodes: 90 + 30 + 58 (7.0 GiB image) + ceil(5.2 * 1024 / 125 = 42.598) = 43 + (60 + ceil(5.2) = 66) = 287 s.
    summarize (min 2, max 4, 1 Neuron device; inf2.xlarge 2.083 Gbps = 248 MiB/s > 125) runs the team's container
    (custom: 5.0 GiB, 30 s start) with no sizeGiB (1 GiB assumed): 90 + 30 + ceil(5 * 1024 / 125 = 40.96) = 41
    + ceil(1024 / 125 = 8.192) = 9 + (30 + 1) = 201 s. fraud is on the managed system pool with minReplicas 4;
    anomaly keeps all its replicas warm (min = max); assistant's replicas are fixed."""
    starts = _starts("prod")
    assert list(starts) == ["chat", "summarize"]
    assert (starts["chat"].instance_type, starts["chat"].total_seconds, _stages(starts["chat"])) == (
        "g6e.xlarge", 287,
        [("node launch", 90), ("device plugin", 30), ("image pull", 58), ("model download", 43), ("model load", 66)])
    assert starts["chat"].reason == ("replicas 3-8 need nodes pool gpu does not keep warm (its minimum demand holds "
                                     "2 nvidia.com/gpu)")
    assert (starts["summarize"].total_seconds, _stages(starts["summarize"])) == (
        201,
        [("node launch", 90), ("device plugin", 30), ("image pull", 41), ("model download", 9), ("model load", 31)])
    assert starts["summarize"].stages[3].basis == "1 GiB (sizeGiB not set: assumed) at 125 MiB/s root volume"


def test_a_network_slower_than_the_volume_bounds_the_transfer():
    """m7i.large: 0.781 Gbps baseline = 93.1 MiB/s < 125 MiB/s. A sklearn model (0.6 GiB image, 5 s start) of
    2 GiB scaling from zero on a managed pool: no node launch, no plugin; ceil(0.6 * 1024 / 93.109) = ceil(6.599)
    = 7; ceil(2048 / 93.109) = ceil(21.996) = 22; 5 + 2 = 7."""
    start = coldstart.estimate("iris", pool="system", kind="none", instance_types=("m7i.large",), new_node=False,
                               runtime="kserve-sklearnserver", model_gib=2)
    assert _stages(start) == [("node launch", 0), ("device plugin", 0), ("image pull", 7), ("model download", 22),
                              ("model load", 7)]
    assert start.stages[2].basis == "kserve/sklearnserver:v0.20.0 0.6 GiB at 0.781 Gbps baseline network of m7i.large"


def test_startup_timeout_below_the_estimate_is_a_config_error():
    """LLM fixture on gpu (g6.xlarge, g5.xlarge): huggingface, sizeGiB 40: 90 + 30 + 58 + ceil(40960 / 125 =
    327.68) = 328 + (60 + 40) = 606 s = 10m 06s > 10 minutes; 11 minutes is enough."""
    def problems(minutes):
        llm = {**LLM, "model": {**LLM["model"], "sizeGiB": 40}, "startupTimeoutMinutes": minutes}
        with pytest.raises(ConfigError) as error:
            parsed({"llm": llm})
        return [p.render() for p in error.value.problems]

    assert problems(10) == [
        "servestack:endpoints.llm.startupTimeoutMinutes: is shorter than the endpoint's cold-start estimate 10m 06s "
        "(llm on gpu (g5.xlarge): 10m 06s = node launch 90s + device plugin 30s + image pull 58s + model download 328s "
        "+ model load 100s); allow at least 11 minutes (got 10)"]
    llm = {**LLM, "model": {**LLM["model"], "sizeGiB": 40}, "startupTimeoutMinutes": 11}
    assert parsed({"llm": llm}).endpoints["llm"].model.size_gib == 40


def test_cost_shows_the_cold_starts():
    result = CliRunner().invoke(cli, ["cost", "--stack", "dev"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.output.endswith(
        "\nCold starts (time to the first answer on a new node; README \"Cold-start estimate\"):\n"
        "  chat on gpu (g5.xlarge): 4m 25s = node launch 90s + device plugin 30s + image pull 58s + "
        "model download 24s + model load 63s (scales from zero (minReplicas 0))\n")


def test_diff_shows_the_estimate_before_and_after(tmp_path):
    """A bigger model (sizeGiB 2.9 -> 12) lengthens dev chat's download by ceil(12288 / 125) - 24 = 99 - 24 = 75 s
    and its load by 9 s: 4m 25s -> 5m 49s (349 s)."""
    config = stack_config("dev")
    bigger = stack_config("dev")
    bigger["servestack:endpoints"]["chat"]["model"]["sizeGiB"] = 12
    for name, c in (("base", config), ("head", bigger)):
        write_plan(plan_config(c, stack="dev").document, tmp_path / name)
    result = CliRunner().invoke(cli, ["diff", str(tmp_path / "base"), str(tmp_path / "head")], catch_exceptions=False)
    assert result.output.endswith(
        "\n### Cold starts (estimate: README \"Cold-start estimate\")\n\n"
        "| Endpoint | Before | After | Stages (after) |\n| --- | --- | --- | --- |\n"
        "| `chat` | 4m 25s | 5m 49s | node launch 90s + device plugin 30s + image pull 58s + model download 99s + "
        "model load 72s |\n")

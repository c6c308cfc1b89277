"""The rollout state machine and its compilation to KServe, without Pulumi."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.core.rollout_record import RolloutRecord, rollout_record
from components.core.rollout import (
    Mode,
    Phase,
    Rollout,
    RolloutRefused,
    Stages,
    TrafficSplit,
    kserve_canary_replicas,
    predictor_name,
    stable_min_during_canary,
    stages_problem,
)
from components.render.inference_service import compile_predictor

STAGES = Stages.of(10, 50, 100)


# --- Stages and TrafficSplit -------------------------------------------------------------------

def test_stages_of_and_parse_agree():
    assert Stages.parse("10,50,100") == STAGES
    assert list(STAGES) == [10, 50, 100]
    assert str(STAGES) == "10,50,100"
    assert STAGES.traffic_at(2) == 50


@pytest.mark.parametrize("percents, message", [
    ((), "must list at least one stage"),
    ((50, 10, 100), "must be strictly increasing"),
    ((10, 10, 100), "must be strictly increasing"),
    ((0, 0), "must be strictly increasing"),
    ((-5, 100), "must be percents from 0 to 100"),
    ((10, 150), "must be percents from 0 to 100"),
    ((True, 100), "must be whole percents"),
])
def test_stages_refuse(percents, message):
    with pytest.raises(ValueError) as error:
        Stages(percents)
    assert str(error.value) == message


STANDARD_REFUSAL = (
    "must all be 0 in Standard mode: KServe v0.20.0 routes no traffic to spec.canary[] (every request goes to the "
    "stable predictor; weighted routing came later, with kserve/kserve#5912). Use stages [0] for a blue/green cutover "
    "(the candidate runs beside the stable model, reachable through its own predictor service, and promote switches "
    "all traffic), or Knative mode for traffic stages")
KNATIVE_ZERO = ("must be percents from 1 to 100 in Knative mode: a candidate revision at 0% receives no requests and "
                "has no address of its own (KServe tags it only with tag routing, which servestack does not enable); "
                "0 is Standard mode's blue/green stage")


@pytest.mark.parametrize("mode, percents, problem", [
    ("Knative", (10, 50, 100), None),
    ("Knative", (100,), None),
    ("Knative", (10, 50), "must end at 100 in Knative mode (the candidate takes all traffic before it is promoted)"),
    ("Knative", (0, 100), KNATIVE_ZERO),
    ("Knative", (0,), KNATIVE_ZERO),
    ("Standard", (0,), None),
    ("Standard", (5, 25, 50, 100), STANDARD_REFUSAL),
    ("Standard", (0, 100), STANDARD_REFUSAL),
    ("Standard", (100,), STANDARD_REFUSAL),
])
def test_what_each_mode_really_routes(mode, percents, problem):
    assert stages_problem(mode, Stages(percents)) == problem


def test_the_standard_mode_rule_is_about_the_pinned_kserve():
    """Revisit stages_problem (and the README) when the pin reaches a KServe that routes spec.canary[] (kserve#5912)."""
    from components.core import versions
    from components.config.platform import parse_version
    from components.core.rollout import STANDARD_CANARY_UNROUTED_IN

    assert parse_version(versions.KSERVE_RESOURCES.version)[:2] == parse_version(STANDARD_CANARY_UNROUTED_IN)[:2]


def test_stages_parse_refuses_text():
    with pytest.raises(ValueError) as error:
        Stages.parse("10,half,100")
    assert str(error.value) == ("must be comma-separated whole percents such as 10,50,100 (digits 0-9 only, no spaces); "
                                "got '10,half,100'")


# Python's int() reads each of these as a number: 10_0 is 100, an instant cutover from one typo.
@pytest.mark.parametrize("text", ["10_0", "10,5_0,100", " 10,100", "10, 100", "10,100\n", "+10,100", "10,+100",
                                  "\u0661\u0660,100", "10,\uff15\uff10,100", "10,,100", "", "-0,100"])
def test_stages_parse_accepts_only_ascii_digits_and_commas(text):
    with pytest.raises(ValueError) as error:
        Stages.parse(text)
    assert str(error.value) == ("must be comma-separated whole percents such as 10,50,100 (digits 0-9 only, no spaces); "
                                f"got {text!r}")


def test_stages_parse_reads_plain_percents():
    assert Stages.parse("0") == Stages.of(0)
    assert Stages.parse("10,50,100") == Stages.of(10, 50, 100)


def test_traffic_at_out_of_range():
    with pytest.raises(ValueError, match="^stage must be between 1 and 3; got 4$"):
        STAGES.traffic_at(4)


def test_traffic_split():
    assert TrafficSplit.to_candidate(10) == TrafficSplit(90, 10)
    assert TrafficSplit.all_stable() == TrafficSplit(100, 0)
    assert str(TrafficSplit(90, 10)) == "stable 90% / candidate 10%"
    with pytest.raises(ValueError, match=r"^a traffic split must be two non-negative percents adding up to 100; got 60/60$"):
        TrafficSplit(60, 60)


# --- the state machine -------------------------------------------------------------------------

def test_a_full_rollout():
    state = Rollout.steady("1.0.0").start("1.1.0", STAGES)
    assert (state.phase, state.stage, state.traffic) == (Phase.IN_PROGRESS, 1, TrafficSplit(90, 10))
    state = state.advance()
    assert (state.stage, state.traffic) == (2, TrafficSplit(50, 50))
    state = state.advance()
    assert state.traffic == TrafficSplit(0, 100)
    assert state.promote() == Rollout.steady("1.1.0")


def test_rollback_keeps_the_candidate_without_traffic_and_a_new_start_replaces_it():
    rolled_back = Rollout.in_progress("1.0.0", "1.1.0", STAGES, 2).rollback()
    assert rolled_back == Rollout.rolled_back("1.0.0", "1.1.0", STAGES, 2)
    assert rolled_back.traffic == TrafficSplit(100, 0)
    assert rolled_back.start("1.2.0", Stages.of(100)) == Rollout.in_progress("1.0.0", "1.2.0", Stages.of(100), 1)


@pytest.mark.parametrize("state, move, message", [
    (Rollout.in_progress("1.0.0", "1.1.0", STAGES, 3), "advance",
     "1.1.0 is at the last stage (100%); promote it or roll it back"),
    (Rollout.in_progress("1.0.0", "1.1.0", STAGES, 2), "promote",
     "1.1.0 is at stage 2 of 3 (50%); advance it to the last stage (100%) before promoting"),
    (Rollout.in_progress("1.0.0", "1.1.0", Stages.of(0), 1), "advance",
     "1.1.0 is at the last stage (0%); promote it or roll it back"),
    (Rollout.steady("1.0.0"), "advance", "no rollout to advance: 1.0.0 is the only model (start one first)"),
    (Rollout.steady("1.0.0"), "promote", "no rollout to promote: 1.0.0 is the only model (start one first)"),
    (Rollout.steady("1.0.0"), "rollback", "no rollout to roll back: 1.0.0 is the only model (start one first)"),
    (Rollout.rolled_back("1.0.0", "1.1.0", STAGES, 1), "advance",
     "no rollout to advance: the rollout of 1.1.0 was rolled back (start a new one)"),
    (Rollout.rolled_back("1.0.0", "1.1.0", STAGES, 1), "rollback",
     "no rollout to roll back: the rollout of 1.1.0 was rolled back (start a new one)"),
])
def test_illegal_moves_are_refused(state, move, message):
    with pytest.raises(RolloutRefused) as error:
        getattr(state, move)()
    assert str(error.value) == message


def test_start_refusals():
    with pytest.raises(RolloutRefused) as error:
        Rollout.in_progress("1.0.0", "1.1.0", STAGES, 2).start("1.2.0", STAGES)
    assert str(error.value) == ("a rollout of 1.1.0 is in progress (stage 2 of 3); "
                                "promote or roll it back before starting another")
    with pytest.raises(RolloutRefused, match=r"^version 1\.0\.0 is already the stable model$"):
        Rollout.steady("1.0.0").start("1.0.0", STAGES)


@given(st.lists(st.integers(1, 99), unique=True, max_size=6).map(lambda xs: Stages.of(*sorted(xs), 100)))
def test_any_stages_walk_to_promotion_with_growing_candidate_traffic(stages):
    state = Rollout.steady("a").start("b", stages)
    seen = [state.traffic.candidate]
    while state.stage < len(stages):
        with pytest.raises(RolloutRefused):
            state.promote()
        state = state.advance()
        seen.append(state.traffic.candidate)
    assert seen == list(stages)
    with pytest.raises(RolloutRefused):
        state.advance()
    assert state.promote() == Rollout.steady("b")


def test_predictor_names_are_dns_labels():
    assert predictor_name("1.4.0") == "v1-4-0"
    assert predictor_name("2026-11-01_RC1") == "v2026-11-01-rc1"
    assert predictor_name("a" * 19) == "v" + "a" * 19  # 20 characters: the longest name kept whole


def test_a_predictor_name_cut_to_length_ends_with_a_hash_of_the_whole_version():
    """Versions that differ only after the cut must not name the same predictor (they did: both
    were cut to ``v2-5-7b-instruct-awq``)."""
    import hashlib

    assert predictor_name("2.5-7b-instruct-awq") == "v2-5-7b-instruct-awq"
    assert predictor_name("2.5-7b-instruct-awq-r2") == "v2-5-7b-instr-" + hashlib.sha256(b"2.5-7b-instruct-awq-r2").hexdigest()[:6]
    assert predictor_name("a" * 40) == "v" + "a" * 12 + "-" + hashlib.sha256(b"a" * 40).hexdigest()[:6]
    names = {predictor_name(f"2.5-7b-instruct-awq-r{n}") for n in range(200)}
    assert len(names) == 200 and all(len(name) <= 20 and name[-1] != "-" for name in names)


# --- compilation ---------------------------------------------------------------------------------

SHARED = {"serviceAccountName": "iris-model", "minReplicas": 1}
OLD = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/iris/1.0.0"}}
NEW = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/iris/1.1.0"}}
IN_PROGRESS = Rollout.in_progress("1.0.0", "1.1.0", STAGES, 1)


@pytest.mark.parametrize("state, expected", [
    (Rollout.steady("1.0.0"), {"predictor": {**SHARED, **OLD}}),
    (IN_PROGRESS, {"predictor": {**SHARED, **NEW, "canaryTrafficPercent": 10}}),
    (IN_PROGRESS.advance().advance(), {"predictor": {**SHARED, **NEW, "canaryTrafficPercent": 100}}),
    (IN_PROGRESS.rollback(), {"predictor": {**SHARED, **NEW, "canaryTrafficPercent": 0}}),
], ids=["steady", "stage-1", "stage-3", "rolled-back"])
def test_knative_mode_moves_canary_traffic_percent(state, expected):
    assert compile_predictor(Mode.KNATIVE, state, shared=SHARED, stable=OLD, candidate=NEW) == expected


def test_knative_promotion_removes_the_field_and_keeps_the_candidate():
    promoted = IN_PROGRESS.advance().advance().promote()
    assert compile_predictor("Knative", promoted, shared=SHARED, stable=NEW) == {"predictor": {**SHARED, **NEW}}


BLUE_GREEN = Rollout.in_progress("1.0.0", "1.1.0", Stages.of(0), 1)
#: A canary's model names its container: the v0.20.0 CRD requires name (with modelFormat) there.
NEW_CANARY = {"model": {"name": "kserve-container", **NEW["model"]}}


@pytest.mark.parametrize("state, stable, expected", [
    (Rollout.steady("1.0.0"), OLD, {"predictor": {"name": "v1-0-0", **SHARED, **OLD}}),
    # the stable's minReplicas 1 is written 2: KServe lowers it by the canary's replica and keeps 1
    (BLUE_GREEN, OLD, {"predictor": {"name": "v1-0-0", **SHARED, **OLD, "minReplicas": 2},
                       "canary": [{"trafficPercent": 0, "predictor": {"name": "v1-1-0", **NEW_CANARY, "serviceAccountName": "iris-model", "minReplicas": 1}}]}),
    (BLUE_GREEN.rollback(), OLD, {"predictor": {"name": "v1-0-0", **SHARED, **OLD}}),
    # promotion from the last (only) stage: the candidate becomes the stable predictor, under its own
    # name (KServe retargets the stable predictor to the canary's Deployment), and the canary entry is gone
    (BLUE_GREEN.promote(), NEW, {"predictor": {"name": "v1-1-0", **SHARED, **NEW}}),
], ids=["steady", "blue-green", "rolled-back", "promoted"])
def test_standard_mode_uses_a_named_canary_entry(state, stable, expected):
    assert compile_predictor(Mode.STANDARD, state, shared=SHARED, stable=stable, candidate=NEW) == expected


def test_standard_candidate_replicas_go_on_the_canary_predictor_only():
    spec = compile_predictor("Standard", BLUE_GREEN, shared=SHARED, stable=OLD, candidate=NEW, candidate_replicas=2)
    assert spec["canary"] == [{"trafficPercent": 0, "predictor": {"name": "v1-1-0", **NEW_CANARY, "serviceAccountName": "iris-model", "minReplicas": 2}}]
    assert "minReplicas" not in OLD and spec["predictor"]["minReplicas"] == 3  # 1 kept beside the 2 candidates


def test_a_custom_container_canary_keeps_its_containers():
    old = {"containers": [{"name": "kserve-container", "image": "ghcr.io/acme/server:1.0.0"}]}
    new = {"containers": [{"name": "kserve-container", "image": "ghcr.io/acme/server:1.1.0"}]}
    spec = compile_predictor("Standard", BLUE_GREEN, shared=SHARED, stable=old, candidate=new)
    assert spec["canary"] == [{"trafficPercent": 0, "predictor": {"name": "v1-1-0", **new, "serviceAccountName": "iris-model", "minReplicas": 1}}]


def test_standard_mode_never_renders_traffic_that_kserve_would_not_route():
    with pytest.raises(ValueError) as error:
        compile_predictor("Standard", IN_PROGRESS, shared=SHARED, stable=OLD, candidate=NEW)
    assert str(error.value) == f"stages 10,50,100 {STANDARD_REFUSAL}"


def test_no_mode_gets_the_other_modes_field():
    for state, blue_green in ((Rollout.steady("1.0.0"), Rollout.steady("1.0.0")), (IN_PROGRESS, BLUE_GREEN),
                              (IN_PROGRESS.rollback(), BLUE_GREEN.rollback())):
        knative = compile_predictor("Knative", state, shared=SHARED, stable=OLD, candidate=NEW)
        standard = compile_predictor("Standard", blue_green, shared=SHARED, stable=OLD, candidate=NEW)
        assert "canary" not in knative and "name" not in knative["predictor"]
        assert "canaryTrafficPercent" not in str(standard)
    with pytest.raises(ValueError, match="^candidate replicas belong to Standard mode; Knative mode has no such field$"):
        compile_predictor("Knative", IN_PROGRESS, shared=SHARED, stable=OLD, candidate=NEW, candidate_replicas=2)


# --- what KServe v0.20.0 really does with a Standard-mode canary, and the rollout record ---------------

@pytest.mark.parametrize("stable_min, canary_min, traffic, replicas", [
    (4, 1, 0, 1), (4, None, 0, 0), (4, None, 10, 1), (4, None, 50, 2), (None, None, 50, 1), (3, None, 100, 3),
])
def test_kserve_canary_replicas(stable_min, canary_min, traffic, replicas):
    assert kserve_canary_replicas(stable_min, canary_min, traffic) == replicas


@pytest.mark.parametrize("stable_min, canary, kept", [(4, 1, 3), (2, 2, 1), (1, 1, 1), (5, 0, 5)])
def test_kserve_lowers_the_stable_minimum_by_the_canary_never_below_one(stable_min, canary, kept):
    assert stable_min_during_canary(stable_min, canary) == kept


def test_the_record_of_a_standard_mode_blue_green_rollout():
    record = rollout_record("fraud", "models", "Standard", BLUE_GREEN, stable_min_replicas=4)
    assert record.to_data() == {
        "candidateReplicas": "1", "candidateService": "fraud-v1-1-0-predictor.models", "candidateTrafficPercent": "0",
        "candidateVersion": "1.1.0", "mode": "Standard", "phase": "inProgress", "stableMinReplicas": "4",
        "stableMinReplicasDuringCanary": "4", "stableVersion": "1.0.0", "stage": "1", "stages": "0",
        "traffic": "stable 100% / candidate 0%"}
    assert RolloutRecord.from_data("fraud", record.to_data()) == record
    assert record.describe() == ("1.0.0 (100%) + candidate 1.1.0 (0%, only at fraud-v1-1-0-predictor.models), "
                                 "stage 1/1 (0); stable min 4 kept, candidate 1")


@pytest.mark.parametrize("state, data, described", [
    (Rollout.steady("1.0.0"),
     {"candidateTrafficPercent": "0", "mode": "Knative", "phase": "steady", "stableMinReplicas": "2",
      "stableVersion": "1.0.0", "traffic": "stable 100% / candidate 0%"},
     "1.0.0 (100%)"),
    (IN_PROGRESS.advance(),
     {"candidateTrafficPercent": "50", "candidateVersion": "1.1.0", "mode": "Knative", "phase": "inProgress",
      "stableMinReplicas": "2", "stableVersion": "1.0.0", "stage": "2", "stages": "10,50,100",
      "traffic": "stable 50% / candidate 50%"},
     "1.0.0 (50%) + candidate 1.1.0 (50%), stage 2/3 (10,50,100)"),
    (IN_PROGRESS.advance().rollback(),
     {"candidateTrafficPercent": "0", "candidateVersion": "1.1.0", "mode": "Knative", "phase": "rolledBack",
      "stableMinReplicas": "2", "stableVersion": "1.0.0", "stage": "2", "stages": "10,50,100",
      "traffic": "stable 100% / candidate 0%"},
     "1.0.0 (100%) + candidate 1.1.0 (0%), rolled back at 2/3 (10,50,100)"),
], ids=["steady", "stage-2", "rolled-back"])
def test_the_record_of_a_knative_rollout(state, data, described):
    record = rollout_record("iris", "models", "Knative", state, stable_min_replicas=2)
    assert (record.to_data(), record.describe(), record.describe_replicas()) == (data, described, "-")
    assert RolloutRecord.from_data("iris", data) == record


@pytest.mark.parametrize("data", [None, [], {}, {"mode": "Knative", "phase": "steady"}, {"mode": 1, "phase": "x", "stableVersion": "1"}])
def test_what_is_not_a_record_reads_as_none(data):
    assert RolloutRecord.from_data("iris", data) is None

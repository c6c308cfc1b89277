"""The rollout state machine and its compilation to KServe, without Pulumi."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.rollout import Mode, Phase, Rollout, RolloutRefused, Stages, TrafficSplit, compile_predictor, predictor_name

STAGES = Stages.of(10, 50, 100)


# --- Stages and TrafficSplit -------------------------------------------------------------------

def test_stages_of_and_parse_agree():
    assert Stages.parse("10,50,100") == STAGES
    assert list(STAGES) == [10, 50, 100]
    assert str(STAGES) == "10,50,100"
    assert STAGES.traffic_at(2) == 50


@pytest.mark.parametrize("percents, message", [
    ((), "must list at least one stage"),
    ((10, 50), "must end at 100 (the candidate takes all traffic before it is promoted)"),
    ((50, 10, 100), "must be strictly increasing"),
    ((10, 10, 100), "must be strictly increasing"),
    ((0, 100), "must be percents from 1 to 100"),
    ((10, 150), "must be percents from 1 to 100"),
    ((True, 100), "must be whole percents"),
])
def test_stages_refuse(percents, message):
    with pytest.raises(ValueError) as error:
        Stages(percents)
    assert str(error.value) == message


def test_stages_parse_refuses_text():
    with pytest.raises(ValueError) as error:
        Stages.parse("10,half,100")
    assert str(error.value) == "must be comma-separated whole percents such as 10,50,100; got '10,half,100'"


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
    assert (state.stage, state.traffic, state.stage_label) == (2, TrafficSplit(50, 50), "2-of-3")
    state = state.advance()
    assert state.traffic == TrafficSplit(0, 100)
    assert state.promote() == Rollout.steady("1.1.0")


def test_rollback_keeps_the_candidate_without_traffic_and_a_new_start_replaces_it():
    rolled_back = Rollout.in_progress("1.0.0", "1.1.0", STAGES, 2).rollback()
    assert rolled_back == Rollout.rolled_back("1.0.0", "1.1.0", STAGES, 2)
    assert (rolled_back.traffic, rolled_back.stage_label) == (TrafficSplit(100, 0), "rolled-back")
    assert rolled_back.start("1.2.0", Stages.of(100)) == Rollout.in_progress("1.0.0", "1.2.0", Stages.of(100), 1)


@pytest.mark.parametrize("state, move, message", [
    (Rollout.in_progress("1.0.0", "1.1.0", STAGES, 3), "advance",
     "1.1.0 is at the last stage (100%); promote it or roll it back"),
    (Rollout.in_progress("1.0.0", "1.1.0", STAGES, 2), "promote",
     "1.1.0 is at stage 2 of 3 (50%); advance it to the last stage (100%) before promoting"),
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
    assert predictor_name("a" * 40) == "v" + "a" * 19


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


@pytest.mark.parametrize("state, stable, expected", [
    (Rollout.steady("1.0.0"), OLD, {"predictor": {"name": "v1-0-0", **SHARED, **OLD}}),
    (IN_PROGRESS.advance(), OLD, {"predictor": {"name": "v1-0-0", **SHARED, **OLD},
                                  "canary": [{"trafficPercent": 50, "predictor": {"name": "v1-1-0", **NEW}}]}),
    (IN_PROGRESS.rollback(), OLD, {"predictor": {"name": "v1-0-0", **SHARED, **OLD}}),
    # promotion: the candidate becomes the stable predictor, under its own name (KServe retargets
    # the stable predictor to the canary's Deployment), and the canary entry is gone
    (IN_PROGRESS.advance().advance().promote(), NEW, {"predictor": {"name": "v1-1-0", **SHARED, **NEW}}),
], ids=["steady", "stage-2", "rolled-back", "promoted"])
def test_standard_mode_uses_a_named_canary_entry(state, stable, expected):
    assert compile_predictor(Mode.STANDARD, state, shared=SHARED, stable=stable, candidate=NEW) == expected


def test_standard_candidate_replicas_go_on_the_canary_predictor_only():
    spec = compile_predictor("Standard", IN_PROGRESS, shared=SHARED, stable=OLD, candidate=NEW, candidate_replicas=2)
    assert spec["canary"] == [{"trafficPercent": 10, "predictor": {"name": "v1-1-0", **NEW, "minReplicas": 2}}]
    assert "minReplicas" not in OLD and spec["predictor"]["minReplicas"] == 1


def test_no_mode_gets_the_other_modes_field():
    for state in (Rollout.steady("1.0.0"), IN_PROGRESS, IN_PROGRESS.rollback()):
        knative = compile_predictor("Knative", state, shared=SHARED, stable=OLD, candidate=NEW)
        standard = compile_predictor("Standard", state, shared=SHARED, stable=OLD, candidate=NEW)
        assert "canary" not in knative and "name" not in knative["predictor"]
        assert "canaryTrafficPercent" not in str(standard)
    with pytest.raises(ValueError, match="^candidate replicas belong to Standard mode; Knative mode has no such field$"):
        compile_predictor("Knative", IN_PROGRESS, shared=SHARED, stable=OLD, candidate=NEW, candidate_replicas=2)

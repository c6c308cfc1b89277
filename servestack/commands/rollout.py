"""``servestack rollout``: move model versions through their rollout stages, one reviewed commit each.

Every move edits ``stacks/Pulumi.<stack>.yaml`` in place with the round-trip editor of
:mod:`servestack.stackio.stackfile` (comments, key order, quoting and layout stay as they were), prints the exact diff and the commit to make,
and refuses an illegal move with exit code 2 without touching the file. The legality of a move is
decided by the pure state machine in :mod:`components.core.rollout`; the edited config is validated
like ``pulumi up`` would before it is written.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from ruamel.yaml.comments import CommentedMap

from ..stackio import stackfile
from .analyze import analyze_command, run_analysis, source_options
from .analyze import typed_config as _typed_config
from .common import EXIT_INVALID, fail, project_option

#: ``--stages`` when not given, per deployment mode: traffic stages where KServe routes them (Knative),
#: a blue/green candidate where it does not (Standard mode on KServe v0.20.0).
DEFAULT_STAGES = {"Knative": "10,50,100", "Standard": "0", "LLM": "10,50,100"}


class MoveRefused(Exception):
    """A move that must not happen; the message says why and what to do instead."""


@dataclass(frozen=True)
class Edit:
    stack: str
    endpoint: str
    summary: str
    """One line for the commit message: what the move did."""
    before: str
    after: str




def apply_move(project, stack: str, text: str, endpoint: str, move: str, *, version: str | None = None,
               storage_uri: str | None = None, image: str | None = None, stages: str | None = None,
               analysis: dict | None = None) -> Edit:
    """Apply one move to a stack file's text; returns the edit or raises MoveRefused.

    ``stages`` (``start`` only): percents such as ``10,50,100``; default: :data:`DEFAULT_STAGES` of
    the endpoint's deployment mode (``LLM`` for an LLM endpoint). ``analysis`` (``advance``, ``promote``,
    ``rollback``): the record of the analysis that allowed the move, kept as the rollout's ``lastAnalysis``
    (refused if the rollout is no longer the one analyzed).
    """
    from components.config import ConfigError
    from components.core.llm_rollout import llm_stages_problem
    from components.core.rollout import RolloutRefused, Stages, stages_problem

    path = f"stacks/Pulumi.{stack}.yaml"
    try:
        document = stackfile.parse(text, path)
        stackfile.check_keys(document["config"], project.name, path)
    except stackfile.StackFileError as error:
        raise MoveRefused(str(error)) from None
    config = document["config"]
    try:
        typed = _typed_config(project, stack, config)
    except ConfigError as error:
        raise MoveRefused(f"{path} is not valid as it stands; fix it first:\n{error}") from None
    llm = endpoint in typed.llm_endpoints
    if endpoint not in typed.endpoints and not llm:
        known = ", ".join(sorted([*typed.endpoints, *typed.llm_endpoints])) or "none"
        raise MoveRefused(f"stack {stack} has no endpoint {endpoint!r} (endpoints: {known})")
    current = (typed.llm_endpoints if llm else typed.endpoints)[endpoint].rollout_state()
    mode = "LLM" if llm else typed.deployment_mode_of(endpoint)
    try:
        node: CommentedMap = stackfile.endpoint(document, endpoint, project.name, path,
                                                stackfile.LLM_ENDPOINTS_KEY if llm else stackfile.ENDPOINTS_KEY)
    except stackfile.StackFileError as error:
        raise MoveRefused(str(error)) from None
    if analysis is not None and (analysis.get("candidate"), analysis.get("stable")) != (current.candidate, current.stable):
        raise MoveRefused(f"{endpoint}: the rollout changed since it was analyzed (analyzed {analysis.get('candidate')} "
                          f"vs {analysis.get('stable')}); analyze it again")

    try:
        if move == "start":
            if llm and image is not None:
                raise MoveRefused(f"{endpoint} is an LLM endpoint: give the candidate's --storage-uri (its model.uri), "
                                  "not --image")
            stages = DEFAULT_STAGES[mode] if stages is None else stages
            try:
                stage_list = Stages.parse(stages)
            except ValueError as error:
                raise MoveRefused(f"--stages {error}") from None
            problem = llm_stages_problem(stage_list) if llm else stages_problem(mode, stage_list)
            if problem:
                raise MoveRefused(f"--stages {stage_list} {problem}")
            nxt = current.start(version, stage_list)
            candidate = CommentedMap()
            candidate["version"] = stackfile.scalar(version)
            if storage_uri is not None:
                candidate["uri" if llm else "storageUri"] = storage_uri
            if image is not None:
                candidate["image"] = image
            rollout = CommentedMap()
            rollout["candidate"] = candidate
            rollout["stages"] = stackfile.flow_list(list(stage_list))
            rollout["stage"] = 1
            previous = node.get("rollout")
            if isinstance(previous, dict) and "candidateReplicas" in previous:
                # set for this endpoint (Standard mode), not for the rolled-back candidate: it stays
                rollout["candidateReplicas"] = previous["candidateReplicas"]
            stackfile.put(node, "rollout", rollout)
            summary = f"start rolling out {version} ({_traffic(mode, nxt)})"
        elif move == "advance":
            nxt = current.advance()
            node["rollout"]["stage"] = nxt.stage
            if analysis is not None:
                stackfile.put(node["rollout"], "lastAnalysis", stackfile.block(analysis))
            summary = f"advance {nxt.candidate} to stage {nxt.stage} of {len(nxt.stages)} ({_traffic(mode, nxt)})"
        elif move == "rollback":
            nxt = current.rollback()
            stackfile.put(node["rollout"], "rolledBack", True)
            if analysis is not None:
                stackfile.put(node["rollout"], "lastAnalysis", stackfile.block(analysis))
            summary = f"roll back {nxt.candidate} ({_traffic(mode, nxt)})"
        elif move == "promote":
            nxt = current.promote()
            rollout, model = node["rollout"], node["model"]
            stackfile.replace(model, "version", rollout["candidate"]["version"])
            for key in ("storageUri", "uri"):
                if key in rollout["candidate"]:
                    stackfile.replace(model, key, rollout["candidate"][key])
            if "image" in rollout["candidate"]:
                stackfile.replace(model["container"], "image", rollout["candidate"]["image"])
            stackfile.delete(node, "rollout")
            summary = f"promote {nxt.stable} to stable (replaces {current.stable})"
        else:  # pragma: no cover - click restricts the moves
            raise ValueError(move)
    except RolloutRefused as error:
        raise MoveRefused(f"{endpoint}: {error}") from None

    try:
        _typed_config(project, stack, config)
    except ConfigError as error:
        raise MoveRefused(f"the {move} would leave {path} invalid; nothing was written:\n{error}") from None
    return Edit(stack, endpoint, summary, text, stackfile.render(document, text))


def _traffic(mode: str, rollout) -> str:
    """The split the platform really routes for ``rollout`` in ``mode``."""
    from components.core.rollout import TrafficSplit, routed_percent

    percent = rollout.traffic.candidate  # an LLM routing group routes the declared weights
    return str(TrafficSplit.to_candidate(percent if mode == "LLM" else routed_percent(mode, percent)))


def _run_move(project_dir: Path, stack: str, endpoint: str, move: str, **options: Any) -> Edit:
    from ..plan import ProjectError, load_project

    try:
        project = load_project(project_dir)
    except ProjectError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    path = project.stack_path(stack)
    missing = project.missing_stack(stack)
    if missing is not None:
        raise fail(f"error: {missing}", EXIT_INVALID)
    relative = path.relative_to(project.root).as_posix()
    try:
        edit = stackfile.update(path, relative, lambda text: apply_move(project, stack, text, endpoint, move, **options))
    except stackfile.StackFileError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except MoveRefused as error:
        raise fail(f"refused: {error}", EXIT_INVALID) from None
    diff = difflib.unified_diff(edit.before.splitlines(keepends=True), edit.after.splitlines(keepends=True),
                                f"a/{relative}", f"b/{relative}")
    click.echo(f"{endpoint}: {edit.summary}")
    click.echo(f"\nChanged {relative}:")
    click.echo("".join(diff), nl=False)
    click.echo("\nReview the plan, then commit:")
    click.echo(f"  servestack plan --stack {stack}")
    click.echo(f"  git add {relative}")
    click.echo(f"  git commit -m \"rollout({stack}/{endpoint}): {edit.summary}\"")
    return edit


@click.group("rollout")
def rollout_command() -> None:
    """Roll new model versions out through their traffic stages.

    Each move edits stacks/Pulumi.<stack>.yaml (comments and layout kept) and prints the diff
    and the commit to make; `pulumi up` then applies it. Illegal moves exit with code 2.
    """


rollout_command.add_command(analyze_command)

stack_required = click.option("--stack", "-s", required=True, help="Stack name (stacks/Pulumi.<stack>.yaml).")
endpoint_argument = click.argument("endpoint")


@rollout_command.command("status")
@click.option("--stack", "-s", default=None, help="Only this stack. Default: every stack.")
@project_option
def status_command(stack: str | None, project_dir: Path) -> None:
    """Endpoints with their stable and candidate versions, stage, the traffic the platform really
    routes, and (Standard mode) the replicas while a candidate runs beside the stable model."""
    from rich.console import Console
    from rich.table import Table

    from components.config import ConfigError
    from components.render.inference_service import endpoint_rollout_record

    from ..plan import ProjectError, load_project

    try:
        project = load_project(project_dir)
        stacks = [stack] if stack else project.stacks()
        rows = []
        for name in stacks:
            stack_file = project.read_stack(name)  # ProjectError names a missing or malformed file
            shown_as = str(stack_file.path)
            document = stackfile.parse(stackfile.read(stack_file.path, shown_as), shown_as)
            typed = _typed_config(project, name, document["config"])
            for endpoint_name, endpoint in sorted(typed.endpoints.items()):
                # The very record ModelEndpoint writes to the endpoint's <name>-rollout ConfigMap.
                record = endpoint_rollout_record(endpoint_name, endpoint, typed.deployment_mode_of(endpoint_name))
                rows.append((name, endpoint_name, record.mode, endpoint.pool, record.stable, record.candidate or "-",
                             record.describe_stage(), str(record.traffic), record.describe_replicas()))
    except ProjectError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except stackfile.StackFileError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except ConfigError as error:
        raise fail(str(error), EXIT_INVALID) from None

    table = Table(title="Model endpoints", show_lines=False)
    for column in ("Stack", "Endpoint", "Mode", "Pool", "Stable", "Candidate", "Stage", "Traffic", "Replicas"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(highlight=False, width=180).print(table if rows else "no endpoints")


@rollout_command.command("start")
@endpoint_argument
@stack_required
@click.option("--model-version", "version", required=True, help="Version of the candidate model.")
@click.option("--storage-uri", default=None,
              help="Where the candidate model is (s3://, oci://, hf://, pvc://, gs://); an LLM endpoint's model.uri.")
@click.option("--image", default=None, help="New image of a custom predictor container (pinned by tag or digest).")
@click.option("--stages", default=None, help="Percent of traffic to the candidate per stage. Default: 10,50,100 in "
              "Knative mode; 0 in Standard mode, the only stage KServe v0.20.0 honours there (the candidate runs "
              "beside the stable model without traffic and promote cuts over).")
@project_option
def start_command(endpoint: str, stack: str, version: str, storage_uri: str | None, image: str | None,
                  stages: str | None, project_dir: Path) -> None:
    """Start rolling ENDPOINT out to a candidate model at the first stage."""
    if storage_uri is None and image is None:
        raise fail("refused: give the candidate's --storage-uri (or --image for a custom predictor)", EXIT_INVALID)
    _run_move(project_dir, stack, endpoint, "start", version=version, storage_uri=storage_uri, image=image, stages=stages)


@rollout_command.command("advance")
@endpoint_argument
@stack_required
@click.option("--require-analysis", is_flag=True, help="Move only if the rollout's analysis passes now (needs "
              "--prometheus or --amp); the analysis is recorded in the rollout as lastAnalysis.")
@source_options
@project_option
def advance_command(endpoint: str, stack: str, require_analysis: bool, prometheus_url, amp_workspace, amp_region,
                    amp_url, at_text, project_dir: Path) -> None:
    """Move ENDPOINT's rollout to its next stage."""
    analysis = None
    if require_analysis:
        from ..analysis.engine import EXIT_CODES, PASS
        from ..analysis.report import as_text, record

        result = run_analysis(project_dir, stack, endpoint, prometheus_url, amp_workspace, amp_region, amp_url, at_text)
        click.echo(as_text(result) + "\n")
        if result.verdict != PASS:
            raise fail(f"refused: {endpoint}'s analysis is {result.verdict}; the rollout stays at its stage",
                       EXIT_CODES[result.verdict])
        analysis = record(result)
    elif prometheus_url or amp_workspace:
        raise fail("error: --prometheus/--amp are for --require-analysis", EXIT_INVALID)
    _run_move(project_dir, stack, endpoint, "advance", analysis=analysis)


@rollout_command.command("rollback")
@endpoint_argument
@stack_required
@project_option
def rollback_command(endpoint: str, stack: str, project_dir: Path) -> None:
    """Send all of ENDPOINT's traffic back to the stable model."""
    _run_move(project_dir, stack, endpoint, "rollback")


@rollout_command.command("promote")
@endpoint_argument
@stack_required
@project_option
def promote_command(endpoint: str, stack: str, project_dir: Path) -> None:
    """Make ENDPOINT's candidate the stable model (only at the last stage)."""
    _run_move(project_dir, stack, endpoint, "promote")

"""The rollout driver: for every endpoint with a rollout in progress and an analysis declared, run the
analysis and propose the move it supports as a pull request; a person still merges.

* ``pass``: a branch ``servestack/rollout/<stack>/<endpoint>`` from the base with one commit that
  advances one stage (with the analysis recorded as ``lastAnalysis``), or promotes after the last
  stage; a pull request (opened, or updated if one is open for that branch) whose body is the
  analysis as markdown.
* ``fail``: the same, with a commit that rolls the rollout back.
* ``inconclusive``: nothing; the job summary says why.

The stack file is changed only through ``servestack rollout``'s own move (:func:`apply_move` via
:func:`servestack.stackfile.update`), so the commit is exactly the move: one stage, nothing else.
GitHub is reached through its REST API (``GITHUB_API_URL``, token ``GITHUB_TOKEN``).
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .stackio import stackfile
from .analysis.engine import FAIL, PASS, Result, analyze, target_of
from .analysis.report import as_markdown, record

BRANCH_PREFIX = "servestack/rollout"
AUTHOR = ("servestack rollout driver", "rollout-driver@users.noreply.github.com")


class DriverError(Exception):
    """A step of the driver failed (git, GitHub); the message says which."""


@dataclass(frozen=True)
class Outcome:
    stack: str
    endpoint: str
    verdict: str
    action: str
    """``advance``, ``promote``, ``rollback`` or ``none``."""
    detail: str
    """The pull request's URL, or why nothing was done."""


def targets(project) -> list[dict[str, str]]:
    """Every (stack, endpoint) with a rollout in progress and an analysis declared."""
    from .commands.analyze import typed_config

    found = []
    for stack in project.stacks():
        path = project.stack_path(stack)
        document = stackfile.parse(stackfile.read(path, path.name), path.name)
        typed = typed_config(project, stack, document["config"])
        for name, endpoint in sorted({**typed.endpoints, **typed.llm_endpoints}.items()):
            rollout = endpoint.rollout
            if rollout is not None and not rollout.rolled_back and rollout.analysis is not None:
                found.append({"stack": stack, "endpoint": name})
    return found


def branch_name(stack: str, endpoint: str) -> str:
    return f"{BRANCH_PREFIX}/{stack}/{endpoint}"


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise DriverError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


class GitHub:
    """The few REST calls the driver makes: find, open and update a pull request."""

    def __init__(self, api: str, repository: str, token: str):
        self.api, self.repository, self.token = api.rstrip("/"), repository, token

    def _call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"{self.api}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read().decode() or "null")
        except urllib.error.HTTPError as error:
            raise DriverError(f"GitHub {method} {path} answered HTTP {error.code}: {error.read().decode()[:300]}") from None
        except (urllib.error.URLError, OSError) as error:
            raise DriverError(f"cannot reach GitHub at {self.api}: {getattr(error, 'reason', error)}") from None

    def open_or_update(self, head: str, base: str, title: str, body: str) -> str:
        owner = self.repository.split("/", 1)[0]
        existing = self._call("GET", f"/repos/{self.repository}/pulls?state=open&head={owner}:{head}")
        if existing:
            number = existing[0]["number"]
            return self._call("PATCH", f"/repos/{self.repository}/pulls/{number}", {"title": title, "body": body})["html_url"]
        return self._call("POST", f"/repos/{self.repository}/pulls",
                          {"title": title, "head": head, "base": base, "body": body})["html_url"]


def drive_one(project, stack: str, endpoint: str, query, at, github: GitHub, *, base: str, remote: str) -> Outcome:
    """Analyze one endpoint and propose its move (see the module's docstring)."""
    from .commands.analyze import typed_config
    from .commands.rollout import apply_move

    root = project.root
    path = project.stack_path(stack)
    relative = path.relative_to(root).as_posix()
    document = stackfile.parse(stackfile.read(path, relative), relative)
    typed = typed_config(project, stack, document["config"])
    target = target_of(typed, stack, endpoint)
    result: Result = analyze(target, query, at)
    if result.verdict not in (PASS, FAIL):
        return Outcome(stack, endpoint, result.verdict, "none", "; ".join(result.reasons) or "inconclusive")
    config = (typed.llm_endpoints if endpoint in typed.llm_endpoints else typed.endpoints)[endpoint]
    if result.verdict == FAIL:
        move = "rollback"
    else:
        move = "promote" if config.rollout.stage == len(config.rollout.stages) else "advance"
    branch = branch_name(stack, endpoint)
    _git(root, "checkout", "-q", "-B", branch, base)
    try:
        edit = stackfile.update(path, relative, lambda text: apply_move(
            project, stack, text, endpoint, move, analysis=None if move == "promote" else record(result)))
        title = f"rollout({stack}/{endpoint}): {edit.summary}"
        name, email = AUTHOR
        _git(root, "add", "--", relative)
        _git(root, "-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q", "-m", title, "-m",
             f"Analysis at {result.at}: {result.verdict}. Proposed by the rollout driver; merge to apply.")
        _git(root, "push", "-q", "--force", remote, f"{branch}:refs/heads/{branch}")
    finally:
        _git(root, "checkout", "-q", base)
    url = github.open_or_update(branch, base, title, as_markdown(result) + _footer(move))
    return Outcome(stack, endpoint, result.verdict, move, url)


def _footer(move: str) -> str:
    what = {"advance": "advances the rollout one stage", "promote": "promotes the candidate to stable",
            "rollback": "rolls the candidate back"}[move]
    return (f"\nThis pull request {what}. It was opened by the rollout driver from the analysis above; "
            "merging it (after review) applies it with `pulumi up`.\n")


def summary(outcomes: list[Outcome]) -> str:
    """The job summary: one row per endpoint, with what was done or why not."""
    lines = ["## Rollout driver", "", "| Stack | Endpoint | Verdict | Action | Detail |", "|---|---|---|---|---|"]
    lines += [f"| {o.stack} | {o.endpoint} | {o.verdict} | {o.action} | {o.detail} |" for o in outcomes]
    return "\n".join(lines) + "\n"
